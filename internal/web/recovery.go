package web

import (
	"errors"
	"net/http"

	"github.com/sketchmaker/sketchmaker/internal/account"
	"github.com/sketchmaker/sketchmaker/internal/audit"
)

// The password reset answers the same whether or not the address has an account: the
// same status, page, headers and cookie (only the random values differ), after the same
// work. Only the mailbox's owner learns the code.

// resetSent is what the forgot-password form answers for every valid address.
const resetSent = "If an account uses that address, a 6-digit code is on its way to it. " +
	"Enter it below within 15 minutes, in this browser."

func (s *Server) showForgotPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "forgot", "Forgot your password", map[string]any{})
}

func (s *Server) forgotPassword(w http.ResponseWriter, r *http.Request) {
	email := r.PostFormValue("email")
	if isJSON(r) {
		var body struct {
			Email string `json:"email"`
		}
		if err := decodeJSON(r, &body); err != nil {
			s.fail(w, r, err)
			return
		}
		email = body.Email
	}

	id, err := s.Accounts.RequestReset(acctx(r), email)
	if err != nil {
		s.formFailed(w, r, "forgot", "Forgot your password", err,
			map[string]any{"Email": email})
		return
	}
	s.audit(r, audit.Event{Type: audit.PasswordReset,
		Details: map[string]any{"stage": "requested"}})
	s.setCookie(w, r, resetCookie, id, int(account.ResetLifetime.Seconds()))
	if isJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{"success": true, "message": resetSent,
			"reset_request": id})
		return
	}
	http.Redirect(w, r, "/reset-password", http.StatusSeeOther)
}

func (s *Server) showResetPage(w http.ResponseWriter, r *http.Request) {
	active := s.Accounts.ResetActive(r.Context(), readCookie(r, resetCookie, state(r).secure))
	s.render(w, r, http.StatusOK, "reset", "Choose a new password", map[string]any{
		"Active": active, "Sent": resetSent,
	})
}

// resetInput is the reset form; JSON clients send the request id they were given, since
// they may keep no cookies.
type resetInput struct {
	Request  string `json:"reset_request"`
	Code     string `json:"code"`
	Password string `json:"password"`
}

func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request) {
	var in resetInput
	if isJSON(r) {
		if err := decodeJSON(r, &in); err != nil {
			s.fail(w, r, err)
			return
		}
	} else {
		in.Code, in.Password = r.PostFormValue("code"), r.PostFormValue("password")
	}
	if in.Request == "" {
		in.Request = readCookie(r, resetCookie, state(r).secure)
	}

	u, err := s.Accounts.ResetPassword(acctx(r), in.Request, in.Code, in.Password)
	if errors.Is(err, account.ErrResetCode) {
		s.audit(r, audit.Event{Type: audit.PasswordReset,
			Details: map[string]any{"stage": "refused"}})
	}
	if err != nil {
		s.formFailed(w, r, "reset", "Choose a new password", err, map[string]any{
			"Active": true, "Sent": resetSent,
		})
		return
	}

	s.audit(r, audit.Event{Type: audit.PasswordReset, UserID: u.ID,
		Details: map[string]any{"stage": "done", "sessions": "all revoked",
			"credentials": "all revoked"}})
	s.setCookie(w, r, resetCookie, "", -1)
	if isJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{"success": true})
		return
	}
	setFlash(w, "password_reset")
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
