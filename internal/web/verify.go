package web

import (
	"net/http"

	"github.com/sketchmaker/sketchmaker/internal/audit"
	"github.com/sketchmaker/sketchmaker/internal/fault"
)

// showVerifyPage shows a confirmation button for a link from a mail. Opening the link
// changes nothing by itself, so that mail scanners that fetch links cannot use it up.
func (s *Server) showVerifyPage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	change, err := s.Accounts.CheckEmailLink(r.Context(), token)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "verify", "Confirm your email address", map[string]any{
		"Token": token, "Change": change,
	})
}

func (s *Server) verifyEmail(w http.ResponseWriter, r *http.Request) {
	u, change, err := s.Accounts.ConfirmEmail(acctx(r), r.PostFormValue("token"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ev, flash := audit.EmailVerified, "email_confirmed"
	if change {
		ev, flash = audit.EmailChanged, "email_changed"
	}
	s.audit(r, audit.Event{Type: ev, UserID: u.ID})
	setFlash(w, flash)
	if st := state(r); st.user != nil && st.user.ID == u.ID {
		http.Redirect(w, r, "/settings", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (s *Server) resendVerification(w http.ResponseWriter, r *http.Request) {
	if err := s.Accounts.SendVerification(acctx(r), state(r).user.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	if state(r).api || isJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{"success": true})
		return
	}
	setFlash(w, "verification_sent")
	http.Redirect(w, r, "/settings", http.StatusSeeOther)
}

// errVerifyFirst refuses generation to an account whose address is not confirmed while
// the rules require it.
var errVerifyFirst = fault.New(fault.Forbidden, "Confirm your email address before "+
	"generating images: open the link we emailed you, or send a new one from Settings.")

// needsVerification reports whether the signed-in user must confirm the address first.
func (s *Server) needsVerification(r *http.Request) bool {
	u := state(r).user
	if u == nil || u.EmailVerified {
		return false
	}
	rules, err := s.Accounts.Rules(r.Context())
	if err != nil {
		s.Log.Error("account rules not read", "request_id", state(r).id, "error", err)
	}
	return rules.RequireVerification
}
