package web

import (
	"errors"
	"net/http"

	"github.com/sketchmaker/sketchmaker/internal/account"
	"github.com/sketchmaker/sketchmaker/internal/audit"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/signin"
)

func (s *Server) googleLogin(w http.ResponseWriter, r *http.Request) {
	s.providerLogin(w, r, signin.Google)
}

func (s *Server) googleCallback(w http.ResponseWriter, r *http.Request) {
	s.providerCallback(w, r, signin.Google)
}

func (s *Server) oidcLogin(w http.ResponseWriter, r *http.Request) {
	s.providerLogin(w, r, r.PathValue("provider"))
}

func (s *Server) oidcCallback(w http.ResponseWriter, r *http.Request) {
	s.providerCallback(w, r, r.PathValue("provider"))
}

// callbackURL is where provider slug sends people back: on SKETCHMAKER_BASE_URL when it
// is set, else on the host of the request (the provider accepts only the redirect URLs
// registered with it, so a forged Host header leads nowhere).
func (s *Server) callbackURL(r *http.Request, slug string) string {
	base := s.Config.BaseURL
	if base == "" {
		scheme := "http"
		if state(r).secure {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	if slug == signin.Google {
		return base + "/auth/google/callback"
	}
	return base + "/auth/oidc/" + slug + "/callback"
}

// providerLogin sends the browser to the provider, keeping the flow's state in a cookie.
func (s *Server) providerLogin(w http.ResponseWriter, r *http.Request, slug string) {
	if s.SignIn == nil || !signin.ValidSlug(slug) {
		s.notFound(w, r)
		return
	}
	next := localPath(r.URL.Query().Get("next"))
	authURL, st, err := s.SignIn.Begin(r.Context(), slug, s.callbackURL(r, slug), next)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.setCookie(w, r, oidcCookie, st, int(signin.FlowLifetime.Seconds()))
	http.Redirect(w, r, authURL, http.StatusSeeOther)
}

// providerCallback completes a provider sign-in. Every refusal is audited with its reason.
func (s *Server) providerCallback(w http.ResponseWriter, r *http.Request, slug string) {
	if s.SignIn == nil || !signin.ValidSlug(slug) {
		s.notFound(w, r)
		return
	}
	q := r.URL.Query()
	kept := readCookie(r, oidcCookie, state(r).secure)
	s.setCookie(w, r, oidcCookie, "", -1)
	if q.Get("error") != "" {
		s.providerRefused(w, r, slug, "provider_error", 0,
			fault.New(fault.Unauthorized, "The provider did not sign you in."))
		return
	}

	c, err := s.SignIn.Finish(r.Context(), slug, s.callbackURL(r, slug), kept,
		q.Get("state"), q.Get("code"))
	if err != nil {
		s.providerRefused(w, r, slug, signin.ReasonOf(err), 0, err)
		return
	}
	id := account.Identity{Provider: slug, Subject: c.Subject, Email: c.Email, Name: c.Name}
	u, created, err := s.Accounts.SignInWith(acctx(r), id)
	if created && u != nil {
		s.audit(r, audit.Event{Type: audit.Registration, UserID: u.ID,
			Details: map[string]any{"method": "oidc", "provider": slug}})
	}
	switch {
	case errors.Is(err, account.ErrLinkRequired):
		s.offerLink(w, r, u, id)
		return
	case err != nil:
		var uid int64
		if u != nil {
			uid = u.ID
		}
		s.providerRefused(w, r, slug, "account_"+reasonOfAccount(err), uid, err)
		return
	}
	s.signedIn(w, r, u, "oidc:"+slug, c.Next)
}

func reasonOfAccount(err error) string {
	switch {
	case errors.Is(err, account.ErrPending):
		return "pending"
	case errors.Is(err, account.ErrAccountDisabled):
		return "disabled"
	}
	return "refused"
}

// offerLink keeps a provider identity for the account that owns its address and asks
// the person to prove they own that account with its password.
func (s *Server) offerLink(w http.ResponseWriter, r *http.Request, u *account.User,
	id account.Identity) {
	s.audit(r, audit.Event{Type: audit.LoginFailure, UserID: u.ID, Details: map[string]any{
		"method": "oidc", "provider": id.Provider, "reason": "link_required"}})
	tok, err := s.Accounts.OfferLink(r.Context(), u.ID, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.setCookie(w, r, linkCookie, tok, 15*60)
	http.Redirect(w, r, "/login?linking="+id.Provider, http.StatusSeeOther)
}

// providerRefused audits a refused provider sign-in and shows the sign-in page again.
func (s *Server) providerRefused(w http.ResponseWriter, r *http.Request, slug, reason string,
	uid int64, err error) {
	if reason == "" {
		reason = "error"
	}
	s.audit(r, audit.Event{Type: audit.LoginFailure, UserID: uid, Details: map[string]any{
		"method": "oidc", "provider": slug, "reason": reason}})
	fe := fault.As(err)
	if fe == nil || fe.Kind == fault.Internal {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, statusOf[fe.Kind], "login", "Sign in", s.loginData(r, "/dashboard",
		map[string]any{"Error": fe.Message}))
}
