package web_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/role"
	"github.com/sketchmaker/sketchmaker/internal/totp"
)

// acctEvilNext are next values that must never lead off the site.
var acctEvilNext = []string{"//evil.example", `/\evil.example`, "https://evil.example",
	"/%2F%2Fevil.example", "javascript:alert(1)"}

func TestAccountsOpenRedirect(t *testing.T) {
	app, _ := newOIDCApp(t, nil)
	acctUser(t, app.App, "olive@example.com", role.User)
	for _, next := range acctEvilNext {
		t.Run(next, func(t *testing.T) {
			// The password form.
			c := app.Client(t)
			res := c.PostForm("/login", url.Values{"email": {"olive@example.com"},
				"password": {goodPassword}, "next": {next}})
			if loc := res.Header.Get("Location"); loc != "/dashboard" {
				t.Errorf("password sign-in went to %q", loc)
			}
			// The sign-in page of someone signed in already.
			if loc := c.Get("/login?next=" + url.QueryEscape(next)).Header.Get("Location"); loc != "/dashboard" {
				t.Errorf("signed-in /login went to %q", loc)
			}
			// A provider sign-in.
			p := app.Client(t)
			res = p.Get(acctProvider(t, p, "/auth/google/login?next="+url.QueryEscape(next)))
			if loc := res.Header.Get("Location"); loc != "/dashboard" {
				t.Errorf("provider sign-in went to %q", loc)
			}
		})
	}
}

func TestAccountsOpenRedirectThroughTheSecondFactor(t *testing.T) {
	app := newMailApp(t, nil)
	acctUser(t, app.App, "otto@example.com", role.User)
	c := app.Client(t)
	acctSignIn(t, c, "otto@example.com", goodPassword)
	_, codes := acctEnrol(t, c)
	c.PostForm("/logout", url.Values{})

	for i, next := range acctEvilNext {
		b := app.Client(t)
		b.PostForm("/login", url.Values{"email": {"otto@example.com"},
			"password": {goodPassword}, "next": {next}})
		res := b.PostForm("/login/two-factor", url.Values{"code": {codes[i]}})
		if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther ||
			loc != "/dashboard" {
			t.Errorf("next %q: %d to %q", next, res.StatusCode, loc)
		}
	}
}

func TestAccountsSessionFixation(t *testing.T) {
	app, _ := newOIDCApp(t, nil)
	acctUser(t, app.App, "fay@example.com", role.User)
	u, _ := url.Parse(app.URL)

	cookie := func(c *clientT, name string) string {
		for _, ck := range c.HTTP.Jar.Cookies(u) {
			if ck.Name == name {
				return ck.Value
			}
		}
		return ""
	}

	// A session id planted before sign-in is not adopted, and the anonymous id goes.
	c := app.Client(t)
	const planted = "planted-by-attacker-0123456789abcdef"
	c.HTTP.Jar.SetCookies(u, []*http.Cookie{{Name: "sketchmaker_session", Value: planted}})
	c.Get("/login")
	anon := cookie(c, "sketchmaker_anon")
	acctSignIn(t, c, "fay@example.com", goodPassword)
	first := cookie(c, "sketchmaker_session")
	if first == "" || first == planted || cookie(c, "sketchmaker_anon") != "" {
		t.Fatalf("after sign-in: session %q, anon %q (was %q)", first, cookie(c, "sketchmaker_anon"), anon)
	}

	// Signing in again in the same browser, now with a provider, gives a new id and ends
	// the old session.
	res := c.Get(acctProvider(t, c, "/auth/google/login"))
	second := cookie(c, "sketchmaker_session")
	if res.StatusCode != http.StatusSeeOther || second == "" || second == first {
		t.Fatalf("provider sign-in kept the session id: %d", res.StatusCode)
	}
	old := app.Client(t)
	old.HTTP.Jar.SetCookies(u, []*http.Cookie{{Name: "sketchmaker_session", Value: first}})
	if acctSignedIn(old) {
		t.Fatal("the session before the second sign-in still works")
	}

	// With two-factor sign-in, the password step starts no session at all.
	tf := app.Client(t)
	acctSignIn(t, tf, "fay@example.com", goodPassword)
	sec, _ := acctEnrol(t, tf)
	before := cookie(tf, "sketchmaker_session")
	res = tf.PostForm("/login", url.Values{"email": {"fay@example.com"}, "password": {goodPassword}})
	if res.Header.Get("Location") != "/login/two-factor" {
		t.Fatalf("password step went to %q", res.Header.Get("Location"))
	}
	res = tf.PostForm("/login/two-factor", url.Values{"code": {totp.Default.Generate(sec,
		time.Now().Add(30*time.Second))}})
	after := cookie(tf, "sketchmaker_session")
	if res.StatusCode != http.StatusSeeOther || after == before || cookie(tf, "sketchmaker_2fa") != "" {
		t.Fatalf("second step: %d, session renewed %v", res.StatusCode, after != before)
	}
	stale := app.Client(t)
	stale.HTTP.Jar.SetCookies(u, []*http.Cookie{{Name: "sketchmaker_session", Value: before}})
	if acctSignedIn(stale) {
		t.Fatal("the session before the two-factor sign-in still works")
	}
}

func TestSignInGoesOnlyToPages(t *testing.T) {
	app := newMailApp(t, nil)
	acctUser(t, app.App, "page@example.com", role.User)
	for next, want := range map[string]string{
		"/logout":           "/dashboard", // a POST route: GET would answer 405
		"/settings/delete":  "/dashboard",
		"/no/such/page":     "/dashboard",
		"/gallery?page=2":   "/gallery?page=2",
		"/settings":         "/settings",
		"/api/user/profile": "/api/user/profile",
	} {
		c := app.Client(t)
		res := c.PostForm("/login", url.Values{"email": {"page@example.com"},
			"password": {goodPassword}, "next": {next}})
		if loc := res.Header.Get("Location"); loc != want {
			t.Errorf("next=%s: went to %q, want %q", next, loc, want)
		}
		if loc := c.Get("/login?next=" + url.QueryEscape(next)).Header.Get("Location"); loc != want {
			t.Errorf("signed in, /login?next=%s went to %q, want %q", next, loc, want)
		}
	}
}
