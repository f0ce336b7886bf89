package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/sketchmaker/sketchmaker/internal/account"
	"github.com/sketchmaker/sketchmaker/internal/apitoken"
	"github.com/sketchmaker/sketchmaker/internal/audit"
	"github.com/sketchmaker/sketchmaker/internal/credit"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/role"
)

// Personal API tokens. A script sends one as "Authorization: Bearer smk_..." to a JSON
// route that needs a signed-in user; such a request needs no CSRF token, since a browser
// never adds the header by itself. A token is accepted nowhere else: pages, settings and
// sign-out need the session cookie, so a token cannot make more tokens, change a password
// or end sessions.

// Errors of a bearer token, with the header RFC 6750 asks for.
var (
	errBadToken = fault.New(fault.Unauthorized, "The API token is not valid: it was "+
		"revoked, it expired, or it was copied incompletely. Create a new one in Settings.")
	errTokenAccount = fault.New(fault.Forbidden, "The account this API token belongs to "+
		"is not active.")
	errNoAPIAccess = fault.New(fault.Forbidden, "Your plan does not include API access. "+
		"Ask an administrator for a plan with API access, or use SketchMaker in the browser.")
)

// bearerToken returns the token of an "Authorization: Bearer" header, and whether the
// header uses the Bearer scheme at all; the token may then be empty or malformed, and is
// refused as such. Other schemes (a proxy's Basic credentials, say) are not this
// server's and are ignored.
//
// A request that sends several Authorization headers, one of them Bearer, is refused the
// same way: reading only the first would let a bad token hide behind another header.
func bearerToken(r *http.Request) (string, bool) {
	values := r.Header.Values("Authorization")
	for _, v := range values {
		h := strings.TrimSpace(v)
		end := strings.IndexAny(h, " \t")
		if end < 0 {
			end = len(h)
		}
		if !strings.EqualFold(h[:end], "Bearer") {
			continue
		}
		if len(values) > 1 {
			return "", true
		}
		return strings.TrimSpace(h[end:]), true
	}
	return "", false
}

// takesToken reports whether r goes to a route that accepts an API token: a JSON route
// for signed-in users.
func (s *Server) takesToken(r *http.Request) bool {
	_, pattern := s.mux.Handler(r)
	return s.tokenRoutes[pattern]
}

// signInWithToken signs the request in with the bearer token secret, or returns the error
// to answer with. The session cookie, if any, is not read.
func (s *Server) signInWithToken(w http.ResponseWriter, r *http.Request, secret string) error {
	st := state(r)
	u := new(account.User)
	tok, err := s.Tokens.LookupWithUser(r.Context(), secret, st.ip, account.JoinedColumns,
		account.ScanTargets(u)...)
	if errors.Is(err, apitoken.ErrNoToken) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="sketchmaker", error="invalid_token"`)
		return errBadToken
	}
	if err != nil {
		return err
	}
	if u.Status != account.StatusActive {
		return errTokenAccount
	}
	ok, err := s.hasAPIAccess(r.Context(), u)
	if err != nil {
		return err
	}
	if !ok {
		return errNoAPIAccess
	}
	st.user, st.apiToken = u, tok
	return nil
}

// hasAPIAccess reports whether u may use API tokens.
func (s *Server) hasAPIAccess(ctx context.Context, u *account.User) (bool, error) {
	return s.planIncludes(ctx, u, credit.FeatureAPI)
}

// planIncludes reports whether u may use a capability a plan may include
// (credit.GatedFeatures): administrators always, users when their plan lists it.
func (s *Server) planIncludes(ctx context.Context, u *account.User, feature string) (bool,
	error) {
	if u.Role.Rank() >= role.Admin.Rank() {
		return true, nil
	}
	if u.PlanID == nil {
		return false, nil
	}
	p, err := s.Credits.PlanByID(ctx, *u.PlanID)
	if err != nil {
		return false, err
	}
	return p.HasFeature(feature), nil
}

// tokenRow is one token on the settings page.
type tokenRow struct {
	apitoken.Token
	Expired bool
}

// tokensData is the settings page's part about API tokens.
func (s *Server) tokensData(ctx context.Context, u *account.User) (map[string]any, error) {
	allowed, err := s.hasAPIAccess(ctx, u)
	if err != nil {
		return nil, err
	}
	list, err := s.Tokens.List(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	rows := make([]tokenRow, len(list))
	now := s.Now()
	for i, t := range list {
		rows[i] = tokenRow{Token: t, Expired: t.Expired(now)}
	}
	return map[string]any{"APIAllowed": allowed, "Tokens": rows,
		"TokenLifetimes": apitoken.Lifetimes, "MaxTokens": apitoken.MaxPerUser}, nil
}

// createAPIToken makes a token and shows its secret once, on the settings page itself:
// the secret is never put in a cookie or a redirect.
func (s *Server) createAPIToken(w http.ResponseWriter, r *http.Request) {
	st := state(r)
	ok, err := s.hasAPIAccess(r.Context(), st.user)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !ok {
		s.settingsFailed(w, r, "tokens", errNoAPIAccess)
		return
	}
	days, err := strconv.Atoi(r.PostFormValue("expires_in_days"))
	if err != nil {
		days = -1 // refused by Create with its message
	}
	secret, tok, err := s.Tokens.Create(r.Context(), st.user.ID,
		r.PostFormValue("name"), days)
	if err != nil {
		s.settingsFailed(w, r, "tokens", err)
		return
	}
	s.audit(r, audit.Event{Type: audit.APITokenCreated, UserID: st.user.ID,
		Details: map[string]any{"credential_id": tok.ID, "name": tok.Name,
			"expires_at": tok.ExpiresAt}})
	s.renderSettings(w, r, http.StatusCreated, map[string]any{"NewToken": secret,
		"NewTokenName": tok.Name})
}

// revokeAPIToken deletes one of the user's tokens.
func (s *Server) revokeAPIToken(w http.ResponseWriter, r *http.Request) {
	uid := state(r).user.ID
	tok, err := s.Tokens.Revoke(r.Context(), uid, r.PathValue("id"))
	if err != nil {
		s.settingsFailed(w, r, "tokens", err)
		return
	}
	s.audit(r, audit.Event{Type: audit.APITokenRevoked, UserID: uid,
		Details: map[string]any{"credential_id": tok.ID, "name": tok.Name, "by": "owner"}})
	s.settingsDone(w, r, "api_token_revoked")
}
