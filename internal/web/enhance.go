package web

import (
	"io"
	"net/http"

	"github.com/sketchmaker/sketchmaker/internal/enhance"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/provider"
)

// falWebhookPath is where FAL reports finished requests. It is the one state-changing
// route that carries no CSRF token: a server calls it, with no session to forge, and its
// ED25519 signature authenticates it instead (see checkCSRF).
const falWebhookPath = "/webhooks/fal"

// enhancePrompt answers POST /generate/prompt with an editable, enhanced prompt.
func (s *Server) enhancePrompt(w http.ResponseWriter, r *http.Request) {
	var in enhance.Input
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if in.Topic != "" {
		if err := s.screenPrompt(r, in.Topic); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	res, err := s.Enhancer.Enhance(r.Context(), state(r).user.ID, in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Success bool `json:"success"`
		*enhance.Result
	}{true, res})
}

// falWebhook receives FAL's signed notice that a request ended. It only marks the request
// so that the worker following it fetches the result at once; polling remains the
// fallback when a webhook never comes.
func (s *Server) falWebhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxJSONBytes+1))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(body) > maxJSONBytes {
		s.fail(w, r, fault.New(fault.TooLarge, "The webhook body is too large."))
		return
	}

	h := provider.WebhookHeaders{
		RequestID: r.Header.Get("X-Fal-Webhook-Request-Id"),
		UserID:    r.Header.Get("X-Fal-Webhook-User-Id"),
		Timestamp: r.Header.Get("X-Fal-Webhook-Timestamp"),
		Signature: r.Header.Get("X-Fal-Webhook-Signature"),
	}
	fresh, err := s.Generation.FALWebhook(r.Context(), h, body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"received": true, "duplicate": !fresh})
}
