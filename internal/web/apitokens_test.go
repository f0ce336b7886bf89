package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/account"
	"github.com/sketchmaker/sketchmaker/internal/apptest"
	"github.com/sketchmaker/sketchmaker/internal/role"
)

var newTokenRE = regexp.MustCompile(`<code class="secret">(smk_[A-Za-z0-9_-]+)</code>`)

// createToken makes an API token through the settings form and returns its secret.
func createToken(t *testing.T, c *apptest.Client, name string) string {
	t.Helper()
	res := c.PostForm("/settings/api-tokens", url.Values{"name": {name},
		"expires_in_days": {"90"}})
	m := newTokenRE.FindSubmatch(res.Body)
	if res.StatusCode != http.StatusCreated || m == nil {
		t.Fatalf("create token: %d %s", res.StatusCode, res.Body)
	}
	return string(m[1])
}

// bearer sends a request with an API token and no cookies.
func bearer(t *testing.T, app *apptest.App, method, path, token string,
	body []byte) *apptest.Response {
	t.Helper()
	req, _ := http.NewRequest(method, app.URL+path, strings.NewReader(string(body)))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	return app.Client(t).Do(req)
}

// premiumUser registers a user on the premium plan, which includes API access.
func premiumUser(t *testing.T, app *apptest.App, email string) *apptest.Client {
	t.Helper()
	c := signedIn(t, app, email, 50)
	if err := app.Credits.SetPlan(context.Background(), c.UserID(), "premium", 0,
		"test"); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAPITokensOpenTheJSONAPIOnly(t *testing.T) {
	app := apptest.New(t)
	c := premiumUser(t, app, "script@example.com")
	secret := createToken(t, c, "nightly <export>")

	// The secret is shown once: the settings page lists the token by its start only.
	page := c.Get("/settings")
	if strings.Contains(string(page.Body), secret) ||
		!strings.Contains(string(page.Body), secret[:10]) ||
		!strings.Contains(string(page.Body), "nightly &lt;export&gt;") {
		t.Fatalf("settings page after creation: %s", page.Body)
	}
	if strings.Contains(app.Audit.String(), secret) ||
		!acctAudit(app, "api_token_created", `"name":"nightly \u003cexport\u003e"`) {
		t.Fatalf("audit: %s", app.Audit.String())
	}

	// The JSON API answers the token, with no cookie and no CSRF token.
	res := bearer(t, app, http.MethodGet, "/api/user/profile", secret, nil)
	if res.StatusCode != http.StatusOK || res.JSON()["email"] != "script@example.com" {
		t.Fatalf("profile by token: %d %s", res.StatusCode, res.Body)
	}
	body, _ := json.Marshal(map[string]any{"prompt": "a lighthouse at dusk"})
	res = bearer(t, app, http.MethodPost, "/generate/image", secret, body)
	if res.StatusCode != http.StatusOK || res.JSON()["credits_used"] == nil {
		t.Fatalf("generate by token: %d %s", res.StatusCode, res.Body)
	}
	if res := bearer(t, app, http.MethodGet, "/api/gallery", secret, nil); res.StatusCode !=
		http.StatusOK || !strings.Contains(string(res.Body), "a lighthouse at dusk") {
		t.Fatalf("gallery by token: %d %s", res.StatusCode, res.Body)
	}

	// Downloads of the caller's images take it too: a script fetches them next.
	var list struct {
		Images []struct {
			ID string `json:"id"`
		} `json:"images"`
	}
	_ = json.Unmarshal(bearer(t, app, http.MethodGet, "/api/gallery", secret, nil).Body, &list)
	if len(list.Images) != 1 {
		t.Fatalf("gallery by token lists %d images", len(list.Images))
	}
	res = bearer(t, app, http.MethodGet, "/download/"+list.Images[0].ID+"/webp", secret, nil)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "image/webp" {
		t.Fatalf("download by token: %d %v", res.StatusCode, res.Header)
	}

	// Pages and settings do not take it: a token cannot make tokens or sign anyone out.
	if res := bearer(t, app, http.MethodGet, "/gallery", secret, nil); res.StatusCode !=
		http.StatusSeeOther {
		t.Fatalf("gallery page by token: %d", res.StatusCode)
	}
	form := []byte(url.Values{"name": {"more"}, "expires_in_days": {"0"}}.Encode())
	req, _ := http.NewRequest(http.MethodPost, app.URL+"/settings/api-tokens",
		strings.NewReader(string(form)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+secret)
	if res := app.Client(t).Do(req); res.StatusCode < 400 || res.StatusCode >= 500 {
		t.Fatalf("token creating a token: %d", res.StatusCode)
	}
	if n := countTokens(t, app); n != 1 {
		t.Fatalf("%d tokens after a token tried to make one", n)
	}
}

func countTokens(t *testing.T, app *apptest.App) int {
	t.Helper()
	var n int
	if err := app.DB.GetContext(context.Background(), &n,
		"SELECT COUNT(*) FROM api_tokens"); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAPITokenRefusals(t *testing.T) {
	app := apptest.New(t)
	c := premiumUser(t, app, "tokens@example.com")
	secret := createToken(t, c, "laptop")

	// A mistyped or unknown token is refused with 401 and RFC 6750's header, even when the
	// same client also holds a valid session cookie.
	typo := secret[:len(secret)-2] + "zz"
	if typo == secret {
		typo = secret[:len(secret)-2] + "yy"
	}
	for _, tok := range []string{typo, "smk_short", "not-a-token"} {
		req, _ := http.NewRequest(http.MethodGet, app.URL+"/api/user/profile", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res := c.Do(req) // c carries the session cookie
		if res.StatusCode != http.StatusUnauthorized ||
			!strings.Contains(res.Header.Get("WWW-Authenticate"), "invalid_token") ||
			res.JSON()["type"] == nil {
			t.Fatalf("token %q: %d %v %s", tok, res.StatusCode, res.Header, res.Body)
		}
	}

	// The cookie alone still needs its CSRF token for a change.
	body, _ := json.Marshal(map[string]any{"prompt": "a quiet harbour"})
	res := c.Send(http.MethodPost, "/generate/image", "application/json", body, "")
	if msg, _ := res.JSON()["error"].(string); res.StatusCode != http.StatusForbidden ||
		!strings.Contains(msg, "X-CSRFToken") || !strings.Contains(msg, "Bearer") {
		t.Fatalf("cookie without CSRF: %d %s", res.StatusCode, res.Body)
	}

	// A plan without API access turns the token off until the plan includes it again.
	uid := c.UserID()
	if err := app.Credits.SetPlan(context.Background(), uid, "free", 0, "test"); err != nil {
		t.Fatal(err)
	}
	res = bearer(t, app, http.MethodGet, "/api/user/profile", secret, nil)
	if res.StatusCode != http.StatusForbidden ||
		!strings.Contains(res.JSON()["error"].(string), "plan does not include API access") {
		t.Fatalf("token on the free plan: %d %s", res.StatusCode, res.Body)
	}
	if res := c.PostForm("/settings/api-tokens", url.Values{"name": {"x"},
		"expires_in_days": {"30"}}); res.StatusCode != http.StatusForbidden {
		t.Fatalf("creating a token on the free plan: %d", res.StatusCode)
	}
	if err := app.Credits.SetPlan(context.Background(), uid, "premium", 0, "test"); err != nil {
		t.Fatal(err)
	}
	if res := bearer(t, app, http.MethodGet, "/api/user/profile", secret, nil); res.StatusCode !=
		http.StatusOK {
		t.Fatalf("token back on premium: %d", res.StatusCode)
	}

	// A disabled account's token is refused.
	if _, err := app.DB.ExecContext(context.Background(), app.DB.Rebind(
		`UPDATE users SET status = ? WHERE id = ?`), account.StatusDisabled, uid); err != nil {
		t.Fatal(err)
	}
	if res := bearer(t, app, http.MethodGet, "/api/user/profile", secret, nil); res.StatusCode !=
		http.StatusForbidden {
		t.Fatalf("token of a disabled account: %d", res.StatusCode)
	}
}

func TestAPITokenRevocation(t *testing.T) {
	app := apptest.New(t)
	c := premiumUser(t, app, "revoke@example.com")
	secret := createToken(t, c, "ci")
	other := premiumUser(t, app, "other@example.com")
	createToken(t, other, "theirs")

	var id string
	if err := app.DB.GetContext(context.Background(), &id, app.DB.Rebind(
		`SELECT id FROM api_tokens WHERE user_id = ?`), c.UserID()); err != nil {
		t.Fatal(err)
	}
	// Another user cannot revoke it, nor learn that it exists.
	if res := other.PostForm("/settings/api-tokens/"+id+"/revoke", url.Values{}); res.
		StatusCode != http.StatusNotFound {
		t.Fatalf("revoke by another user: %d", res.StatusCode)
	}
	if res := bearer(t, app, http.MethodGet, "/api/user/profile", secret, nil); res.StatusCode !=
		http.StatusOK {
		t.Fatalf("token after another user's attempt: %d", res.StatusCode)
	}

	res := c.PostForm("/settings/api-tokens/"+id+"/revoke", url.Values{})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %d %s", res.StatusCode, res.Body)
	}
	if res := bearer(t, app, http.MethodGet, "/api/user/profile", secret, nil); res.StatusCode !=
		http.StatusUnauthorized {
		t.Fatalf("revoked token: %d", res.StatusCode)
	}
	if !acctAudit(app, "api_token_revoked", `"name":"ci"`) {
		t.Fatal("revocation not audited")
	}
}

func TestAPITokensOfAdministrators(t *testing.T) {
	app := apptest.New(t)
	acctUser(t, app, "boss@example.com", role.Admin)
	admin := app.Client(t)
	acctSignIn(t, admin, "boss@example.com", goodPassword)
	// Administrators have API access whatever their plan, and their role's routes.
	secret := createToken(t, admin, "monitoring")
	if res := bearer(t, app, http.MethodGet, "/admin/api/status", secret, nil); res.
		StatusCode != http.StatusOK {
		t.Fatalf("admin API by token: %d %s", res.StatusCode, res.Body)
	}

	user := premiumUser(t, app, "plain@example.com")
	userSecret := createToken(t, user, "mine")

	// What the administrator changes with the token names it in the audit trail.
	var tokenID string
	if err := app.DB.GetContext(context.Background(), &tokenID, app.DB.Rebind(
		`SELECT id FROM api_tokens WHERE name = ?`), "monitoring"); err != nil {
		t.Fatal(err)
	}
	credits, _ := json.Marshal(map[string]any{"action": "add", "amount": 1, "reason": "bonus"})
	path := "/admin/api/users/" + strconv.FormatInt(user.UserID(), 10) + "/credits"
	if res := bearer(t, app, http.MethodPost, path, secret, credits); res.StatusCode !=
		http.StatusOK {
		t.Fatalf("credits by token: %d %s", res.StatusCode, res.Body)
	}
	if !acctAudit(app, "credits_changed", `"via_credential":"`+tokenID+`"`) {
		t.Fatalf("the credit change does not name the token: %s", app.Audit.String())
	}
	if res := bearer(t, app, http.MethodGet, "/admin/api/status", userSecret, nil); res.
		StatusCode != http.StatusForbidden {
		t.Fatalf("admin API by a user's token: %d", res.StatusCode)
	}
}

func TestAPITokenUploadsWithoutCSRF(t *testing.T) {
	app := apptest.New(t)
	c := signedIn(t, app, "uploader@example.com", 50) // professional: API and training
	secret := createToken(t, c, "uploader")
	body, ctype := multipartBody(t, part{"tiny.png", sharedFile(t, "attacks",
		"valid_tiny.png")})
	req, _ := http.NewRequest(http.MethodPost, app.URL+"/api/training/upload",
		strings.NewReader(string(body)))
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Authorization", "Bearer "+secret)
	if res := app.Client(t).Do(req); res.StatusCode != http.StatusOK {
		t.Fatalf("upload by token: %d %s", res.StatusCode, res.Body)
	}
}

func TestPasswordResetRevokesAPITokens(t *testing.T) {
	app := newMailApp(t, nil)
	uid := acctUser(t, app.App, "reset@example.com", role.User)
	if err := app.Credits.SetPlan(context.Background(), uid, "premium", 0, "t"); err != nil {
		t.Fatal(err)
	}
	c := app.Client(t)
	acctSignIn(t, c, "reset@example.com", goodPassword)
	secret := createToken(t, c, "before reset")

	r := app.Client(t)
	r.PostForm("/forgot-password", url.Values{"email": {"reset@example.com"}})
	code := app.SMTP.Wait(t, "reset@example.com", "reset code").Code()
	if res := r.PostForm("/reset-password", url.Values{"code": {code},
		"password": {acctNewPassword}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("reset: %d %s", res.StatusCode, res.Body)
	}
	if res := bearer(t, app.App, http.MethodGet, "/api/user/profile", secret, nil); res.
		StatusCode != http.StatusUnauthorized {
		t.Fatalf("token after a password reset: %d", res.StatusCode)
	}
}

func TestAPITokenHeaderForms(t *testing.T) {
	app := apptest.New(t)
	c := premiumUser(t, app, "headers@example.com")
	secret := createToken(t, c, "forms")
	body := []byte(`{"prompt":"a harbour at noon"}`)

	// A Bearer header decides alone, however it is spaced: a malformed one is refused
	// even beside a valid cookie and CSRF token, and spends nothing.
	before := c.JSONCredits()
	for _, h := range []string{"Bearer\tsmk_" + strings.Repeat("B", 43), "Bearer",
		"Bearer ", "bearer " + secret + "x", "BEARER  smk_x"} {
		req, _ := http.NewRequest(http.MethodPost, app.URL+"/generate/image",
			strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-CSRFToken", c.CSRF())
		req.Header.Set("Authorization", h)
		if res := c.Do(req); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("Authorization %q with a cookie: %d", h, res.StatusCode)
		}
	}
	if after := c.JSONCredits(); after != before {
		t.Fatalf("refused requests moved credits from %v to %v", before, after)
	}
	// A Bearer header behind another Authorization header is found, and refused.
	req, _ := http.NewRequest(http.MethodPost, app.URL+"/generate/image",
		strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRFToken", c.CSRF())
	req.Header.Add("Authorization", "Basic dXNlcjpwYXNz")
	req.Header.Add("Authorization", "Bearer smk_bad")
	if res := c.Do(req); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("a second, Bearer, Authorization header: %d", res.StatusCode)
	}

	// Any spacing or case of the scheme works with a good token.
	for _, h := range []string{"bearer " + secret, "BEARER\t" + secret, "Bearer   " + secret} {
		req, _ := http.NewRequest(http.MethodGet, app.URL+"/api/user/profile", nil)
		req.Header.Set("Authorization", h)
		if res := app.Client(t).Do(req); res.StatusCode != http.StatusOK {
			t.Errorf("Authorization %q: %d", h, res.StatusCode)
		}
	}
	// Another scheme (a proxy's Basic credentials) is not ours: the cookie decides.
	req, _ = http.NewRequest(http.MethodGet, app.URL+"/api/user/profile", nil)
	req.Header.Set("Authorization", "Basic dXNlcjpwYXNz")
	if res := c.Do(req); res.StatusCode != http.StatusOK {
		t.Fatalf("Basic credentials beside a cookie: %d", res.StatusCode)
	}
	// Errors carry their details object, empty when there is nothing to add.
	res := bearer(t, app, http.MethodGet, "/api/user/profile", "smk_nope", nil)
	if !strings.Contains(string(res.Body), `"details":{}`) {
		t.Fatalf("401 body: %s", res.Body)
	}
}

func TestAdministratorsEndATokensAccount(t *testing.T) {
	app := apptest.New(t)
	c := premiumUser(t, app, "held@example.com")
	uid := c.UserID()
	admin, _ := admAccount(t, app, "chief@example.com", role.Admin)
	id := strconv.FormatInt(uid, 10)

	// Deactivating ends the tokens, so reactivating does not bring them back.
	secret := createToken(t, c, "before deactivation")
	for _, step := range []string{"deactivate", "reactivate"} {
		if res := admin.PostForm("/admin/users/"+id+"/"+step, url.Values{}); res.
			StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: %d %s", step, res.StatusCode, res.Body)
		}
	}
	if res := bearer(t, app, http.MethodGet, "/api/user/profile", secret, nil); res.
		StatusCode != http.StatusUnauthorized {
		t.Fatalf("token after deactivation and reactivation: %d", res.StatusCode)
	}
	if !acctAudit(app, "user_deactivated", `"credentials_revoked":1`) {
		t.Fatal("the deactivation's audit does not count the tokens")
	}

	// "Sign out everywhere" ends tokens too.
	c = app.Client(t)
	acctSignIn(t, c, "held@example.com", goodPassword)
	secret = createToken(t, c, "before sign out")
	if res := admin.PostForm("/admin/users/"+id+"/sessions/revoke", url.Values{}); res.
		StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke sessions: %d", res.StatusCode)
	}
	if res := bearer(t, app, http.MethodGet, "/api/user/profile", secret, nil); res.
		StatusCode != http.StatusUnauthorized {
		t.Fatalf("token after sign out everywhere: %d", res.StatusCode)
	}
}

func TestWhatATokenDoesIsTracedToIt(t *testing.T) {
	app := apptest.New(t)
	c := signedIn(t, app, "traced@example.com", 20) // professional: API and training
	secret := createToken(t, c, "tracer")
	var id string
	if err := app.DB.GetContext(context.Background(), &id,
		"SELECT id FROM api_tokens"); err != nil {
		t.Fatal(err)
	}
	if !acctAudit(app, "api_token_created", `"credential_id":"`+id+`"`) {
		t.Fatalf("creation audit lacks the token id: %s", app.Audit.String())
	}

	// A share made with the token names it; the thumbnails the JSON links to open.
	body := []byte(`{"prompt":"a tin robot"}`)
	res := bearer(t, app, http.MethodPost, "/generate/image", secret, body)
	images, _ := res.JSON()["images"].([]any)
	if res.StatusCode != http.StatusOK || len(images) != 1 {
		t.Fatalf("generate: %d %s", res.StatusCode, res.Body)
	}
	imageID, _ := images[0].(map[string]any)["id"].(string)
	res = bearer(t, app, http.MethodPost, "/api/gallery/"+imageID+"/share", secret, nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("share with no body: %d %s", res.StatusCode, res.Body)
	}
	if !acctAudit(app, "image_shared", `"via_credential":"`+id+`"`) {
		t.Fatal("a share made with a token does not name it")
	}
	if res := bearer(t, app, http.MethodGet, "/images/"+imageID+"/thumb", secret, nil); res.
		StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "image/webp" {
		t.Fatalf("thumbnail by token: %d", res.StatusCode)
	}
}
