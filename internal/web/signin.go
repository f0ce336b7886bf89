package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/sketchmaker/sketchmaker/internal/account"
	"github.com/sketchmaker/sketchmaker/internal/audit"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/role"
	"github.com/sketchmaker/sketchmaker/internal/signin"
)

// Cookies of the account flows. Each holds a random token whose hash the server keeps.
const (
	resetCookie     = "sketchmaker_reset" // the password reset request of this browser
	challengeCookie = "sketchmaker_2fa"   // the second step of a sign-in
	oidcCookie      = "sketchmaker_oidc"  // the state of a provider sign-in
	linkCookie      = "sketchmaker_link"  // a provider identity waiting to be linked
)

// accountFlashes are the notices of the account flows; the cookie carries only the key.
var accountFlashes = map[string]string{
	"password_reset": "Your password is changed, every session was signed out and your API " +
		"tokens were revoked. Sign in with the new password.",
	"password_changed": "Your password is changed. Your other sessions were signed out.",
	"email_confirmed":  "Your email address is confirmed.",
	"email_changed":    "Your new email address is confirmed and now signs you in.",
	"email_change_sent": "If that address can be used, a confirmation link is on its way " +
		"to it. Your address changes when you open the link.",
	"verification_sent":  "A new confirmation link is on its way. Check your inbox.",
	"profile_saved":      "Your profile is saved.",
	"session_revoked":    "The session was signed out.",
	"sessions_revoked":   "Every other session was signed out.",
	"api_token_revoked":  "The API token was revoked: scripts using it are refused from now on.",
	"two_factor_on":      "Two-factor sign-in is on.",
	"two_factor_off":     "Two-factor sign-in is off.",
	"two_factor_expired": "That sign-in took too long or had too many wrong codes. Sign in again.",
	"enrol_two_factor": "Administrators must use two-factor sign-in here. Set it up to " +
		"open the admin pages.",
	"identity_linked":     "The sign-in method is linked to your account.",
	"identity_unlinked":   "The sign-in method is unlinked.",
	"account_deleted":     "Your account was deleted with its images, uploads and styles.",
	"provider_signed_out": "Signing in with that provider did not work. Please try again.",
}

func init() {
	for k, v := range accountFlashes {
		flashMessages[k] = v
	}
}

// acctx returns the request's context carrying its client address, which the account
// service names in security notices.
func acctx(r *http.Request) context.Context {
	return account.WithClientIP(r.Context(), state(r).ip)
}

// methods returns the sign-in methods in force; on an error password sign-in stays on.
func (s *Server) methods(r *http.Request) signin.Methods {
	if s.SignIn == nil {
		return signin.Methods{Password: true}
	}
	m, err := s.SignIn.Methods(r.Context())
	if err != nil {
		s.Log.Error("sign-in methods not read", "request_id", state(r).id, "error", err)
	}
	return m
}

// providerButton is one "Sign in with ..." button.
type providerButton struct {
	Name string
	URL  string
}

// loginData fills the sign-in page: the password form when it is on, one button per
// usable provider, and a notice while a provider waits to be linked.
func (s *Server) loginData(r *http.Request, next string, extra map[string]any) map[string]any {
	m := s.methods(r)
	var buttons []providerButton
	for _, p := range m.Providers {
		u := "/auth/oidc/" + p.Slug + "/login"
		if p.Slug == signin.Google {
			u = "/auth/google/login"
		}
		if next != "/dashboard" {
			u += "?next=" + url.QueryEscape(next)
		}
		buttons = append(buttons, providerButton{Name: p.Name, URL: u})
	}
	data := map[string]any{"Next": next, "Password": m.Password, "Providers": buttons}
	if slug := r.URL.Query().Get("linking"); signin.ValidSlug(slug) &&
		readCookie(r, linkCookie, state(r).secure) != "" {
		data["Linking"] = providerName(m, slug)
	}
	for k, v := range extra {
		data[k] = v
	}
	return data
}

func providerName(m signin.Methods, slug string) string {
	for _, p := range m.Providers {
		if p.Slug == slug {
			return p.Name
		}
	}
	return "your provider"
}

// errPasswordOff answers password sign-in and registration while they are switched off.
var errPasswordOff = fault.New(fault.Forbidden, "Signing in with a password is switched "+
	"off on this site. Use one of the sign-in buttons instead.")

// signedIn continues a sign-in whose first step succeeded: it asks for the second factor
// when two-factor sign-in is on, and otherwise finishes the sign-in.
func (s *Server) signedIn(w http.ResponseWriter, r *http.Request, u *account.User, method,
	next string) {
	if !u.TOTPEnabled {
		s.finishSignIn(w, r, u, method, "", next)
		return
	}

	tok, err := s.Accounts.StartChallenge(r.Context(), u.ID, method, localPath(next))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.setCookie(w, r, challengeCookie, tok, int(account.ChallengeLifetime.Seconds()))
	if isJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{"success": true,
			"two_factor_required": true, "redirect": "/login/two-factor"})
		return
	}
	http.Redirect(w, r, "/login/two-factor", http.StatusSeeOther)
}

// finishSignIn starts the session of a complete sign-in and sends the person on. After a
// password sign-in, a provider identity waiting for this account is linked: the password
// (and the second factor, when on) proved that the person owns it.
func (s *Server) finishSignIn(w http.ResponseWriter, r *http.Request, u *account.User,
	method, factor, next string) {
	if method == "password" {
		s.claimLink(w, r, u)
	}
	if err := s.startSession(w, r, u); err != nil {
		s.fail(w, r, err)
		return
	}
	details := map[string]any{"method": method}
	if factor != "" {
		details["second_factor"] = factor
	}
	s.audit(r, audit.Event{Type: audit.LoginSuccess, UserID: u.ID, Details: details})

	dest := s.nextPath(next)
	if s.mustEnrol(r.Context(), u) {
		dest = "/settings/two-factor"
		setFlash(w, "enrol_two_factor")
	}
	if isJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{"success": true, "redirect": dest,
			"user": profileOf(u)})
		return
	}
	http.Redirect(w, r, dest, http.StatusSeeOther)
}

// claimLink links the provider identity this browser brought, when it was offered to u.
func (s *Server) claimLink(w http.ResponseWriter, r *http.Request, u *account.User) {
	tok := readCookie(r, linkCookie, state(r).secure)
	if tok == "" {
		return
	}
	s.setCookie(w, r, linkCookie, "", -1)
	id, err := s.Accounts.ClaimLink(acctx(r), tok, u.ID)
	if err != nil {
		s.Log.Error("identity not linked", "request_id", state(r).id, "error", err)
		return
	}
	if id != nil {
		s.audit(r, audit.Event{Type: audit.IdentityLinked, UserID: u.ID,
			Details: map[string]any{"provider": id.Provider}})
	}
}

// mustEnrol reports whether u holds an admin role without two-factor sign-in while the
// rules require it.
func (s *Server) mustEnrol(ctx context.Context, u *account.User) bool {
	if u == nil || u.TOTPEnabled || u.Role.Rank() < role.Admin.Rank() {
		return false
	}
	r, err := s.Accounts.Rules(ctx)
	if err != nil {
		s.Log.Error("account rules not read", "error", err)
	}
	return r.RequireAdmin2FA
}

// errEnrolFirst refuses the admin pages to an administrator without two-factor sign-in
// while the rules require it.
var errEnrolFirst = fault.New(fault.Forbidden, "Administrators must use two-factor sign-in "+
	"on this site. Turn it on in Settings → Two-factor sign-in, then come back.")

// twoFactorMissing reports whether a route needing perm, beyond what every user may do,
// must be refused because its administrator has not turned on two-factor sign-in.
func (s *Server) twoFactorMissing(r *http.Request, perm role.Permission) bool {
	if role.User.Can(perm) {
		return false
	}
	return s.mustEnrol(r.Context(), state(r).user)
}

func (s *Server) showTwoFactorLoginPage(w http.ResponseWriter, r *http.Request) {
	if !s.Accounts.ChallengeOpen(r.Context(), readCookie(r, challengeCookie, state(r).secure)) {
		setFlash(w, "two_factor_expired")
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "login_2fa", "Two-factor sign-in", map[string]any{})
}

func (s *Server) twoFactorLogin(w http.ResponseWriter, r *http.Request) {
	code := r.PostFormValue("code")
	if isJSON(r) {
		var body struct {
			Code string `json:"code"`
		}
		if err := decodeJSON(r, &body); err != nil {
			s.fail(w, r, err)
			return
		}
		code = body.Code
	}

	tok := readCookie(r, challengeCookie, state(r).secure)
	step, failure, err := s.Accounts.AnswerChallenge(acctx(r), tok, code)
	if failure != nil {
		s.audit(r, audit.Event{Type: audit.LoginFailure, UserID: failure.UserID,
			Details: map[string]any{"reason": failure.Reason, "attempts": failure.Attempts,
				"step": "two_factor"}})
	}
	switch {
	case errors.Is(err, account.ErrChallenge):
		s.setCookie(w, r, challengeCookie, "", -1)
		if isJSON(r) {
			s.fail(w, r, err)
			return
		}
		setFlash(w, "two_factor_expired")
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	case err != nil:
		s.formFailed(w, r, "login_2fa", "Two-factor sign-in", err, map[string]any{})
		return
	}
	s.setCookie(w, r, challengeCookie, "", -1)
	s.finishSignIn(w, r, step.User, step.Method, step.Factor, step.Next)
}

// registeredQuietly answers a registration that does not sign in at once (the address
// must be confirmed, or an administrator must approve). The answer depends only on the
// rules in force, never on whether the address had an account already.
func (s *Server) registeredQuietly(w http.ResponseWriter, r *http.Request,
	reg *account.Registration) {
	msg := "Check your email: we sent a link to confirm your address. Open it, then sign in. " +
		"Until the address is confirmed you can sign in, but not generate images."
	if reg.Pending {
		msg = "Thank you! An administrator will review your registration. We will email " +
			"you when your account is approved."
		if reg.Verify {
			msg += " Meanwhile, please confirm your address with the link we sent you."
		}
	}
	if isJSON(r) {
		writeJSON(w, http.StatusAccepted, map[string]any{"success": true, "message": msg,
			"verify_email": reg.Verify, "pending_approval": reg.Pending})
		return
	}
	s.render(w, r, http.StatusOK, "notice", "Check your email", map[string]any{
		"Heading": "Almost there", "Message": msg,
	})
}
