package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/apptest"
)

const goodPassword = "correct horse 42"

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	app := apptest.New(t)
	c := app.Client(t)
	for _, path := range []string{"/", "/login", "/static/app.css", "/no/such/page",
		"/api/gallery", "/healthz"} {
		res := c.Get(path)
		h := res.Header
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "object-src 'none'",
			"base-uri 'self'", "form-action 'self'", "frame-ancestors 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "http") {
			t.Errorf("%s: CSP allows inline code or another origin: %q", path, csp)
		}
		checks := map[string]string{
			"X-Frame-Options":        "SAMEORIGIN",
			"X-Content-Type-Options": "nosniff",
			"Referrer-Policy":        "strict-origin-when-cross-origin",
		}
		for k, v := range checks {
			if h.Get(k) != v {
				t.Errorf("%s: %s = %q, want %q", path, k, h.Get(k), v)
			}
		}
		if h.Get("Permissions-Policy") == "" {
			t.Errorf("%s: no Permissions-Policy", path)
		}
		if h.Get("Strict-Transport-Security") != "" {
			t.Errorf("%s: HSTS sent over plain HTTP", path)
		}
	}
}

func TestHSTSAndSecureCookiesOverHTTPS(t *testing.T) {
	app := apptest.NewWith(t, apptest.Options{Env: map[string]string{
		"SKETCHMAKER_BASE_URL": "https://studio.example"}})
	res := app.Client(t).Get("/login")
	if !strings.Contains(res.Header.Get("Strict-Transport-Security"), "max-age=") {
		t.Fatal("no HSTS when the site is served over HTTPS")
	}
	for _, c := range res.Cookies() {
		if !c.Secure || !strings.HasPrefix(c.Name, "__Host-") || !c.HttpOnly {
			t.Errorf("cookie %s: Secure=%v HttpOnly=%v", c.Name, c.Secure, c.HttpOnly)
		}
	}
}

func TestRegisterLoginLogout(t *testing.T) {
	app := apptest.New(t)
	c := app.Client(t)
	c.Register("Ada@Example.COM ", goodPassword)

	res := c.Get("/api/user/profile")
	p := res.JSON()
	if p["email"] != "ada@example.com" || p["role"] != "user" || p["credits"] != 3.0 {
		t.Fatalf("profile after registration = %v", p)
	}

	// The same address in another spelling is the same account.
	other := app.Client(t)
	res = other.PostForm("/register", url.Values{"email": {"ADA@example.com"},
		"password": {goodPassword}})
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("duplicate registration: status %d", res.StatusCode)
	}

	res = c.PostForm("/logout", url.Values{})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: status %d", res.StatusCode)
	}
	if res := c.Get("/api/user/profile"); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("profile after logout: status %d", res.StatusCode)
	}

	res = c.PostForm("/login", url.Values{"email": {"ada@example.com"},
		"password": {goodPassword}, "next": {"/gallery"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/gallery" {
		t.Fatalf("login: status %d location %q", res.StatusCode, res.Header.Get("Location"))
	}
	for _, ev := range []string{"registration", "logout", "login_success"} {
		if !strings.Contains(app.Audit.String(), `"event_type":"`+ev+`"`) {
			t.Errorf("audit lines lack %s", ev)
		}
	}
	if strings.Contains(app.Audit.String(), goodPassword) {
		t.Fatal("a password reached the audit log")
	}
}

func TestSessionFixationAndCookieFlags(t *testing.T) {
	app := apptest.New(t)
	c := app.Client(t)
	c.Register("fix@example.com", goodPassword)
	u, _ := url.Parse(app.URL)
	before := sessionCookie(c, u)
	if before == "" {
		t.Fatal("no session cookie after registration")
	}
	c.PostForm("/logout", url.Values{})
	c.PostForm("/login", url.Values{"email": {"fix@example.com"}, "password": {goodPassword}})
	after := sessionCookie(c, u)
	if after == "" || after == before {
		t.Fatalf("session id not renewed at sign-in: %q then %q", before, after)
	}

	// The old cookie signs nobody in.
	old := app.Client(t)
	old.HTTP.Jar.SetCookies(u, []*http.Cookie{{Name: "sketchmaker_session", Value: before}})
	if res := old.Get("/api/user/profile"); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("old session still works: %d", res.StatusCode)
	}

	res := app.Client(t).PostForm("/login", url.Values{"email": {"fix@example.com"},
		"password": {goodPassword}})
	for _, ck := range res.Cookies() {
		if ck.Name == "sketchmaker_session" &&
			(!ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode) {
			t.Fatalf("session cookie flags: HttpOnly=%v SameSite=%v", ck.HttpOnly, ck.SameSite)
		}
	}
}

func sessionCookie(c *apptest.Client, u *url.URL) string {
	for _, ck := range c.HTTP.Jar.Cookies(u) {
		if ck.Name == "sketchmaker_session" {
			return ck.Value
		}
	}
	return ""
}

func TestLoginAnswersAlikeForUnknownAndWrong(t *testing.T) {
	app := apptest.New(t)
	app.Client(t).Register("known@example.com", goodPassword)

	unknown := app.Client(t).PostForm("/login", url.Values{
		"email": {"nobody@example.com"}, "password": {goodPassword}})
	wrong := app.Client(t).PostForm("/login", url.Values{
		"email": {"known@example.com"}, "password": {"wrong password 1"}})
	if unknown.StatusCode != wrong.StatusCode || unknown.StatusCode != http.StatusUnauthorized {
		t.Fatalf("statuses differ: unknown %d, wrong %d", unknown.StatusCode, wrong.StatusCode)
	}
	if !strings.Contains(string(unknown.Body), "The email or password is incorrect.") ||
		!strings.Contains(string(wrong.Body), "The email or password is incorrect.") {
		t.Fatal("the failure message differs or is missing")
	}
	// An unknown address costs a bcrypt comparison too.
	before := app.Hasher.Calls()
	app.Client(t).PostForm("/login", url.Values{"email": {"ghost@example.com"},
		"password": {"whatever 123"}})
	if app.Hasher.Calls() <= before {
		t.Fatal("an unknown email skipped the password hash")
	}
}

func TestPasswordRules(t *testing.T) {
	raw, err := os.ReadFile("../../../shared/testdata/attacks/bcrypt_passwords.json")
	if err != nil {
		t.Skip("shared test data not found: ", err)
	}
	var pw struct {
		P73   string `json:"p73_ascii"`
		P72   string `json:"p72_prefix_of_p73"`
		Multi string `json:"p_multibyte_27chars"`
	}
	if err := json.Unmarshal(raw, &pw); err != nil || len(pw.P73) != 73 || len(pw.P72) != 72 {
		t.Fatalf("unexpected bcrypt_passwords.json: %v", err)
	}

	app := apptest.New(t)
	for i, long := range []string{pw.P73, pw.Multi} {
		res := app.Client(t).PostForm("/register", url.Values{
			"email": {fmt.Sprintf("long%d@example.com", i)}, "password": {long}})
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(res.Body), "72 bytes") {
			t.Errorf("%d-byte password: status %d, want 400 naming the 72-byte limit",
				len(long), res.StatusCode)
		}
	}

	c := app.Client(t)
	c.Register("exact@example.com", pw.P72)
	res := app.Client(t).PostForm("/login", url.Values{"email": {"exact@example.com"},
		"password": {pw.P73}})
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("73-byte attempt against a 72-byte password: status %d", res.StatusCode)
	}
	res = app.Client(t).PostForm("/login", url.Values{"email": {"exact@example.com"},
		"password": {pw.P72}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("72-byte password sign-in: status %d", res.StatusCode)
	}

	for _, weak := range []string{"short1", "alllowercase", "password123", ""} {
		res := app.Client(t).PostForm("/register", url.Values{
			"email": {"weak@example.com"}, "password": {weak}})
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("weak password %q: status %d", weak, res.StatusCode)
		}
	}
}

func TestCSRF(t *testing.T) {
	app := apptest.New(t)
	c := app.Client(t)
	c.Register("csrf@example.com", goodPassword)
	body := []byte(`{"prompt":"a red boat"}`)

	cases := []struct {
		name, contentType, token string
		want                     int
	}{
		{"no token", "application/json", "", http.StatusForbidden},
		{"forged token", "application/json", "bm90LWEtdG9rZW4", http.StatusForbidden},
		{"text/plain with token", "text/plain", c.CSRF(), http.StatusUnsupportedMediaType},
		{"form with token", "application/x-www-form-urlencoded", c.CSRF(),
			http.StatusUnsupportedMediaType},
	}
	for _, tc := range cases {
		res := c.Send(http.MethodPost, "/generate/image", tc.contentType, body, tc.token)
		if res.StatusCode != tc.want {
			t.Errorf("%s: status %d, want %d: %s", tc.name, res.StatusCode, tc.want, res.Body)
		}
	}

	// A token from another session does not work here.
	other := app.Client(t)
	other.Register("other@example.com", goodPassword)
	res := c.Send(http.MethodPost, "/generate/image", "application/json", body, other.CSRF())
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("another session's token: status %d", res.StatusCode)
	}

	// A cross-site browser post is refused even with a token.
	req, _ := http.NewRequest(http.MethodPost, app.URL+"/generate/image",
		strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", "https://evil.example")
	if res := c.Do(req); res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site post: status %d", res.StatusCode)
	}

	if n := countImages(t, app); n != 0 {
		t.Fatalf("%d images stored by refused requests", n)
	}
	if got := c.JSONCredits(); got != 3 {
		t.Fatalf("credits after refused requests = %v, want 3", got)
	}
	if !strings.Contains(app.Audit.String(), `"event_type":"csrf_failure"`) {
		t.Fatal("CSRF failures are not audited")
	}
}

func countImages(t *testing.T, app *apptest.App) int {
	var n int
	if err := app.DB.GetContext(context.Background(), &n, "SELECT COUNT(*) FROM images"); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestStaleCSRFTokenRefused(t *testing.T) {
	app := apptest.NewWith(t, apptest.Options{Env: map[string]string{"WTF_CSRF_TIME_LIMIT": "60"}})
	c := app.Client(t)
	c.Register("stale@example.com", goodPassword)
	tok := c.CSRF()
	// Sign out and in again: the token belonged to the old session.
	c.PostForm("/logout", url.Values{})
	c.PostForm("/login", url.Values{"email": {"stale@example.com"}, "password": {goodPassword}})
	res := c.Send(http.MethodPost, "/generate/image", "application/json",
		[]byte(`{"prompt":"x"}`), tok)
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("token of an ended session: status %d", res.StatusCode)
	}
}

func TestParallelGenerationsNeverOverspend(t *testing.T) {
	app := apptest.New(t)
	c := app.Client(t)
	c.Register("race@example.com", goodPassword)
	tok := c.CSRF()

	var wg sync.WaitGroup
	statuses := make(chan int, 50)
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			body := fmt.Sprintf(`{"prompt":"parallel %d","image_size":"square"}`, i)
			res := c.Send(http.MethodPost, "/generate/image", "application/json",
				[]byte(body), tok)
			statuses <- res.StatusCode
		}(i)
	}
	wg.Wait()
	close(statuses)

	counts := map[int]int{}
	for s := range statuses {
		counts[s]++
	}
	if counts[http.StatusOK] != 3 || counts[http.StatusPaymentRequired] != 47 {
		t.Fatalf("statuses = %v, want 3×200 and 47×402", counts)
	}
	if n := countImages(t, app); n != 3 {
		t.Fatalf("%d images stored, want 3", n)
	}
	if got := c.JSONCredits(); got != 0 {
		t.Fatalf("balance = %v, want 0", got)
	}
}
