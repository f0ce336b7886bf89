package web

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/account"
	"github.com/sketchmaker/sketchmaker/internal/audit"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/guard"
)

// unlimited marks a route that no rate limit counts.
const unlimited = ""

// refuseBlocked answers 403 to a blocked client address before anything else happens: no
// session lookup, no password hashing, no database query. A failing block store lets the
// request through; the error is logged.
func (s *Server) refuseBlocked(next http.Handler) http.Handler {
	if s.Guard == nil {
		return next
	}
	refuse := s.securityHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, fault.New(fault.Forbidden, "Your network address is blocked for a "+
			"while because it sent too many requests that were refused. Try again later."))
	}))

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := state(r)
		left, err := s.Guard.Blocked(r.Context(), st.ip)
		if err != nil {
			s.Log.Error("block check failed; letting the request through",
				"request_id", st.id, "error", err)
		}
		if left <= 0 {
			next.ServeHTTP(w, r)
			return
		}

		s.Metrics.BlockedRequest()
		w.Header().Set("Retry-After", wholeSeconds(left))
		refuse.ServeHTTP(w, r)
	})
}

// limitRoutes counts each request to a route that names a limit, per signed-in user and per
// client address, and answers 429 once the limit is spent. The route is found the way the
// mux finds it, so every spelling of a path that reaches a handler is counted under that
// handler's limit.
func (s *Server) limitRoutes(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := s.routeLimit(r)
		if name == unlimited || s.Guard == nil {
			next.ServeHTTP(w, r)
			return
		}

		st := state(r)
		var uid int64
		if st.user != nil {
			uid = st.user.ID
		}
		if s.admit(w, r, s.Guard.Allow(r.Context(), name, uid, st.ip)) {
			next.ServeHTTP(w, r)
		}
	})
}

// routeLimit returns the limit of the route r is routed to, without serving it.
func (s *Server) routeLimit(r *http.Request) string {
	_, pattern := s.mux.Handler(r)
	return s.limits[pattern]
}

// admitAccount counts an attempt at account (an email address, as typed) from the request's
// client address under the named limit. It answers 429 and returns false when the limit is
// spent.
func (s *Server) admitAccount(w http.ResponseWriter, r *http.Request, name,
	account string) bool {
	if s.Guard == nil {
		return true
	}
	return s.admit(w, r, s.Guard.AllowAccount(r.Context(), name, account, state(r).ip))
}

// forgetAccount clears the attempts counted for account after it signed in.
func (s *Server) forgetAccount(r *http.Request, name, account string) {
	if s.Guard != nil {
		s.Guard.ForgetAccount(r.Context(), name, account, state(r).ip)
	}
}

// admit writes the RateLimit-* headers of a decision and, when it refuses, answers 429
// with Retry-After. It reports whether the request may go on.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, d guard.Decision) bool {
	if d.Result.Limit > 0 {
		h := w.Header()
		h.Set("RateLimit-Limit", strconv.Itoa(d.Result.Limit))
		h.Set("RateLimit-Remaining", strconv.Itoa(d.Result.Remaining))
		h.Set("RateLimit-Reset", wholeSeconds(d.Result.ResetAfter))
	}
	if d.Allowed {
		return true
	}

	w.Header().Set("Retry-After", wholeSeconds(d.Result.RetryAfter))
	if isJSON(r) {
		state(r).api = true
	}
	rate, _ := s.Guard.Rate(d.Limit)
	s.fail(w, r, fault.New(fault.Limited, fmt.Sprintf("Too many requests: this allows %s. "+
		"Try again in %s.", rate, humanDuration(d.Result.RetryAfter))))
	return false
}

// wholeSeconds writes d as whole seconds, rounded up, at least 1: a client that waits that
// long will be let in.
func wholeSeconds(d time.Duration) string {
	return strconv.FormatInt(max(1, int64(math.Ceil(d.Seconds()))), 10)
}

// humanDuration writes d rounded up to a second, minute or hour, for messages.
func humanDuration(d time.Duration) string {
	secs := max(1, int64(math.Ceil(d.Seconds())))
	switch {
	case secs == 1:
		return "1 second"
	case secs < 120:
		return fmt.Sprintf("%d seconds", secs)
	case secs < 2*3600:
		return fmt.Sprintf("%d minutes", (secs+59)/60)
	}
	return fmt.Sprintf("%d hours", (secs+3599)/3600)
}

// recordLoginFailure audits a failed sign-in with the address as it was typed (the audit
// trail's JSON escapes it, so line breaks in it cannot forge events), counts it, and
// alerts the administrators when it locked the account. What is not an email address at
// all is not kept: people paste passwords into the email box, and every administrator
// reads the audit trail.
func (s *Server) recordLoginFailure(r *http.Request, email string, f *account.Failure) {
	if f.Reason == "invalid_email" {
		email = "(not an email address)"
	}
	s.audit(r, audit.Event{Type: audit.LoginFailure, UserID: f.UserID,
		Details: map[string]any{"reason": f.Reason, "attempts": f.Attempts,
			"email": clipText(email, 254)}})
	s.Metrics.LoginFailed(f.Reason)
	if !f.Locked {
		return
	}

	s.audit(r, audit.Event{Type: audit.AccountLocked, UserID: f.UserID,
		Details: map[string]any{"attempts": f.Attempts}})
	if s.Alerts == nil {
		return
	}
	msg := fmt.Sprintf("Account %d was locked after %d wrong passwords in a row (last "+
		"attempt from %s).", f.UserID, f.Attempts, state(r).ip)
	subject := "user:" + strconv.FormatInt(f.UserID, 10)
	if _, _, err := s.Alerts.Raise(r.Context(), audit.AccountLocked, subject, msg); err != nil {
		s.Log.Error("alert not raised", "request_id", state(r).id, "error", err)
	}
}

// clipText cuts s to at most n characters.
func clipText(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}
