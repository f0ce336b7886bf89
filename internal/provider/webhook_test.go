package provider_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/outbound"
	"github.com/sketchmaker/sketchmaker/internal/outbound/outboundtest"
	"github.com/sketchmaker/sketchmaker/internal/provider"
)

// falSigner signs webhooks as FAL documents: ED25519 over the request id, user id,
// timestamp and SHA-256 hex of the body, joined by newlines, hex encoded.
type falSigner struct {
	pub  ed25519.PublicKey
	priv ed25519.PrivateKey
}

func newSigner(t testing.TB) *falSigner {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &falSigner{pub: pub, priv: priv}
}

func (s *falSigner) jwk() map[string]any {
	return map[string]any{"kty": "OKP", "crv": "Ed25519", "kid": "k1",
		"x": base64.RawURLEncoding.EncodeToString(s.pub)}
}

func (s *falSigner) sign(reqID, userID string, ts time.Time, body []byte) provider.WebhookHeaders {
	sum := sha256.Sum256(body)
	stamp := strconv.FormatInt(ts.Unix(), 10)
	msg := strings.Join([]string{reqID, userID, stamp, hex.EncodeToString(sum[:])}, "\n")
	return provider.WebhookHeaders{RequestID: reqID, UserID: userID, Timestamp: stamp,
		Signature: hex.EncodeToString(ed25519.Sign(s.priv, []byte(msg)))}
}

// jwksServer publishes keys and counts fetches.
type jwksServer struct {
	*outboundtest.Server
	mu      sync.Mutex
	keys    []map[string]any
	fetches int
}

func newJWKS(t *testing.T, signers ...*falSigner) *jwksServer {
	j := &jwksServer{}
	for _, s := range signers {
		j.keys = append(j.keys, s.jwk())
	}
	j.Server = outboundtest.NewTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter,
		r *http.Request) {
		j.mu.Lock()
		defer j.mu.Unlock()
		j.fetches++
		writeJSON(w, http.StatusOK, map[string]any{"keys": j.keys})
	}))
	return j
}

func (j *jwksServer) publish(signers ...*falSigner) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.keys = nil
	for _, s := range signers {
		j.keys = append(j.keys, s.jwk())
	}
}

func (j *jwksServer) count() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.fetches
}

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func verifier(j *jwksServer, c *clock) *provider.Webhooks {
	client := outbound.Client(outbound.Policy{Trusted: []string{j.HostPort},
		RootCAs: j.Pool})
	return provider.NewWebhooks(j.URL+"/.well-known/jwks.json", client, c.now)
}

func TestWebhookVerification(t *testing.T) {
	good, other := newSigner(t), newSigner(t)
	j := newJWKS(t, good)
	c := &clock{t: time.Unix(1_760_000_000, 0)}
	w := verifier(j, c)
	body := []byte(`{"request_id":"req-1","gateway_request_id":"req-1","status":"OK",` +
		`"payload":{"images":[]}}`)

	ev, err := w.Verify(context.Background(), good.sign("req-1", "u-1", c.now(), body), body)
	if err != nil {
		t.Fatalf("valid webhook refused: %v", err)
	}
	if ev.RequestID != "req-1" || ev.Status != "OK" {
		t.Fatalf("event %+v", ev)
	}

	tampered := []byte(strings.Replace(string(body), `"OK"`, `"ERROR"`, 1))
	stale := good.sign("req-1", "u-1", c.now().Add(-6*time.Minute), body)
	future := good.sign("req-1", "u-1", c.now().Add(6*time.Minute), body)
	otherID := good.sign("req-1", "u-1", c.now(), body)
	otherID.RequestID = "req-2"
	cases := map[string]struct {
		h    provider.WebhookHeaders
		body []byte
	}{
		"tampered body":     {good.sign("req-1", "u-1", c.now(), body), tampered},
		"stale timestamp":   {stale, body},
		"future timestamp":  {future, body},
		"another key":       {other.sign("req-1", "u-1", c.now(), body), body},
		"header id changed": {otherID, body},
		"no signature": {provider.WebhookHeaders{RequestID: "req-1", UserID: "u-1",
			Timestamp: otherID.Timestamp}, body},
		"garbage timestamp": {provider.WebhookHeaders{RequestID: "req-1", UserID: "u",
			Timestamp: "soon", Signature: otherID.Signature}, body},
		"short signature hex": {provider.WebhookHeaders{RequestID: "req-1", UserID: "u",
			Timestamp: otherID.Timestamp, Signature: "abcd"}, body},
	}
	for name, cs := range cases {
		if _, err := w.Verify(context.Background(), cs.h, cs.body); !errors.Is(err,
			provider.ErrWebhook) {
			t.Errorf("%s: error %v, want ErrWebhook", name, err)
		}
	}
	if n := j.count(); n != 1 {
		t.Fatalf("keys fetched %d times; they should be cached", n)
	}
}

func TestWebhookKeysRotate(t *testing.T) {
	old, current := newSigner(t), newSigner(t)
	j := newJWKS(t, old)
	c := &clock{t: time.Unix(1_760_000_000, 0)}
	w := verifier(j, c)
	body := []byte(`{"request_id":"r","status":"OK"}`)

	if _, err := w.Verify(context.Background(), old.sign("r", "u", c.now(), body), body); err != nil {
		t.Fatal(err)
	}
	j.publish(current)

	// Within the refetch window an unknown key is simply refused.
	if _, err := w.Verify(context.Background(), current.sign("r", "u", c.now(), body),
		body); err == nil {
		t.Fatal("a key not yet fetched was accepted")
	}
	c.add(10 * time.Minute)
	if _, err := w.Verify(context.Background(), current.sign("r", "u", c.now(), body),
		body); err != nil {
		t.Fatalf("rotated key refused after the refetch window: %v", err)
	}
	if n := j.count(); n != 2 {
		t.Fatalf("keys fetched %d times, want 2", n)
	}
}

func TestParseJWKS(t *testing.T) {
	s := newSigner(t)
	cases := map[string]bool{
		`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"` +
			base64.RawURLEncoding.EncodeToString(s.pub) + `"}]}`: true,
		`{"keys":[{"kty":"RSA","n":"abc","e":"AQAB"}]}`:          false,
		`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"c2hvcnQ"}]}`: false,
		`{"keys":[]}`: false,
		`nope`:        false,
	}
	for doc, ok := range cases {
		keys, err := provider.ParseJWKS([]byte(doc))
		if ok != (err == nil) || ok && len(keys) != 1 {
			t.Errorf("ParseJWKS(%s) = %d keys, %v", doc, len(keys), err)
		}
	}
}

func FuzzWebhookVerify(f *testing.F) {
	s := newSigner(f)
	jwks := []byte(`{"keys":[` + string(mustJSON(s.jwk())) + `]}`)
	now := time.Unix(1_760_000_000, 0)
	good := s.sign("r", "u", now, []byte(`{"status":"OK"}`))
	f.Add("r", "u", good.Timestamp, good.Signature, []byte(`{"status":"OK"}`))
	f.Add("r", "u", "1", "zz", []byte(`{`))
	f.Fuzz(func(t *testing.T, reqID, userID, ts, sig string, body []byte) {
		keys, _ := provider.ParseJWKS(jwks)
		w := provider.NewWebhooks("https://keys.invalid/jwks.json", nil, func() time.Time {
			return now
		})
		provider.SetWebhookKeys(w, keys)
		h := provider.WebhookHeaders{RequestID: reqID, UserID: userID, Timestamp: ts,
			Signature: sig}
		ev, err := w.Verify(context.Background(), h, body)
		if err == nil && (ev.RequestID != reqID || (ev.Status != "OK" && ev.Status != "ERROR")) {
			t.Fatalf("accepted %+v", ev)
		}
	})
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func FuzzParseJWKS(f *testing.F) {
	f.Add([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519",` +
		`"x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"===="}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := provider.ParseJWKS(data)
		if err == nil && len(keys) == 0 {
			t.Fatal("no keys and no error")
		}
		for _, k := range keys {
			if len(k) != ed25519.PublicKeySize {
				t.Fatalf("key of %d bytes", len(k))
			}
		}
	})
}
