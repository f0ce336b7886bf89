package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/sketchmaker/sketchmaker/internal/role"
)

// A real OpenID Connect provider runs in the test (discovery, JWKS, token endpoint), and
// the browser's round trip through it is followed by hand.

func newOIDCApp(t *testing.T, env map[string]string) (*mailApp, *mockoidc.MockOIDC) {
	t.Helper()
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	all := map[string]string{"GOOGLE_AUTH_ENABLED": "true", "GOOGLE_CLIENT_ID": m.ClientID,
		"GOOGLE_CLIENT_SECRET": m.ClientSecret, "GOOGLE_ISSUER_URL": m.Issuer()}
	for k, v := range env {
		all[k] = v
	}
	return newMailApp(t, all), m
}

// acctProvider follows a provider sign-in from start (such as /auth/google/login) to the
// provider and back, and returns the callback's path and query, not yet opened.
func acctProvider(t *testing.T, c *clientT, start string) string {
	t.Helper()
	res := c.Get(start)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("%s: %d %s", start, res.StatusCode, res.Body)
	}
	req, _ := http.NewRequest(http.MethodGet, res.Header.Get("Location"), nil)
	at := c.Do(req)
	if at.StatusCode != http.StatusFound {
		t.Fatalf("provider: %d %s", at.StatusCode, at.Body)
	}
	return acctPath(t, at.Header.Get("Location"))
}

// twistedUser is a provider user whose ID token is altered.
type twistedUser struct {
	*mockoidc.MockUser
	twist func(*mockoidc.IDTokenClaims)
}

func (u twistedUser) Claims(scopes []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	u.twist(base)
	return u.MockUser.Claims(scopes, base)
}

func TestAccountsProviderSignIn(t *testing.T) {
	app, _ := newOIDCApp(t, nil)
	c := app.Client(t)
	login := string(c.Get("/login").Body)
	if !strings.Contains(login, `href="/auth/google/login"`) || !strings.Contains(login, "Sign in with Google") {
		t.Fatal("no Google button on /login")
	}

	cb := acctProvider(t, c, "/auth/google/login?next=/gallery")
	if !strings.HasPrefix(cb, "/auth/google/callback?") {
		t.Fatalf("callback %q", cb)
	}
	res := c.Get(cb)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/gallery" {
		t.Fatalf("callback: %d %s %s", res.StatusCode, res.Header.Get("Location"), res.Body)
	}
	p := c.Get("/api/user/profile").JSON()
	if p["email"] != "jane.doe@example.com" || p["email_verified"] != true {
		t.Fatalf("profile: %v", p)
	}
	if !acctAudit(app.App, "registration", `"method":"oidc"`) ||
		!acctAudit(app.App, "login_success", `"method":"oidc:google"`) {
		t.Fatal("provider registration and sign-in not audited")
	}

	// The same person again gets the same account.
	again := app.Client(t)
	res = again.Get(acctProvider(t, again, "/auth/google/login"))
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("second sign-in: %d", res.StatusCode)
	}
	if again.UserID() != c.UserID() {
		t.Fatal("a second sign-in made another account")
	}
}

func TestAccountsProviderRefusals(t *testing.T) {
	app, m := newOIDCApp(t, nil)
	cases := []struct {
		name, reason string
		user         mockoidc.User
		tamper       func(cb string) string
	}{
		{"wrong state", "state_mismatch", nil, func(cb string) string {
			return strings.Replace(cb, "state=", "state=x", 1)
		}},
		{"wrong nonce", "nonce_mismatch", twistedUser{mockoidc.DefaultUser(),
			func(c *mockoidc.IDTokenClaims) { c.Nonce = "nonce-of-another-flow" }}, nil},
		{"wrong audience", "id_token_invalid", twistedUser{mockoidc.DefaultUser(),
			func(c *mockoidc.IDTokenClaims) { c.Audience = jwt.ClaimStrings{"another-app"} }}, nil},
		{"expired token", "id_token_expired", twistedUser{mockoidc.DefaultUser(),
			func(c *mockoidc.IDTokenClaims) {
				c.IssuedAt = jwt.NewNumericDate(time.Now().Add(-2 * time.Hour))
				c.NotBefore = c.IssuedAt
				c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Hour))
			}}, nil},
		{"unverified email", "email_unverified", &mockoidc.MockUser{Subject: "u-9",
			Email: "unverified@example.com", EmailVerified: false}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.user != nil {
				m.QueueUser(tc.user)
			}
			c := app.Client(t)
			cb := acctProvider(t, c, "/auth/google/login")
			if tc.tamper != nil {
				cb = tc.tamper(cb)
			}
			res := c.Get(cb)
			if res.StatusCode != http.StatusUnauthorized || acctSignedIn(c) {
				t.Fatalf("status %d, signed in %v", res.StatusCode, acctSignedIn(c))
			}
			if !acctAudit(app.App, "login_failure", `"reason":"`+tc.reason+`"`,
				`"method":"oidc"`) {
				t.Fatalf("no login_failure with reason %s", tc.reason)
			}
		})
	}
}

func TestAccountsProviderReplays(t *testing.T) {
	app, _ := newOIDCApp(t, nil)
	c := app.Client(t)
	u, _ := url.Parse(app.URL)
	cb := acctProvider(t, c, "/auth/google/login")
	var stateCookie *http.Cookie
	for _, ck := range c.HTTP.Jar.Cookies(u) {
		if ck.Name == "sketchmaker_oidc" {
			stateCookie = ck
		}
	}
	if res := c.Get(cb); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("first use: %d", res.StatusCode)
	}

	// The same answer again, even with the state cookie put back, finds no open flow.
	replay := app.Client(t)
	replay.HTTP.Jar.SetCookies(u, []*http.Cookie{stateCookie})
	if res := replay.Get(cb); res.StatusCode != http.StatusUnauthorized || acctSignedIn(replay) {
		t.Fatalf("replayed answer: %d", res.StatusCode)
	}
	if !acctAudit(app.App, "login_failure", `"reason":"state_unknown"`) {
		t.Fatal("replayed answer not audited as state_unknown")
	}

	// The used code inside a fresh flow is refused by the provider.
	fresh := app.Client(t)
	q, _ := url.ParseQuery(strings.SplitN(acctProvider(t, fresh, "/auth/google/login"), "?", 2)[1])
	old, _ := url.ParseQuery(strings.SplitN(cb, "?", 2)[1])
	res := fresh.Get("/auth/google/callback?code=" + url.QueryEscape(old.Get("code")) +
		"&state=" + url.QueryEscape(q.Get("state")))
	if res.StatusCode != http.StatusUnauthorized || acctSignedIn(fresh) {
		t.Fatalf("replayed code: %d", res.StatusCode)
	}
	if !acctAudit(app.App, "login_failure", `"reason":"code_exchange_failed"`) {
		t.Fatal("replayed code not audited")
	}
}

func TestAccountsProviderLinksOnlyAfterThePassword(t *testing.T) {
	app, _ := newOIDCApp(t, nil)
	owner := acctUser(t, app.App, "jane.doe@example.com", role.User)

	// Someone signing in with a provider identity for the address of an existing account
	// does not get into it.
	c := app.Client(t)
	res := c.Get(acctProvider(t, c, "/auth/google/login"))
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?linking=google" {
		t.Fatalf("callback for an existing address: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if acctSignedIn(c) {
		t.Fatal("a provider sign-in took over an existing account")
	}
	if page := string(c.Get("/login?linking=google").Body); !strings.Contains(page,
		"Sign in with your password once to link Google") {
		t.Fatal("the sign-in page does not ask for the password to link")
	}

	acctSignIn(t, c, "jane.doe@example.com", goodPassword)
	if !acctAudit(app.App, "identity_linked", `"provider":"google"`) {
		t.Fatal("identity_linked not audited")
	}
	app.SMTP.Wait(t, "jane.doe@example.com", "sign-in method was linked")

	// From now on the provider signs in to the owner's account directly.
	next := app.Client(t)
	res = next.Get(acctProvider(t, next, "/auth/google/login"))
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("linked sign-in: %d", res.StatusCode)
	}
	if next.UserID() != owner {
		t.Fatal("the linked sign-in went to another account")
	}
}

func TestAccountsAddedProviderHasItsOwnButton(t *testing.T) {
	app, m := newOIDCApp(t, nil)
	if err := app.SignIn.SaveProvider(context.Background(), signinInput(m), 1); err != nil {
		t.Fatal(err)
	}
	c := app.Client(t)
	if page := string(c.Get("/login").Body); !strings.Contains(page, "Sign in with Keycloak") ||
		!strings.Contains(page, "Sign in with Google") {
		t.Fatal("the providers lack their buttons")
	}
	cb := acctProvider(t, c, "/auth/oidc/keycloak/login")
	if !strings.HasPrefix(cb, "/auth/oidc/keycloak/callback?") {
		t.Fatalf("callback %q", cb)
	}
	if res := c.Get(cb); res.StatusCode != http.StatusSeeOther || !acctSignedIn(c) {
		t.Fatalf("keycloak sign-in: %d %s", res.StatusCode, res.Body)
	}
}
