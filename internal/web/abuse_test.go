package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/account"
	"github.com/sketchmaker/sketchmaker/internal/apptest"
	"github.com/sketchmaker/sketchmaker/internal/role"
)

// limitedApp starts SketchMaker with the rate limits switched on and env applied.
func limitedApp(t *testing.T, env map[string]string) *apptest.App {
	t.Helper()
	// Limits per hour rather than per minute: a rate refills continuously, and a slow run
	// (the race detector on a loaded machine) must not see a refill mid-test.
	all := map[string]string{"API_RATE_LIMIT_ENABLED": "true",
		"RATE_LIMIT_LOGIN_ATTEMPTS": "5 per hour"}
	for k, v := range env {
		all[k] = v
	}
	return apptest.NewWith(t, apptest.Options{Env: all})
}

// headerTransport adds a header to every request, like a client or proxy that sets
// X-Forwarded-For, and may dial from another loopback address.
type headerTransport struct {
	base   *http.Transport
	header string
	value  string
}

func (h *headerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if h.value != "" {
		req = req.Clone(req.Context())
		req.Header.Set(h.header, h.value)
	}
	return h.base.RoundTrip(req)
}

// forwardedFor makes c send X-Forwarded-For: xff, from the loopback address from when not
// empty (Linux answers every 127/8 address).
func forwardedFor(c *apptest.Client, xff, from string) *headerTransport {
	base := &http.Transport{}
	if from != "" {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		base.DialContext = d.DialContext
	}
	ht := &headerTransport{base: base, header: "X-Forwarded-For", value: xff}
	c.HTTP.Transport = ht
	return ht
}

// newUser creates an account directly, without spending a sign-in attempt.
func newUser(t *testing.T, app *apptest.App, email string, r role.Role) {
	t.Helper()
	_, err := app.Accounts.Create(context.Background(), account.NewUser{Email: email,
		Password: goodPassword, Role: r})
	if err != nil {
		t.Fatal(err)
	}
}

// signIn signs c in as email.
func signIn(t *testing.T, c *apptest.Client, email string) {
	t.Helper()
	res := c.PostForm("/login", url.Values{"email": {email}, "password": {goodPassword}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in as %s: status %d", email, res.StatusCode)
	}
}

// postLogin posts a sign-in form to target (a path, possibly spelled oddly) with token.
func postLogin(c *apptest.Client, target, email, pw, token string) *apptest.Response {
	c.T.Helper()
	body := url.Values{"email": {email}, "password": {pw}, "csrf_token": {token}}.Encode()
	req, _ := http.NewRequest(http.MethodPost, c.App.URL+"/", strings.NewReader(body))
	u, err := url.Parse(c.App.URL + target)
	if err != nil {
		c.T.Fatal(err)
	}
	req.URL = u
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.Do(req)
}

// checkRefused checks a 429 answer: Retry-After and the RateLimit-* headers, in the JSON
// error shape for API clients and as the error page otherwise.
func checkRefused(t *testing.T, what string, res *apptest.Response, limit int, asJSON bool) {
	t.Helper()
	if res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("%s: status %d, want 429: %.300s", what, res.StatusCode, res.Body)
	}
	h := res.Header
	if n, err := strconv.Atoi(h.Get("Retry-After")); err != nil || n < 1 {
		t.Errorf("%s: Retry-After %q", what, h.Get("Retry-After"))
	}
	if h.Get("RateLimit-Limit") != strconv.Itoa(limit) || h.Get("RateLimit-Remaining") != "0" ||
		h.Get("RateLimit-Reset") == "" {
		t.Errorf("%s: RateLimit headers %q %q %q", what, h.Get("RateLimit-Limit"),
			h.Get("RateLimit-Remaining"), h.Get("RateLimit-Reset"))
	}
	if asJSON {
		body := res.JSON()
		if body["type"] != "rate_limited" || body["code"] != float64(429) ||
			body["request_id"] == "" || !strings.Contains(fmt.Sprint(body["error"]), "Try again") {
			t.Errorf("%s: JSON body %s", what, res.Body)
		}
		return
	}
	if !strings.Contains(h.Get("Content-Type"), "text/html") ||
		!strings.Contains(string(res.Body), "Too many requests") {
		t.Errorf("%s: want the error page, got %s: %.200s", what, h.Get("Content-Type"),
			res.Body)
	}
}

func TestAbuseImageGenerationLimit(t *testing.T) {
	app := limitedApp(t, map[string]string{"RATE_LIMIT_IMAGE_GENERATION": "2 per hour"})
	c := app.Client(t)
	c.Register("gen@example.com", goodPassword)
	tok := c.CSRF()

	body := []byte(`{"prompt":"a lighthouse at dusk","image_size":"square"}`)
	for i := range 2 {
		res := c.Send(http.MethodPost, "/generate/image", "application/json", body, tok)
		if res.StatusCode != http.StatusOK || res.Header.Get("RateLimit-Limit") != "2" ||
			res.Header.Get("RateLimit-Remaining") != strconv.Itoa(1-i) {
			t.Fatalf("generation %d: status %d, remaining %q", i+1, res.StatusCode,
				res.Header.Get("RateLimit-Remaining"))
		}
	}
	res := c.Send(http.MethodPost, "/generate/image", "application/json", body, tok)
	checkRefused(t, "third generation", res, 2, true)
	if got := c.JSONCredits(); got != 1 {
		t.Errorf("credits after a refused generation = %v, want 1", got)
	}

	// The address is counted as well as the user: another account from it is refused too.
	other := app.Client(t)
	newUser(t, app, "gen2@example.com", role.User)
	signIn(t, other, "gen2@example.com")
	res = other.Send(http.MethodPost, "/generate/image", "application/json", body,
		other.CSRF())
	checkRefused(t, "another user from the same address", res, 2, true)
}

func TestAbuseAPICallsLimit(t *testing.T) {
	app := limitedApp(t, map[string]string{"RATE_LIMIT_API_CALLS": "3 per hour",
		"TRUSTED_PROXIES": "127.0.0.1/32"})
	c := app.Client(t)
	newUser(t, app, "api@example.com", role.User)
	signIn(t, c, "api@example.com")

	ht := forwardedFor(c, "198.51.100.1", "")
	for i := range 3 {
		if res := c.Get("/api/user/profile"); res.StatusCode != http.StatusOK {
			t.Fatalf("call %d: %d", i+1, res.StatusCode)
		}
	}
	checkRefused(t, "fourth call", c.Get("/api/user/profile"), 3, true)
	checkRefused(t, "another API route", c.Get("/api/gallery"), 3, true)

	// The user is counted wherever they come from.
	ht.value = "198.51.100.2"
	checkRefused(t, "the same user from another address", c.Get("/api/user/profile"), 3, true)

	// Pages are not API calls.
	if res := c.Get("/gallery"); res.StatusCode != http.StatusOK {
		t.Errorf("a page after the API limit: %d", res.StatusCode)
	}
}

// TestAbuseLoginLimits checks the strict limit per account and address, and the looser one
// per address that lets an office behind one address sign in.
func TestAbuseLoginLimits(t *testing.T) {
	app := limitedApp(t, map[string]string{"RATE_LIMIT_LOGIN_ATTEMPTS": "3 per hour",
		"RATE_LIMIT_LOGIN_IP": "6 per hour", "FAILED_LOGIN_THRESHOLD": "100"})
	newUser(t, app, "ann@example.com", role.User)
	newUser(t, app, "bob@example.com", role.User)
	c := app.Client(t)
	tok := c.CSRF()

	for i := range 3 {
		res := postLogin(c, "/login", "ann@example.com", "wrong password "+strconv.Itoa(i), tok)
		if res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("attempt %d at ann: %d", i+1, res.StatusCode)
		}
	}
	before := app.Hasher.Calls()
	checkRefused(t, "fourth attempt at ann", postLogin(c, "/login", "ANN@example.com",
		goodPassword, tok), 3, false)
	if app.Hasher.Calls() != before {
		t.Error("a refused attempt reached password hashing")
	}

	// Another account from the same address still works, up to the per-address limit.
	if res := postLogin(c, "/login", "bob@example.com", goodPassword, tok); res.StatusCode !=
		http.StatusSeeOther {
		t.Fatalf("bob from the same address: %d", res.StatusCode)
	}
	d := app.Client(t)
	dt := d.CSRF()
	postLogin(d, "/login", "bob@example.com", "wrong password", dt)
	res := postLogin(d, "/login", "bob@example.com", "wrong password", dt)
	checkRefused(t, "seventh sign-in post from one address", res, 6, false)

	// JSON sign-ins get the JSON shape.
	j := app.Client(t)
	res = j.Send(http.MethodPost, "/login", "application/json",
		[]byte(`{"email":"bob@example.com","password":"x"}`), j.CSRF())
	checkRefused(t, "JSON sign-in", res, 6, true)
}

// TestAbusePathSpellings checks that no spelling of the sign-in path escapes its limit: each
// either counts under the route or never reaches the handler.
func TestAbusePathSpellings(t *testing.T) {
	app := limitedApp(t, map[string]string{"RATE_LIMIT_LOGIN_IP": "2 per hour"})
	newUser(t, app, "ann@example.com", role.User)
	c := app.Client(t)
	tok := c.CSRF()

	// Two spellings that reach the handler share one counter.
	if res := postLogin(c, "/%6Cogin", "ann@example.com", "wrong 1", tok); res.StatusCode !=
		http.StatusUnauthorized {
		t.Fatalf("/%%6Cogin: %d, want it to reach the sign-in handler", res.StatusCode)
	}
	if res := postLogin(c, "/login?x=1", "ann@example.com", "wrong 2", tok); res.StatusCode !=
		http.StatusUnauthorized {
		t.Fatalf("/login?x=1: %d", res.StatusCode)
	}

	before := app.Hasher.Calls()
	variants := []struct {
		target string
		want   []int
	}{
		{"/login", []int{http.StatusTooManyRequests}},
		{"/login?x=1", []int{http.StatusTooManyRequests}},
		{"/login?next=/dashboard&x=%0d%0a", []int{http.StatusTooManyRequests}},
		{"/%6Cogin", []int{http.StatusTooManyRequests}},
		{"/login/", []int{http.StatusNotFound}},
		{"//login", []int{http.StatusTooManyRequests, http.StatusMovedPermanently}},
		{"/./login", []int{http.StatusTooManyRequests, http.StatusMovedPermanently}},
		{"/x/../login", []int{http.StatusTooManyRequests, http.StatusMovedPermanently}},
		{"/LOGIN", []int{http.StatusNotFound}},
		{"/Login", []int{http.StatusNotFound}},
		{"/login%2F", []int{http.StatusNotFound}},
	}
	for _, v := range variants {
		res := postLogin(c, v.target, "ann@example.com", goodPassword, tok)
		ok := false
		for _, s := range v.want {
			ok = ok || res.StatusCode == s
		}
		if !ok {
			t.Errorf("POST %s: status %d, want one of %v", v.target, res.StatusCode, v.want)
		}
		if res.StatusCode == http.StatusMovedPermanently &&
			res.Header.Get("Location") != "/login" {
			t.Errorf("POST %s redirects to %q", v.target, res.Header.Get("Location"))
		}
	}
	if app.Hasher.Calls() != before {
		t.Errorf("%d odd spellings reached password hashing", app.Hasher.Calls()-before)
	}
	if strings.Contains(app.Audit.String(), `"event_type":"login_success"`) {
		t.Error("a spelling of the path signed in past the limit")
	}
}

// auditLines returns the audit trail's JSON lines of one event type.
func auditLines(t *testing.T, app *apptest.App, eventType string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(app.Audit.String()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("audit line %q is not JSON: %v", sc.Text(), err)
		}
		if m["event_type"] == eventType {
			out = append(out, m)
		}
	}
	return out
}

func TestAbuseForwardedFor(t *testing.T) {
	untrusted := limitedApp(t, map[string]string{"RATE_LIMIT_LOGIN_IP": "2 per hour"})
	trusted := limitedApp(t, map[string]string{"RATE_LIMIT_LOGIN_IP": "2 per hour",
		"TRUSTED_PROXIES": "127.0.0.1/32, 10.0.0.0/8"})
	tests := []struct {
		name string
		app  *apptest.App
		xff  string
		want string
	}{
		{"no trusted proxy ignores the header", untrusted, "203.0.113.9", "127.0.0.1"},
		{"a trusted peer's header names the client", trusted, "203.0.113.9", "203.0.113.9"},
		{"the rightmost untrusted entry wins", trusted, "198.51.100.1, 203.0.113.8",
			"203.0.113.8"},
		{"trusted hops are skipped", trusted, "198.51.100.1, 203.0.113.7, 10.1.2.3",
			"203.0.113.7"},
		{"garbage stops at the last good address", trusted, "203.0.113.6, nonsense",
			"127.0.0.1"},
	}
	for i, tt := range tests {
		c := tt.app.Client(t)
		forwardedFor(c, tt.xff, "")
		email := fmt.Sprintf("case%d@example.com", i)
		postLogin(c, "/login", email, "whatever 123", c.CSRF())

		var got []any
		for _, line := range auditLines(t, tt.app, "login_failure") {
			if line["details"].(map[string]any)["email"] == email {
				got = append(got, line["ip_address"])
			}
		}
		if len(got) != 1 || got[0] != tt.want {
			t.Errorf("%s: audited address %v, want %s", tt.name, got, tt.want)
		}
	}

	// Limits follow the resolved address: spoofed headers from an untrusted peer share one
	// counter, which the case above used once; a trusted proxy's clients each have their own.
	for _, app := range []*apptest.App{untrusted, trusted} {
		statuses := []int{}
		for i := range 2 {
			c := app.Client(t)
			forwardedFor(c, fmt.Sprintf("192.0.2.%d", i+1), "")
			statuses = append(statuses, postLogin(c, "/login", "x@example.com", "pw 123",
				c.CSRF()).StatusCode)
		}
		limited := statuses[1] == http.StatusTooManyRequests
		if limited != (app == untrusted) {
			t.Errorf("trusted proxies %v: statuses %v", app.Config.TrustedProxies, statuses)
		}
	}
}

// TestAbuseBlockedAddressNeverHashes checks that an address over the violation threshold is
// answered 403 before any session or password work, that the block is audited once, and
// that an administrator can see and lift it.
func TestAbuseBlockedAddressNeverHashes(t *testing.T) {
	app := limitedApp(t, map[string]string{"TRUSTED_PROXIES": "127.0.0.1/32",
		"RATE_LIMIT_LOGIN_IP": "1 per hour", "RATE_LIMIT_THRESHOLD": "2"})
	newUser(t, app, "ann@example.com", role.User)
	newUser(t, app, "root@example.com", role.Superadmin)
	attacker := app.Client(t)
	forwardedFor(attacker, "203.0.113.66", "")
	tok := attacker.CSRF()

	if res := postLogin(attacker, "/login", "ann@example.com", "guess 1", tok); res.StatusCode !=
		http.StatusUnauthorized {
		t.Fatalf("first attempt: %d", res.StatusCode)
	}
	for i := range 2 {
		if res := postLogin(attacker, "/login", "ann@example.com", "guess", tok); res.StatusCode !=
			http.StatusTooManyRequests {
			t.Fatalf("refusal %d: %d", i+1, res.StatusCode)
		}
	}

	before := app.Hasher.Calls()
	for i := range 5 {
		res := postLogin(attacker, "/login", "ann@example.com", goodPassword, tok)
		if res.StatusCode != http.StatusForbidden || res.Header.Get("Retry-After") == "" {
			t.Fatalf("attempt %d from a blocked address: %d", i+1, res.StatusCode)
		}
	}
	if app.Hasher.Calls() != before {
		t.Fatalf("a blocked address reached password hashing %d times",
			app.Hasher.Calls()-before)
	}
	if res := attacker.Get("/api/user/profile"); res.StatusCode != http.StatusForbidden ||
		res.JSON()["type"] != "permission_error" {
		t.Errorf("API call from a blocked address: %d %s", res.StatusCode, res.Body)
	}
	if res := attacker.Get("/pricing"); res.StatusCode != http.StatusForbidden ||
		res.Header.Get("Content-Security-Policy") == "" {
		t.Errorf("page from a blocked address: %d, CSP %q", res.StatusCode,
			res.Header.Get("Content-Security-Policy"))
	}
	blocked := auditLines(t, app, "ip_blocked")
	if len(blocked) != 1 || blocked[0]["ip_address"] != "203.0.113.66" {
		t.Fatalf("ip_blocked events = %v, want one for 203.0.113.66", blocked)
	}

	admin := app.Client(t)
	forwardedFor(admin, "198.51.100.5", "")
	signIn(t, admin, "root@example.com")
	res := admin.Get("/admin/api/blocks")
	blocks, _ := res.JSON()["blocks"].([]any)
	if res.StatusCode != http.StatusOK || len(blocks) != 1 ||
		blocks[0].(map[string]any)["ip"] != "203.0.113.66" {
		t.Fatalf("blocks = %d %s", res.StatusCode, res.Body)
	}
	if page := admin.Get("/admin/security/blocks"); page.StatusCode != http.StatusOK ||
		!strings.Contains(string(page.Body), "203.0.113.66") ||
		!strings.Contains(string(page.Body), "open security alert") {
		t.Errorf("blocks page: %d, want the block and the alert banner", page.StatusCode)
	}
	res = admin.PostJSON("/admin/api/blocks/203.0.113.66/unblock", map[string]any{})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("unblock: %d %s", res.StatusCode, res.Body)
	}
	if res := attacker.Get("/login"); res.StatusCode != http.StatusOK {
		t.Errorf("after unblocking: %d", res.StatusCode)
	}
	if len(auditLines(t, app, "ip_unblocked")) != 1 {
		t.Error("the unblock was not audited")
	}
}

// TestAbuseBruteForce runs 2,000 sign-in attempts at one account from 200 spoofed
// X-Forwarded-For values through an untrusted peer. They are all limited as one client, the
// account locks after five, and another user behind a trusted proxy signs in throughout.
func TestAbuseBruteForce(t *testing.T) {
	app := limitedApp(t, map[string]string{"TRUSTED_PROXIES": "127.0.0.2/32"})
	newUser(t, app, "victim@example.com", role.User)
	newUser(t, app, "colleague@example.com", role.User)

	attacker := app.Client(t)
	spoof := forwardedFor(attacker, "", "")
	tok := attacker.CSRF()

	statuses := map[int]int{}
	hashed := 0
	signIns := 0
	for i := range 2000 {
		spoof.value = fmt.Sprintf("198.51.%d.%d", i%200/100, i%200)
		before := app.Hasher.Calls()
		res := postLogin(attacker, "/login", "victim@example.com", fmt.Sprintf("guess %d", i),
			tok)
		statuses[res.StatusCode]++
		if app.Hasher.Calls() != before {
			hashed++
		}
		if res.StatusCode == http.StatusSeeOther {
			t.Fatalf("attempt %d signed in", i)
		}

		if i%250 == 0 {
			colleague := app.Client(t)
			forwardedFor(colleague, "192.0.2.44", "127.0.0.2")
			signIn(t, colleague, "colleague@example.com")
			signIns++
		}
	}

	if hashed != 5 || statuses[http.StatusUnauthorized] != 5 {
		t.Errorf("%d attempts reached password hashing, %d answered 401; want 5 each",
			hashed, statuses[http.StatusUnauthorized])
	}
	if statuses[http.StatusTooManyRequests]+statuses[http.StatusForbidden] != 1995 {
		t.Errorf("statuses %v; want every attempt after the fifth limited or blocked", statuses)
	}
	if statuses[http.StatusForbidden] == 0 {
		t.Errorf("statuses %v; the attacker's address was never blocked", statuses)
	}
	if signIns != 8 {
		t.Errorf("the colleague signed in %d times, want 8", signIns)
	}

	u, err := app.Accounts.ByEmail(context.Background(), "victim@example.com")
	if err != nil || u.LockedUntil <= time.Now().UnixMilli() {
		t.Errorf("the victim's account is not locked: %+v %v", u, err)
	}
	if n := len(auditLines(t, app, "account_locked")); n != 1 {
		t.Errorf("%d account_locked events, want 1", n)
	}
	blocked := auditLines(t, app, "ip_blocked")
	if len(blocked) != 1 || blocked[0]["ip_address"] != "127.0.0.1" {
		t.Errorf("ip_blocked = %v, want one for the untrusted peer 127.0.0.1", blocked)
	}
	if strings.Contains(app.Audit.String(), `"ip_address":"198.51.`) {
		t.Error("a spoofed X-Forwarded-For value reached the audit trail as the client")
	}
}

func TestAbuseLoginEmailCannotForgeAuditLines(t *testing.T) {
	app := apptest.New(t)
	c := app.Client(t)
	email := "evil@example.com\r\n{\"event_type\":\"login_success\",\"user_id\":1}\n"
	before := strings.Count(app.Audit.String(), "\n")
	c.PostForm("/login", url.Values{"email": {email}, "password": {"whatever 123"}})

	out := app.Audit.String()
	if n := strings.Count(out, "\n") - before; n != 1 {
		t.Fatalf("the failed sign-in wrote %d lines, want 1:\n%s", n, out)
	}
	lines := auditLines(t, app, "login_failure")
	if len(lines) != 1 {
		t.Fatalf("%d login_failure lines", len(lines))
	}
	// What is not an address at all is not kept (it may be a pasted password).
	details, _ := lines[0]["details"].(map[string]any)
	if details["email"] != "(not an email address)" {
		t.Errorf("the typed text = %q, want it left out", details["email"])
	}
	if len(auditLines(t, app, "login_success")) != 0 {
		t.Error("a forged login_success line appeared")
	}
}

func TestAbuseSessionOfDisabledAccountRevoked(t *testing.T) {
	app := apptest.New(t)
	c := app.Client(t)
	c.Register("gone@example.com", goodPassword)
	id := c.UserID()
	if _, err := app.DB.ExecContext(context.Background(),
		app.DB.Rebind("UPDATE users SET status = 'disabled' WHERE id = ?"), id); err != nil {
		t.Fatal(err)
	}
	if res := c.Get("/api/user/profile"); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a disabled account's session: %d", res.StatusCode)
	}
	revoked := auditLines(t, app, "session_revoked")
	if len(revoked) != 1 || revoked[0]["user_id"] != float64(id) {
		t.Errorf("session_revoked = %v", revoked)
	}
}

// TestAbuseOtherLimits checks the limits of routes whose handlers other parts own: the
// second request within the period is refused before the handler runs, whatever the first
// one's outcome.
func TestAbuseOtherLimits(t *testing.T) {
	app := limitedApp(t, map[string]string{"RATE_LIMIT_PROMPT_ENHANCEMENT": "1 per hour",
		"RATE_LIMIT_TRAINING": "1 per hour", "RATE_LIMIT_PASSWORD_RESET": "1 per hour",
		"RATE_LIMIT_UPLOADS": "1 per hour"})
	c := app.Client(t)
	newUser(t, app, "pro@example.com", role.User)
	signIn(t, c, "pro@example.com")

	tests := []struct {
		name, path, contentType, body string
		json                          bool
	}{
		{"prompt enhancement", "/generate/prompt", "application/json",
			`{"topic":"a lighthouse"}`, true},
		{"training", "/api/training/start", "application/json", `{}`, true},
		{"upload", "/api/training/upload", "multipart/form-data; boundary=x",
			"--x--\r\n", true},
		{"password reset", "/forgot-password", "application/x-www-form-urlencoded",
			"email=pro%40example.com", false},
	}
	for _, tt := range tests {
		first := c.Send(http.MethodPost, tt.path, tt.contentType, []byte(tt.body), c.CSRF())
		if first.StatusCode == http.StatusTooManyRequests || first.StatusCode >= 500 {
			t.Errorf("%s: first request %d", tt.name, first.StatusCode)
		}
		second := c.Send(http.MethodPost, tt.path, tt.contentType, []byte(tt.body), c.CSRF())
		checkRefused(t, tt.name, second, 1, tt.json)
	}
}

// TestPasteOfAPasswordIsNotAudited signs in with a password typed into the email box:
// the failure is audited without it, and a mistyped address is still kept.
func TestPasteOfAPasswordIsNotAudited(t *testing.T) {
	app := apptest.New(t)
	c := app.Client(t)
	c.PostForm("/login", url.Values{"email": {"Hunter2-Secret-Pass!"},
		"password": {"whatever 12345"}})
	c.PostForm("/login", url.Values{"email": {"nobody@example.com"},
		"password": {"whatever 12345"}})
	if strings.Contains(app.Audit.String(), "Hunter2") {
		t.Fatal("the audit trail kept what was typed into the email box")
	}
	lines := auditLines(t, app, "login_failure")
	if len(lines) != 2 || !strings.Contains(app.Audit.String(), "nobody@example.com") {
		t.Fatalf("login failures audited: %v", lines)
	}
}
