package web

import (
	"net/http"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/account"
)

// profileOf is the public face of a user in JSON answers: never the hash or lock state.
func profileOf(u *account.User) map[string]any {
	return map[string]any{
		"id": u.ID, "email": u.Email, "username": u.Username, "role": string(u.Role),
		"credits": float64(u.Credits) / 1000, "email_verified": u.EmailVerified,
		"created_at": time.UnixMilli(u.CreatedAt).UTC().Format(time.RFC3339),
	}
}

func (s *Server) showLandingPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "landing", "AI image studio", nil)
}

func (s *Server) showPricingPage(w http.ResponseWriter, r *http.Request) {
	plans, err := s.Credits.Plans(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	costs := map[string]string{}
	for _, f := range []string{"image_generation", "prompt_enhancement", "training"} {
		c, err := s.Credits.Cost(r.Context(), f)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		costs[f] = c.String()
	}
	s.render(w, r, http.StatusOK, "pricing", "Pricing", map[string]any{
		"Plans": plans, "Costs": costs,
	})
}

func (s *Server) showSubscriptionPage(w http.ResponseWriter, r *http.Request) {
	u := state(r).user
	data := map[string]any{}
	if u.PlanID != nil {
		plan, err := s.Credits.PlanByID(r.Context(), *u.PlanID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		data["Plan"] = plan
	}
	history, err := s.Credits.History(r.Context(), u.ID, 50)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data["History"] = history
	s.render(w, r, http.StatusOK, "subscription", "Subscription", data)
}

func (s *Server) showSettingsPage(w http.ResponseWriter, r *http.Request) {
	s.renderSettings(w, r, http.StatusOK, nil)
}

func (s *Server) profileAPI(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, profileOf(state(r).user))
}

func (s *Server) usageAPI(w http.ResponseWriter, r *http.Request) {
	u := state(r).user
	history, err := s.Credits.History(r.Context(), u.ID, 100)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	count, err := s.Gallery.Count(r.Context(), u.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	balance, err := s.Credits.Balance(r.Context(), u.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	entries := make([]map[string]any, 0, len(history))
	for _, e := range history {
		entries = append(entries, map[string]any{
			"kind": e.Kind, "amount": creditsOf(e.Amount),
			"balance_after": creditsOf(e.BalanceAfter), "job_id": e.JobID,
			"reason": e.Reason, "at": e.At.UTC().Format(time.RFC3339),
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"credits_remaining": creditsOf(balance), "images_total": count,
		"next_reset": time.UnixMilli(u.NextResetAt).UTC().Format(time.RFC3339),
		"ledger":     entries,
	})
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if err := s.Ready(r.Context()); err != nil {
		s.Log.Warn("not ready", "error", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
