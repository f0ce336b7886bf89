package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/sketchmaker/sketchmaker/internal/account"
	"github.com/sketchmaker/sketchmaker/internal/apptest"
	"github.com/sketchmaker/sketchmaker/internal/mail/mailtest"
	"github.com/sketchmaker/sketchmaker/internal/role"
	"github.com/sketchmaker/sketchmaker/internal/secret"
	"github.com/sketchmaker/sketchmaker/internal/signin"
)

// mailApp is SketchMaker delivering its mail to a real SMTP server inside the test.
type mailApp struct {
	*apptest.App
	SMTP *mailtest.Server
}

// newMailApp starts an SMTP server and the app configured to send to it, with rate limits
// off (these tests send many requests from one address) and an encryption key, which
// two-factor sign-in needs. env adds or overrides variables.
func newMailApp(t testing.TB, env map[string]string) *mailApp {
	t.Helper()
	srv := mailtest.Start(t, mailtest.Options{})
	all := map[string]string{
		"SMTP_HOST": srv.Host, "SMTP_PORT": strconv.Itoa(srv.Port), "SMTP_TLS": "none",
		"SMTP_FROM":              "SketchMaker <studio@example.com>",
		"API_KEY_ENCRYPTION_KEY": secret.GenerateKey(),
		"API_RATE_LIMIT_ENABLED": "false",
	}
	for k, v := range env {
		all[k] = v
	}
	return &mailApp{App: apptest.NewWith(t, apptest.Options{Env: all}), SMTP: srv}
}

// pathOf returns the path and query of a link from a mail, to follow it on the test server.
func acctPath(t testing.TB, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil || link == "" {
		t.Fatalf("not a link: %q", link)
	}
	return u.RequestURI()
}

// createUser makes an account directly and returns its id.
func acctUser(t testing.TB, app *apptest.App, email string, r role.Role) int64 {
	t.Helper()
	u, err := app.Accounts.Create(context.Background(), account.NewUser{Email: email,
		Password: goodPassword, Role: r})
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// signIn signs c in with the password and checks the redirect.
func acctSignIn(t testing.TB, c *apptest.Client, email, pw string) *apptest.Response {
	t.Helper()
	res := c.PostForm("/login", url.Values{"email": {email}, "password": {pw}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in %s: status %d: %s", email, res.StatusCode, res.Body)
	}
	return res
}

// signedIn reports whether c's session works.
func acctSignedIn(c *apptest.Client) bool {
	return c.Get("/api/user/profile").StatusCode == http.StatusOK
}

// hasAudit reports whether the audit lines hold an event of type with every detail given
// as "key":value JSON fragments.
func acctAudit(app *apptest.App, event string, fragments ...string) bool {
	for _, line := range strings.Split(app.Audit.String(), "\n") {
		if !strings.Contains(line, `"event_type":"`+event+`"`) {
			continue
		}
		ok := true
		for _, f := range fragments {
			ok = ok && strings.Contains(line, f)
		}
		if ok {
			return true
		}
	}
	return false
}

var acctTokenRE = regexp.MustCompile(`name="token" value="([^"]+)"`)

// confirmLink opens a confirmation link and presses its button.
func acctConfirm(t testing.TB, c *apptest.Client, link string) *apptest.Response {
	t.Helper()
	page := c.Get(acctPath(t, link))
	m := acctTokenRE.FindSubmatch(page.Body)
	if page.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("confirmation page: %d %s", page.StatusCode, page.Body)
	}
	return c.PostForm("/verify-email", url.Values{"token": {string(m[1])}})
}

// clientT is the test client.
type clientT = apptest.Client

// newMailAppWithoutSMTP starts the app with no SMTP server, so mail stays in the outbox.
func newMailAppWithoutSMTP(t testing.TB) *apptest.App {
	t.Helper()
	return apptest.NewWith(t, apptest.Options{Env: map[string]string{
		"API_RATE_LIMIT_ENABLED": "false"}})
}

// signinInput is a second provider at the test provider's issuer.
func signinInput(m *mockoidc.MockOIDC) signin.ProviderInput {
	return signin.ProviderInput{Slug: "keycloak", Name: "Keycloak", Issuer: m.Issuer(),
		ClientID: m.ClientID, ClientSecret: m.ClientSecret, Enabled: true}
}
