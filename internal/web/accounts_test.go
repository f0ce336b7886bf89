package web_test

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/role"
	"github.com/sketchmaker/sketchmaker/internal/totp"
)

const acctNewPassword = "a brand new secret 9"

func TestAccountsWelcomeMailOverSMTP(t *testing.T) {
	app := newMailApp(t, nil)
	app.Client(t).Register("wendy@example.com", goodPassword)
	m := app.SMTP.Wait(t, "wendy@example.com", "Welcome")
	if !strings.Contains(m.HTML, "<html") || !strings.Contains(m.Text, "/login") {
		t.Fatalf("welcome mail: %+v", m)
	}
}

func TestAccountsEmailVerification(t *testing.T) {
	app := newMailApp(t, map[string]string{"REQUIRE_EMAIL_VERIFICATION": "true"})
	c := app.Client(t)
	res := c.PostForm("/register", url.Values{"email": {"vera@example.com"},
		"password": {goodPassword}})
	if res.StatusCode != http.StatusOK || !strings.Contains(string(res.Body), "Check your email") {
		t.Fatalf("register: %d %s", res.StatusCode, res.Body)
	}
	if acctSignedIn(c) {
		t.Fatal("registration signed in although the address must be confirmed first")
	}

	// An unconfirmed account signs in but cannot generate.
	acctSignIn(t, c, "vera@example.com", goodPassword)
	if page := c.Get("/dashboard"); !strings.Contains(string(page.Body), "Confirm your email") {
		t.Fatal("no banner on the dashboard")
	}
	gen := c.PostJSON("/generate/image", map[string]any{"prompt": "a red fox"})
	if gen.StatusCode != http.StatusForbidden ||
		!strings.Contains(gen.JSON()["error"].(string), "Confirm your email address") {
		t.Fatalf("generate unconfirmed: %d %s", gen.StatusCode, gen.Body)
	}

	m := app.SMTP.Wait(t, "vera@example.com", "Confirm your email address")
	link := m.Link("/verify-email")
	res = acctConfirm(t, c, link)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/settings" {
		t.Fatalf("confirm: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if !acctAudit(app.App, "email_verified") {
		t.Fatal("email_verified not audited")
	}
	if p := c.Get("/api/user/profile").JSON(); p["email_verified"] != true {
		t.Fatalf("profile after confirming: %v", p)
	}
	gen = c.PostJSON("/generate/image", map[string]any{"prompt": "a red fox", "async": true})
	if gen.StatusCode != http.StatusAccepted {
		t.Fatalf("generate after confirming: %d %s", gen.StatusCode, gen.Body)
	}

	// The link worked once.
	if again := c.Get(acctPath(t, link)); again.StatusCode != http.StatusNotFound {
		t.Fatalf("used link: %d", again.StatusCode)
	}
}

func TestAccountsVerificationResendIsLimited(t *testing.T) {
	app := newMailApp(t, map[string]string{"REQUIRE_EMAIL_VERIFICATION": "true"})
	c := app.Client(t)
	c.PostForm("/register", url.Values{"email": {"rex@example.com"}, "password": {goodPassword}})
	acctSignIn(t, c, "rex@example.com", goodPassword)
	// The registration sent one link; two more are allowed within the hour.
	for i := 0; i < 2; i++ {
		res := c.PostForm("/settings/verify/resend", url.Values{})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("resend %d: %d", i+1, res.StatusCode)
		}
	}
	res := c.PostForm("/settings/verify/resend", url.Values{})
	if res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("fourth link within the hour: %d", res.StatusCode)
	}
}

func TestAccountsPasswordReset(t *testing.T) {
	app := newMailApp(t, nil)
	acctUser(t, app.App, "rita@example.com", role.User)
	laptop, phone := app.Client(t), app.Client(t)
	acctSignIn(t, laptop, "rita@example.com", goodPassword)
	acctSignIn(t, phone, "rita@example.com", goodPassword)

	c := app.Client(t)
	res := c.PostForm("/forgot-password", url.Values{"email": {"Rita@Example.com"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/reset-password" {
		t.Fatalf("forgot: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	code := app.SMTP.Wait(t, "rita@example.com", "reset code").Code()
	if len(code) != 6 {
		t.Fatal("no code in the reset mail")
	}

	// The code works only in the browser that asked for it.
	other := app.Client(t)
	if res := other.PostForm("/reset-password", url.Values{"code": {code},
		"password": {acctNewPassword}}); res.StatusCode != http.StatusBadRequest {
		t.Fatalf("code in another browser: %d", res.StatusCode)
	}

	res = c.PostForm("/reset-password", url.Values{"code": {code}, "password": {acctNewPassword}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
		t.Fatalf("reset: %d %s", res.StatusCode, res.Body)
	}
	if acctSignedIn(laptop) || acctSignedIn(phone) {
		t.Fatal("an old session survived the reset")
	}
	if !acctAudit(app.App, "password_reset", `"stage":"done"`) {
		t.Fatal("password_reset not audited")
	}
	app.SMTP.Wait(t, "rita@example.com", "Your password was reset")

	// The used code fails; the new password works, the old does not.
	if res := c.PostForm("/forgot-password", url.Values{"email": {"rita@example.com"}}); res.StatusCode >= 500 {
		t.Fatalf("second reset request: %d", res.StatusCode)
	}
	again := c.PostForm("/reset-password", url.Values{"code": {code}, "password": {"third secret 33"}})
	if again.StatusCode != http.StatusBadRequest {
		t.Fatalf("used code: %d", again.StatusCode)
	}
	if res := c.PostForm("/login", url.Values{"email": {"rita@example.com"},
		"password": {goodPassword}}); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("old password: %d", res.StatusCode)
	}
	acctSignIn(t, c, "rita@example.com", acctNewPassword)
}

func TestAccountsResetCodeTriesAndExpiry(t *testing.T) {
	app := newMailApp(t, nil)
	acctUser(t, app.App, "sam@example.com", role.User)
	c := app.Client(t)
	c.PostForm("/forgot-password", url.Values{"email": {"sam@example.com"}})
	code := app.SMTP.Wait(t, "sam@example.com", "reset code").Code()
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	for i := 1; i <= 5; i++ {
		res := c.PostForm("/reset-password", url.Values{"code": {wrong}, "password": {acctNewPassword}})
		if res.StatusCode != http.StatusBadRequest {
			t.Fatalf("wrong try %d: %d", i, res.StatusCode)
		}
	}
	res := c.PostForm("/reset-password", url.Values{"code": {code}, "password": {acctNewPassword}})
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("the sixth try worked with the right code: %d", res.StatusCode)
	}

	// An expired code fails.
	c2 := app.Client(t)
	c2.PostForm("/forgot-password", url.Values{"email": {"sam@example.com"}})
	msgs := app.SMTP.Messages()
	code = msgs[len(msgs)-1].Code()
	if _, err := app.DB.ExecContext(context.Background(), `UPDATE password_resets
		SET expires_at = ? WHERE used_at = 0`, time.Now().Add(-time.Second).UnixMilli()); err != nil {
		t.Fatal(err)
	}
	res = c2.PostForm("/reset-password", url.Values{"code": {code}, "password": {acctNewPassword}})
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("expired code: %d", res.StatusCode)
	}
	acctSignIn(t, app.Client(t), "sam@example.com", goodPassword)
}

func TestAccountsPasswordChange(t *testing.T) {
	app := newMailApp(t, nil)
	acctUser(t, app.App, "pia@example.com", role.User)
	c, other := app.Client(t), app.Client(t)
	acctSignIn(t, c, "pia@example.com", goodPassword)
	acctSignIn(t, other, "pia@example.com", goodPassword)

	res := c.PostForm("/settings/password", url.Values{"current_password": {"not it at all 1"},
		"password": {acctNewPassword}})
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("wrong current password: %d", res.StatusCode)
	}
	res = c.PostForm("/settings/password", url.Values{"current_password": {goodPassword},
		"password": {acctNewPassword}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("change: %d %s", res.StatusCode, res.Body)
	}
	if !acctSignedIn(c) || acctSignedIn(other) {
		t.Fatal("a password change must keep this session and end the others")
	}
	if !acctAudit(app.App, "password_change") {
		t.Fatal("password_change not audited")
	}
	app.SMTP.Wait(t, "pia@example.com", "Your password was changed")
}

func TestAccountsLockoutMail(t *testing.T) {
	app := newMailApp(t, nil)
	acctUser(t, app.App, "lou@example.com", role.User)
	c := app.Client(t)
	for i := 0; i < 6; i++ {
		c.PostForm("/login", url.Values{"email": {"lou@example.com"}, "password": {"wrong guess 12"}})
	}
	m := app.SMTP.Wait(t, "lou@example.com", "was locked")
	if !strings.Contains(m.Text, "5 failed sign-in attempts") {
		t.Fatalf("lock mail: %s", m.Text)
	}
	if !acctAudit(app.App, "login_failure", `"reason":"wrong_password"`, `"attempts":5`) ||
		!acctAudit(app.App, "account_locked") ||
		!acctAudit(app.App, "login_failure", `"reason":"locked"`) {
		t.Fatal("the failures lack their reasons and counts, or the lock is not audited")
	}
	if n := app.SMTP.Count("lou@example.com"); n != 1 {
		t.Fatalf("%d messages, want one lock mail", n)
	}
}

func TestAccountsApproval(t *testing.T) {
	app := newMailApp(t, map[string]string{"REQUIRE_APPROVAL": "true"})
	c := app.Client(t)
	res := c.PostForm("/register", url.Values{"email": {"abe@example.com"}, "password": {goodPassword}})
	if res.StatusCode != http.StatusOK || !strings.Contains(string(res.Body), "administrator will review") {
		t.Fatalf("register: %d %s", res.StatusCode, res.Body)
	}
	res = c.PostForm("/login", url.Values{"email": {"abe@example.com"}, "password": {goodPassword}})
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(string(res.Body),
		"waiting for an administrator") {
		t.Fatalf("pending sign-in: %d %s", res.StatusCode, res.Body)
	}

	u, _ := app.Accounts.ByEmail(context.Background(), "abe@example.com")
	if _, err := app.Accounts.Approve(context.Background(), u.ID); err != nil {
		t.Fatal(err)
	}
	app.SMTP.Wait(t, "abe@example.com", "approved")
	acctSignIn(t, c, "abe@example.com", goodPassword)
}

func TestAccountsSessionsPage(t *testing.T) {
	app := newMailApp(t, nil)
	acctUser(t, app.App, "sid@example.com", role.User)
	c, other := app.Client(t), app.Client(t)
	acctSignInAs(t, c, "sid@example.com", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "+
		"(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36")
	acctSignInAs(t, other, "sid@example.com", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like "+
		"Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")

	page := string(c.Get("/settings").Body)
	for _, want := range []string{"Chrome on Linux", "Safari on iPhone", "(this browser)"} {
		if !strings.Contains(page, want) {
			t.Fatalf("sessions page lacks %q", want)
		}
	}
	var otherID string
	revokeRE := regexp.MustCompile(`/settings/sessions/([A-Za-z0-9_-]+)/revoke`)
	for _, row := range strings.Split(page, "<tr>") {
		if m := revokeRE.FindStringSubmatch(row); m != nil && strings.Contains(row, "iPhone") {
			otherID = m[1]
		}
	}
	res := c.PostForm("/settings/sessions/"+otherID+"/revoke", url.Values{})
	if res.StatusCode != http.StatusSeeOther || acctSignedIn(other) || !acctSignedIn(c) {
		t.Fatalf("revoke one: %d other=%v", res.StatusCode, acctSignedIn(other))
	}

	third := app.Client(t)
	acctSignIn(t, third, "sid@example.com", goodPassword)
	res = c.PostForm("/settings/sessions/revoke-others", url.Values{})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke others: %d", res.StatusCode)
	}
	if acctSignedIn(third) || !acctSignedIn(c) {
		t.Fatal("revoke others ended the wrong sessions")
	}
	if !acctAudit(app.App, "session_revoked", `"reason":"revoked_by_owner"`) ||
		!acctAudit(app.App, "session_revoked", `"reason":"revoke_others"`) {
		t.Fatal("session_revoked not audited")
	}
}

// signInAs signs c in with a given user agent.
func acctSignInAs(t *testing.T, cl *clientT, email, ua string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, cl.App.URL+"/login", strings.NewReader(
		url.Values{"email": {email}, "password": {goodPassword}, "csrf_token": {cl.CSRF()}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", ua)
	if res := cl.Do(req); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in with %q: %d", ua, res.StatusCode)
	}
}

func TestAccountsTwoFactor(t *testing.T) {
	app := newMailApp(t, nil)
	acctUser(t, app.App, "tia@example.com", role.User)
	c := app.Client(t)
	acctSignIn(t, c, "tia@example.com", goodPassword)

	secretKey, _ := acctEnrol(t, c)
	app.SMTP.Wait(t, "tia@example.com", "Two-factor sign-in is on")
	if !acctAudit(app.App, "two_factor_enabled") {
		t.Fatal("two_factor_enabled not audited")
	}

	if res := c.PostForm("/logout", url.Values{}); res.Header.Get("Clear-Site-Data") != `"cache"` {
		t.Errorf("sign-out left the browser's cache: Clear-Site-Data %q",
			res.Header.Get("Clear-Site-Data"))
	}
	res := c.PostForm("/login", url.Values{"email": {"tia@example.com"},
		"password": {goodPassword}, "next": {"/gallery"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login/two-factor" {
		t.Fatalf("password step: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if acctSignedIn(c) {
		t.Fatal("signed in before the second factor")
	}
	res = c.PostForm("/login/two-factor", url.Values{"code": {"12345x"}})
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("wrong code: %d", res.StatusCode)
	}
	// The code of the next time step (the current one was used to turn it on).
	next := totp.Default.Generate(secretKey, time.Now().Add(30*time.Second))
	res = c.PostForm("/login/two-factor", url.Values{"code": {next}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/gallery" {
		t.Fatalf("second step: %d %s %s", res.StatusCode, res.Header.Get("Location"), res.Body)
	}
	if !acctSignedIn(c) || !acctAudit(app.App, "login_success", `"second_factor":"totp"`) {
		t.Fatal("not signed in after the second factor")
	}
}

var (
	acctSecretRE   = regexp.MustCompile(`<code class="secret">([A-Z2-7]+)</code>`)
	acctRecoveryRE = regexp.MustCompile(`<li><code>([a-z2-7]{5}-[a-z2-7]{5})</code></li>`)
)

// acctEnrol turns on two-factor sign-in for c through the settings pages and returns the
// secret read from the page and the recovery codes shown.
func acctEnrol(t *testing.T, c *clientT) ([]byte, []string) {
	t.Helper()
	res := c.PostForm("/settings/two-factor/setup", url.Values{})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("setup: %d %s", res.StatusCode, res.Body)
	}
	page := c.Get("/settings/two-factor").Body
	m := acctSecretRE.FindSubmatch(page)
	if m == nil || !strings.Contains(string(page), `src="data:image/png;base64,`) ||
		!strings.Contains(string(page), "otpauth://totp/") {
		t.Fatalf("enrolment page without QR code or secret: %s", page)
	}
	secretKey, err := totp.DecodeSecret(string(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	res = c.PostForm("/settings/two-factor/enable", url.Values{
		"code": {totp.Default.Generate(secretKey, time.Now())}})
	found := acctRecoveryRE.FindAllSubmatch(res.Body, -1)
	if res.StatusCode != http.StatusOK || len(found) != 10 {
		t.Fatalf("enable: %d, %d recovery codes", res.StatusCode, len(found))
	}
	codes := make([]string, len(found))
	for i, m := range found {
		codes[i] = string(m[1])
	}
	return secretKey, codes
}

func TestAccountsRecoveryCodeWorksOnce(t *testing.T) {
	app := newMailApp(t, nil)
	acctUser(t, app.App, "rae@example.com", role.User)
	c := app.Client(t)
	acctSignIn(t, c, "rae@example.com", goodPassword)
	c.PostForm("/settings/two-factor/setup", url.Values{})
	m := acctSecretRE.FindSubmatch(c.Get("/settings/two-factor").Body)
	sec, _ := totp.DecodeSecret(string(m[1]))
	res := c.PostForm("/settings/two-factor/enable", url.Values{
		"code": {totp.Default.Generate(sec, time.Now())}})
	code := string(acctRecoveryRE.FindSubmatch(res.Body)[1])

	for i, want := range []int{http.StatusSeeOther, http.StatusBadRequest} {
		b := app.Client(t)
		res := b.PostForm("/login", url.Values{"email": {"rae@example.com"}, "password": {goodPassword}})
		if res.Header.Get("Location") != "/login/two-factor" {
			t.Fatalf("round %d: password step went to %q", i, res.Header.Get("Location"))
		}
		res = b.PostForm("/login/two-factor", url.Values{"code": {code}})
		if res.StatusCode != want {
			t.Fatalf("round %d: recovery code answered %d, want %d", i, res.StatusCode, want)
		}
	}
}

func TestAccountsAdminsNeedTwoFactorWhenRequired(t *testing.T) {
	app := newMailApp(t, map[string]string{"REQUIRE_ADMIN_2FA": "true"})
	acctUser(t, app.App, "root@example.com", role.Superadmin)
	c := app.Client(t)
	res := acctSignIn(t, c, "root@example.com", goodPassword)
	if res.Header.Get("Location") != "/settings/two-factor" {
		t.Fatalf("admin without 2FA went to %q", res.Header.Get("Location"))
	}
	if res := c.Get("/admin/outbox"); res.StatusCode != http.StatusForbidden ||
		!strings.Contains(string(res.Body), "two-factor") {
		t.Fatalf("admin page before enrolling: %d", res.StatusCode)
	}
	if res := c.Get("/dashboard"); res.StatusCode != http.StatusOK {
		t.Fatalf("user pages before enrolling: %d", res.StatusCode)
	}
	_, _ = acctEnrol(t, c)
	if res := c.Get("/admin/outbox"); res.StatusCode != http.StatusOK {
		t.Fatalf("admin page after enrolling: %d", res.StatusCode)
	}
}

func TestAccountsProfileEmailChangeAndDelete(t *testing.T) {
	app := newMailApp(t, nil)
	c := app.Client(t)
	c.Register("old@example.com", goodPassword)
	uid := c.UserID()
	// Style training, whose uploads the deletion must remove, needs the professional plan.
	if err := app.Credits.SetPlan(context.Background(), uid, "professional", 0,
		"test"); err != nil {
		t.Fatal(err)
	}

	res := c.PostForm("/settings/profile", url.Values{"username": {"Olga"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("rename: %d", res.StatusCode)
	}
	res = c.PostForm("/settings/email", url.Values{"email": {"new@example.com"},
		"current_password": {goodPassword}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("email change: %d %s", res.StatusCode, res.Body)
	}
	if p := c.Get("/api/user/profile").JSON(); p["email"] != "old@example.com" || p["username"] != "Olga" {
		t.Fatalf("profile before confirming: %v", p)
	}
	link := app.SMTP.Wait(t, "new@example.com", "Confirm your new email address").Link("/verify-email")
	if res := acctConfirm(t, c, link); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirm change: %d", res.StatusCode)
	}
	if p := c.Get("/api/user/profile").JSON(); p["email"] != "new@example.com" {
		t.Fatalf("profile after confirming: %v", p)
	}
	app.SMTP.Wait(t, "old@example.com", "Your email address was changed")
	if !acctAudit(app.App, "email_changed") {
		t.Fatal("email_changed not audited")
	}

	gen := c.PostJSON("/generate/image", map[string]any{"prompt": "a small boat"})
	if gen.StatusCode != http.StatusOK {
		t.Fatalf("generate: %d %s", gen.StatusCode, gen.Body)
	}
	up := upload(t, c, part{"sketch.png", noisePNG(t, 64, 48)})
	if up.StatusCode != http.StatusOK {
		t.Fatalf("upload: %d %s", up.StatusCode, up.Body)
	}
	res = c.PostForm("/settings/delete", url.Values{"current_password": {"wrong one 123"}})
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("delete with a wrong password: %d", res.StatusCode)
	}
	res = c.PostForm("/settings/delete", url.Values{"current_password": {goodPassword}})
	if res.StatusCode != http.StatusSeeOther || acctSignedIn(c) {
		t.Fatalf("delete: %d", res.StatusCode)
	}
	if got := res.Header.Get("Clear-Site-Data"); got != `"cache"` {
		t.Errorf("deletion asked the browser to clear %q, want its cache", got)
	}
	ctx := context.Background()
	var images, ledger int
	_ = app.DB.GetContext(ctx, &images, app.DB.Rebind(`SELECT COUNT(*) FROM images WHERE user_id = ?`), uid)
	_ = app.DB.GetContext(ctx, &ledger, app.DB.Rebind(`SELECT COUNT(*) FROM credit_ledger
		WHERE user_id = ?`), uid)
	if images != 0 || ledger == 0 {
		t.Fatalf("after deletion: %d images, %d ledger rows", images, ledger)
	}
	var prompts int
	_ = app.DB.GetContext(ctx, &prompts, app.DB.Rebind(`SELECT COUNT(*) FROM jobs
		WHERE user_id = ? AND input LIKE ?`), uid, "%small boat%")
	if prompts != 0 {
		t.Fatalf("%d jobs still hold the deleted account's prompt", prompts)
	}
	if left := storedFiles(t, app.App); len(left) != 0 {
		t.Fatalf("files left of the images and uploads: %v",
			slices.Sorted(maps.Keys(left)))
	}
	if !acctAudit(app.App, "user_deleted", `"by":"owner"`) {
		t.Fatal("user_deleted not audited")
	}
}

func TestAccountsOutboxWithoutSMTP(t *testing.T) {
	app := newMailAppWithoutSMTP(t)
	app.Client(t).Register("olly@example.com", goodPassword)
	acctUser(t, app, "root@example.com", role.Superadmin)
	acctUser(t, app, "admin@example.com", role.Admin)

	admin := app.Client(t)
	acctSignIn(t, admin, "admin@example.com", goodPassword)
	if res := admin.Get("/admin/outbox"); res.StatusCode != http.StatusForbidden {
		t.Fatalf("an admin opened the outbox: %d", res.StatusCode)
	}
	root := app.Client(t)
	acctSignIn(t, root, "root@example.com", goodPassword)
	res := root.Get("/admin/outbox")
	if res.StatusCode != http.StatusOK || !strings.Contains(string(res.Body), "olly@example.com") ||
		!strings.Contains(string(res.Body), "held") {
		t.Fatalf("outbox: %d %s", res.StatusCode, res.Body)
	}
	msg := root.Get("/admin/outbox/1")
	if msg.StatusCode != http.StatusOK || !strings.Contains(string(msg.Body), "Welcome") {
		t.Fatalf("outbox message: %d", msg.StatusCode)
	}
}
