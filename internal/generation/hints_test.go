package generation_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/outbound/outboundtest"
	"github.com/sketchmaker/sketchmaker/internal/provider"
)

// TestWebhookMarksTrackedTraining checks that a training's FAL request, tracked through
// TrackRequest, is marked by FAL's signed webhook exactly as an image job's request is,
// and only by a valid one for its own request id.
func TestWebhookMarksTrackedTraining(t *testing.T) {
	eachDB(t, func(t *testing.T, db *database.DB) {
		pub, priv, _ := ed25519.GenerateKey(rand.Reader)
		keys := outboundtest.NewTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter,
			r *http.Request) {
			reply(w, http.StatusOK, map[string]any{"keys": []map[string]any{{"kty": "OKP",
				"crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(pub)}}})
		}))
		w := newFALWorld(t, db, newFakeFAL(t), time.Now, func(s *provider.Settings) {
			s.FALWebhookURL = "https://studio.example/webhooks/fal"
			s.FALJWKSURL = keys.URL + "/jwks.json"
			s.RootCAs.AppendCertsFromPEM(keys.CertPEM)
		})
		ctx := context.Background()
		if err := w.gen.TrackRequest(ctx, "training-1", provider.FAL, "train-req"); err != nil {
			t.Fatal(err)
		}
		if w.gen.Notified(ctx, "training-1") {
			t.Fatal("notified before any webhook")
		}

		body := func(reqID string) []byte {
			return []byte(`{"request_id":"` + reqID + `","status":"OK","payload":{}}`)
		}
		sign := func(reqID string, key ed25519.PrivateKey) provider.WebhookHeaders {
			sum := sha256.Sum256(body(reqID))
			ts := strconv.FormatInt(time.Now().Unix(), 10)
			msg := reqID + "\nuser-1\n" + ts + "\n" + hex.EncodeToString(sum[:])
			return provider.WebhookHeaders{RequestID: reqID, UserID: "user-1", Timestamp: ts,
				Signature: hex.EncodeToString(ed25519.Sign(key, []byte(msg)))}
		}
		_, forger, _ := ed25519.GenerateKey(rand.Reader)
		if _, err := w.gen.FALWebhook(ctx, sign("train-req", forger),
			body("train-req")); err == nil ||
			w.gen.Notified(ctx, "training-1") {
			t.Fatalf("a forged webhook was accepted: %v", err)
		}
		if fresh, err := w.gen.FALWebhook(ctx, sign("other-req", priv),
			body("other-req")); err != nil ||
			fresh || w.gen.Notified(ctx, "training-1") {
			t.Fatalf("another request's webhook marked the training: %v %v", fresh, err)
		}
		if fresh, err := w.gen.FALWebhook(ctx, sign("train-req", priv),
			body("train-req")); err != nil ||
			!fresh || !w.gen.Notified(ctx, "training-1") {
			t.Fatalf("the training's webhook: %v %v", fresh, err)
		}
	})
}
