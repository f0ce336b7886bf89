package provider

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/fault"
)

// DefaultFALJWKSURL is where FAL publishes the keys that sign its webhooks.
const DefaultFALJWKSURL = "https://rest.alpha.fal.ai/.well-known/jwks.json"

// Webhook timing: how far a signature's timestamp may be from now, how long fetched keys
// are kept, and how soon an unknown signature may trigger a fresh fetch (key rotation).
const (
	webhookLeeway = 5 * time.Minute
	jwksTTL       = 24 * time.Hour
	jwksRefetch   = 5 * time.Minute
)

// ErrWebhook is the cause of every refused webhook.
var ErrWebhook = errors.New("webhook refused")

// WebhookHeaders are the headers FAL signs a webhook with.
type WebhookHeaders struct {
	RequestID string // X-Fal-Webhook-Request-Id
	UserID    string // X-Fal-Webhook-User-Id
	Timestamp string // X-Fal-Webhook-Timestamp, Unix seconds
	Signature string // X-Fal-Webhook-Signature, hex
}

// WebhookEvent is a verified webhook: which request it is about and how it ended.
type WebhookEvent struct {
	RequestID string
	Status    string // "OK" or "ERROR"
}

// Webhooks verifies FAL's webhooks against FAL's published ED25519 keys, fetched and
// cached.
type Webhooks struct {
	url    string
	client *http.Client
	now    func() time.Time

	mu      sync.Mutex
	keys    []ed25519.PublicKey
	fetched time.Time
}

// NewWebhooks returns a verifier that reads keys from jwksURL (DefaultFALJWKSURL when
// empty) with client.
func NewWebhooks(jwksURL string, client *http.Client, now func() time.Time) *Webhooks {
	if jwksURL == "" {
		jwksURL = DefaultFALJWKSURL
	}
	return &Webhooks{url: jwksURL, client: client, now: now}
}

// Verify checks a webhook's signature over its request id, user id, timestamp and the
// SHA-256 of its body, refuses a timestamp more than five minutes away, and returns the
// event it reports.
func (w *Webhooks) Verify(ctx context.Context, h WebhookHeaders, body []byte) (
	*WebhookEvent, error) {
	if err := w.checkTime(h.Timestamp); err != nil {
		return nil, err
	}
	sig, err := hex.DecodeString(strings.TrimSpace(h.Signature))
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: signature is not %d hex bytes", ErrWebhook,
			ed25519.SignatureSize)
	}
	if h.RequestID == "" || h.UserID == "" {
		return nil, fmt.Errorf("%w: request or user id header missing", ErrWebhook)
	}

	sum := sha256.Sum256(body)
	msg := []byte(strings.Join([]string{h.RequestID, h.UserID, h.Timestamp,
		hex.EncodeToString(sum[:])}, "\n"))
	if err := w.verify(ctx, msg, sig); err != nil {
		return nil, err
	}
	return parseEvent(h.RequestID, body)
}

// checkTime refuses a missing, malformed or stale timestamp.
func (w *Webhooks) checkTime(ts string) error {
	sec, err := strconv.ParseInt(strings.TrimSpace(ts), 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp is not a number", ErrWebhook)
	}
	d := w.now().Sub(time.Unix(sec, 0))
	if d > webhookLeeway || d < -webhookLeeway {
		return fmt.Errorf("%w: timestamp is %s away", ErrWebhook, d.Round(time.Second))
	}
	return nil
}

// verify accepts a signature by any current key, fetching the keys again once when none
// matches and the cached set is not fresh (FAL may have rotated them).
func (w *Webhooks) verify(ctx context.Context, msg, sig []byte) error {
	keys, age, err := w.current(ctx, false)
	if err != nil {
		return err
	}
	if anyVerifies(keys, msg, sig) {
		return nil
	}
	if age < jwksRefetch {
		return fmt.Errorf("%w: signature does not match", ErrWebhook)
	}
	if keys, _, err = w.current(ctx, true); err != nil {
		return err
	}
	if anyVerifies(keys, msg, sig) {
		return nil
	}
	return fmt.Errorf("%w: signature does not match", ErrWebhook)
}

func anyVerifies(keys []ed25519.PublicKey, msg, sig []byte) bool {
	for _, k := range keys {
		if ed25519.Verify(k, msg, sig) {
			return true
		}
	}
	return false
}

// current returns the cached keys and their age, fetching them when absent, expired or
// forced.
func (w *Webhooks) current(ctx context.Context, force bool) ([]ed25519.PublicKey,
	time.Duration, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	age := w.now().Sub(w.fetched)
	if len(w.keys) > 0 && age < jwksTTL && !force {
		return w.keys, age, nil
	}
	keys, err := w.fetch(ctx)
	if err != nil {
		return nil, 0, err
	}
	w.keys, w.fetched = keys, w.now()
	return keys, 0, nil
}

// fetch reads the JWKS document.
func (w *Webhooks) fetch(ctx context.Context) ([]ed25519.PublicKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.url, nil)
	if err != nil {
		return nil, fmt.Errorf("jwks request: %w", err)
	}
	res, err := w.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch FAL webhook keys: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch FAL webhook keys: status %d", res.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("read FAL webhook keys: %w", err)
	}
	return ParseJWKS(data)
}

// ParseJWKS reads the ED25519 keys (kty OKP, crv Ed25519) of a JWKS document.
func ParseJWKS(data []byte) ([]ed25519.PublicKey, error) {
	var doc struct {
		Keys []struct {
			Kty string `json:"kty"`
			Crv string `json:"crv"`
			X   string `json:"x"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("webhook keys are not JSON: %w", err)
	}
	var keys []ed25519.PublicKey
	for _, k := range doc.Keys {
		if k.Kty != "OKP" || k.Crv != "Ed25519" {
			continue
		}
		x, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(k.X, "="))
		if err != nil || len(x) != ed25519.PublicKeySize {
			continue
		}
		keys = append(keys, ed25519.PublicKey(x))
	}
	if len(keys) == 0 {
		return nil, errors.New("the webhook key set holds no ED25519 key")
	}
	return keys, nil
}

// parseEvent reads the body of a verified webhook.
func parseEvent(requestID string, body []byte) (*WebhookEvent, error) {
	var ev struct {
		RequestID string `json:"request_id"`
		Status    string `json:"status"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, fault.Wrap(fault.Invalid, "The webhook body is not JSON.", err)
	}
	if ev.RequestID != "" && ev.RequestID != requestID {
		return nil, fmt.Errorf("%w: body and header name different requests", ErrWebhook)
	}
	if ev.Status != "OK" && ev.Status != "ERROR" {
		return nil, fault.New(fault.Invalid, "The webhook status must be OK or ERROR.")
	}
	return &WebhookEvent{RequestID: requestID, Status: ev.Status}, nil
}
