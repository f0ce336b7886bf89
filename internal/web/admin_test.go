package web_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/account"
	"github.com/sketchmaker/sketchmaker/internal/apptest"
	"github.com/sketchmaker/sketchmaker/internal/catalog"
	"github.com/sketchmaker/sketchmaker/internal/credit"
	"github.com/sketchmaker/sketchmaker/internal/generation"
	"github.com/sketchmaker/sketchmaker/internal/role"
	"github.com/sketchmaker/sketchmaker/internal/web"
)

// admXSS are the stored-XSS payloads of the issue: as a username and in a prompt.
const (
	admXSSImg   = `<img src=x onerror=alert(1)>`
	admXSSQuote = `a');alert(1);//`
)

// admEncryptionKey is a test value for API_KEY_ENCRYPTION_KEY (32 bytes in base64).
const admEncryptionKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

// admAccount creates an account of role r and returns a client signed in as it.
func admAccount(t *testing.T, app *apptest.App, email string, r role.Role) (*apptest.Client,
	*account.User) {
	t.Helper()
	u, err := app.Accounts.Create(context.Background(), account.NewUser{Email: email,
		Password: goodPassword, Role: r})
	if err != nil {
		t.Fatal(err)
	}
	c := app.Client(t)
	res := c.PostForm("/login", url.Values{"email": {email}, "password": {goodPassword}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in as %s: status %d", email, res.StatusCode)
	}
	return c, u
}

// admPath fills a route pattern's wildcards with ids.
func admPath(pattern string, ids map[string]string) (method, path string, ok bool) {
	method, path, _ = strings.Cut(pattern, " ")
	for prefix, id := range ids {
		if strings.HasPrefix(path, prefix+"/{id}") {
			path = strings.Replace(path, "{id}", id, 1)
		}
	}
	return method, path, !strings.Contains(path, "{")
}

func TestAdminRoutesNeedAdminPermissions(t *testing.T) {
	app := apptest.New(t)
	for _, rt := range web.Routes(app.Server) {
		_, path, _ := strings.Cut(rt.Pattern, " ")
		if !strings.HasPrefix(path, "/admin") {
			continue
		}
		if role.User.Can(rt.Perm) || rt.Perm == role.Public || rt.Perm == role.SignedIn {
			t.Errorf("%s needs only %q, which plain users hold", rt.Pattern, rt.Perm)
		}
	}
}

func TestAdminDenialExplainsAndIsAudited(t *testing.T) {
	app := apptest.New(t)
	c, u := admAccount(t, app, "plain@example.com", role.User)
	res := c.Get("/admin/users")
	if res.StatusCode != http.StatusForbidden ||
		!strings.Contains(string(res.Body), role.Describe(role.ViewUsers)) {
		t.Fatalf("user on /admin/users: %d\n%s", res.StatusCode, res.Body)
	}
	res = c.Get("/admin/api/status")
	if res.StatusCode != http.StatusForbidden || res.JSON()["type"] != "permission_error" {
		t.Fatalf("user on the admin API: %d %s", res.StatusCode, res.Body)
	}

	boss, _ := admAccount(t, app, "boss@example.com", role.Admin)
	if res := boss.Get("/admin/settings/security"); res.StatusCode != http.StatusForbidden ||
		!strings.Contains(string(res.Body), "superadmin") {
		t.Fatalf("admin on the security settings: %d", res.StatusCode)
	}
	lines := app.Audit.String()
	if !strings.Contains(lines, `"event_type":"permission_denied"`) ||
		!strings.Contains(lines, `"user_id":`+strconv.FormatInt(u.ID, 10)) {
		t.Fatalf("the refusals were not audited:\n%s", lines)
	}

	// Another user's resource is not found, not forbidden.
	if res := boss.Get("/admin/users/987654"); res.StatusCode != http.StatusNotFound {
		t.Fatalf("a missing account: %d", res.StatusCode)
	}
}

func TestAdminBoundariesOverHTTP(t *testing.T) {
	app := apptest.New(t)
	root, _ := admAccount(t, app, "root@example.com", role.Superadmin)
	boss, bossU := admAccount(t, app, "boss@example.com", role.Admin)
	_, other := admAccount(t, app, "other@example.com", role.Admin)
	alice, aliceU := admAccount(t, app, "alice@example.com", role.User)
	id := func(u *account.User) string { return strconv.FormatInt(u.ID, 10) }

	// An admin cannot raise their own credits, through the API or the page.
	res := boss.PostJSON("/admin/api/users/"+id(bossU)+"/credits",
		map[string]any{"action": "add", "amount": 1000, "reason": "me"})
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("admin adds own credits: %d %s", res.StatusCode, res.Body)
	}
	res = boss.PostForm("/admin/users/"+id(bossU)+"/credits", url.Values{"action": {"set"},
		"amount": {"999"}, "reason": {"me"}})
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("admin sets own credits by form: %d", res.StatusCode)
	}

	// An admin cannot act on another admin, and cannot change roles at all.
	res = boss.PostForm("/admin/users/"+id(other)+"/deactivate", url.Values{})
	if res.StatusCode != http.StatusForbidden ||
		!strings.Contains(string(res.Body), "plain user accounts") {
		t.Fatalf("admin deactivates an admin: %d", res.StatusCode)
	}
	res = boss.PostForm("/admin/users/"+id(aliceU)+"/role", url.Values{"role": {"admin"}})
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("admin grants admin: %d", res.StatusCode)
	}
	if u, _ := app.Accounts.ByID(context.Background(), aliceU.ID); u.Role != role.User {
		t.Fatalf("alice became %s", u.Role)
	}

	// The superadmin's role change signs alice out at once.
	if res := alice.Get("/api/user/profile"); res.StatusCode != http.StatusOK {
		t.Fatalf("alice before: %d", res.StatusCode)
	}
	res = root.PostForm("/admin/users/"+id(aliceU)+"/role", url.Values{"role": {"admin"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("superadmin grants admin: %d %s", res.StatusCode, res.Body)
	}
	if res := alice.Get("/api/user/profile"); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("alice's old session after her role changed: %d", res.StatusCode)
	}

	// Deactivation signs out too.
	bob, bobU := admAccount(t, app, "bob@example.com", role.User)
	res = boss.PostForm("/admin/users/"+id(bobU)+"/deactivate", url.Values{})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("admin deactivates a user: %d", res.StatusCode)
	}
	if res := bob.Get("/api/user/profile"); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("bob's session after deactivation: %d", res.StatusCode)
	}
	if !strings.Contains(app.Audit.String(), `"event_type":"role_change"`) {
		t.Fatal("role_change not audited")
	}
}

// TestAdminMassAssignment sends role, credits, is_admin, user_id and friends to the
// endpoints a plain user can reach; none of them changes anything.
func TestAdminMassAssignment(t *testing.T) {
	app := apptest.New(t)
	_, victim := admAccount(t, app, "victim@example.com", role.User)
	c := app.Client(t)
	hostile := map[string]any{"role": "superadmin", "credits": 1e6, "is_admin": true,
		"user_id": victim.ID, "id": victim.ID, "status": "active", "plan": "professional",
		"plan_id": 3, "email_verified": true, "failed_logins": -5}

	body := map[string]any{"email": "mallory@example.com", "password": goodPassword}
	for k, v := range hostile {
		body[k] = v
	}
	if res := c.PostJSON("/register", body); res.StatusCode != http.StatusCreated {
		t.Fatalf("register: %d %s", res.StatusCode, res.Body)
	}
	form := url.Values{"email": {"mallory2@example.com"}, "password": {goodPassword},
		"role": {"superadmin"}, "credits": {"1000000"}, "is_admin": {"true"},
		"user_id": {strconv.FormatInt(victim.ID, 10)}}
	if res := app.Client(t).PostForm("/register", form); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("register by form: %d", res.StatusCode)
	}
	for _, email := range []string{"mallory@example.com", "mallory2@example.com"} {
		u, err := app.Accounts.ByEmail(context.Background(), email)
		if err != nil || u.Role != role.User || u.Credits != 3000 {
			t.Fatalf("%s after a hostile registration: %+v %v", email, u, err)
		}
	}

	// A generation with someone else's user_id is still the caller's own.
	gen := map[string]any{"prompt": "a lighthouse", "async": true}
	for k, v := range hostile {
		gen[k] = v
	}
	res := c.PostJSON("/generate/image", gen)
	if res.StatusCode != http.StatusAccepted && res.StatusCode != http.StatusOK {
		t.Fatalf("generate: %d %s", res.StatusCode, res.Body)
	}
	if got, _ := app.Credits.Balance(context.Background(), victim.ID); got != 3000 {
		t.Fatalf("the victim paid: balance %s", got)
	}
	if res := c.Get("/admin/api/users"); res.StatusCode != http.StatusForbidden {
		t.Fatalf("a hostile user on the admin API: %d", res.StatusCode)
	}

	// Every other state-changing route a signed-in user can reach, as JSON and as a form.
	mallory, _ := app.Accounts.ByEmail(context.Background(), "mallory@example.com")
	form = url.Values{}
	for k, v := range hostile {
		form.Set(k, fmtAny(v))
	}
	jsonBody, _ := json.Marshal(hostile)
	for _, rt := range web.Routes(app.Server) {
		method, path, _ := strings.Cut(rt.Pattern, " ")
		if method == http.MethodGet || strings.HasPrefix(path, "/admin") ||
			path == "/logout" || rt.Perm == role.Public {
			continue
		}
		path = strings.NewReplacer("{id}", strconv.FormatInt(victim.ID, 10),
			"{provider}", "google").Replace(path)
		c.Send(method, path, "application/json", jsonBody, c.CSRF())
		c.Send(method, path, "application/x-www-form-urlencoded",
			[]byte(form.Encode()), c.CSRF())
	}

	after, err := app.Accounts.ByID(context.Background(), mallory.ID)
	if err != nil || after.Role != role.User || after.Credits > mallory.Credits ||
		after.Status != account.StatusActive || *after.PlanID != *mallory.PlanID {
		t.Fatalf("mallory after the attempts: %+v (before %+v) %v", after, mallory, err)
	}
	v, err := app.Accounts.ByID(context.Background(), victim.ID)
	if err != nil || v.Role != victim.Role || v.Credits != victim.Credits ||
		v.Email != victim.Email || v.Status != victim.Status {
		t.Fatalf("the victim after the attempts: %+v %v", v, err)
	}
}

// fmtAny writes a JSON value as form text.
func fmtAny(v any) string {
	b, _ := json.Marshal(v)
	return strings.Trim(string(b), `"`)
}

// admSeedXSS stores the payloads where admin pages show them: usernames, a prompt, a
// ledger reason. It returns the victim's id.
func admSeedXSS(t *testing.T, app *apptest.App, root *account.User) int64 {
	t.Helper()
	victim := app.Client(t)
	res := victim.PostForm("/register", url.Values{"email": {"victim@example.com"},
		"password": {goodPassword}, "username": {admXSSImg}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("register the victim: %d %s", res.StatusCode, res.Body)
	}
	res = app.Client(t).PostForm("/register", url.Values{"email": {"quote@example.com"},
		"password": {goodPassword}, "username": {admXSSQuote}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("register the second victim: %d", res.StatusCode)
	}
	res = victim.PostJSON("/generate/image", map[string]any{
		"prompt": admXSSImg + " " + admXSSQuote, "image_size": "square"})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("generate with the payload: %d %s", res.StatusCode, res.Body)
	}
	id := victim.UserID()
	if _, err := app.Credits.Adjust(context.Background(), id, credit.One, root.ID,
		admXSSImg+admXSSQuote); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestAdminStoredXSSIsEscapedOnEveryAdminPage(t *testing.T) {
	app := apptest.New(t)
	c, rootU := admAccount(t, app, "root@example.com", role.Superadmin)
	victim := admSeedXSS(t, app, rootU)
	premium, _ := app.Credits.PlanBySlug(context.Background(), "premium")
	ids := map[string]string{"/admin/users": strconv.FormatInt(victim, 10),
		"/admin/plans": strconv.FormatInt(premium.ID, 10)}

	checked := 0
	for _, rt := range web.Routes(app.Server) {
		method, path, ok := admPath(rt.Pattern, ids)
		if method != http.MethodGet || !strings.HasPrefix(path, "/admin") || !ok {
			continue
		}
		if strings.HasSuffix(path, "/export") {
			path += "?format=json"
		}
		res := c.Get(path)
		if res.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d\n%s", path, res.StatusCode, res.Body)
			continue
		}
		checked++
		body := string(res.Body)
		// A CSV download is never rendered as a page; its cells are checked for
		// formulas in TestAdminUsersFiltersAndCSV.
		if strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
			continue
		}
		if strings.Contains(body, admXSSImg) {
			t.Errorf("%s shows the img payload unescaped", path)
		}
		if strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") &&
			strings.Contains(body, admXSSQuote) {
			t.Errorf("%s shows the quote payload unescaped", path)
		}
	}
	if checked < 15 {
		t.Fatalf("only %d admin pages checked", checked)
	}

	// The pages that show the payloads show them as text.
	for _, path := range []string{"/admin/users", "/admin/users/" + ids["/admin/users"]} {
		body := string(c.Get(path).Body)
		if !strings.Contains(body, "&lt;img src=x onerror=alert(1)&gt;") {
			t.Errorf("%s does not show the username as text", path)
		}
	}
	if body := string(c.Get("/admin/users?q=quote").Body); !strings.Contains(body,
		"a&#39;);alert(1);//") {
		t.Error("the quote payload is not shown as text on the user list")
	}
}

func TestAdminUsersFiltersAndCSV(t *testing.T) {
	app := apptest.New(t)
	c, _ := admAccount(t, app, "boss@example.com", role.Admin)
	ctx := context.Background()
	for i, name := range []string{"=HYPERLINK(\"http://evil.example\")", "+1+1", "plain"} {
		_, err := app.Accounts.Create(ctx, account.NewUser{Email: "u" + strconv.Itoa(i) +
			"@example.com", Password: goodPassword, Username: name,
			Status: []string{"active", "pending", "active"}[i]})
		if err != nil {
			t.Fatal(err)
		}
	}

	body := string(c.Get("/admin/users?status=pending").Body)
	if !strings.Contains(body, "u1@example.com") || strings.Contains(body, "u0@example.com") {
		t.Fatal("the status filter does not filter")
	}
	body = string(c.Get("/admin/users?q=U2%40EXAMPLE").Body)
	if !strings.Contains(body, "u2@example.com") || strings.Contains(body, "u1@example.com") {
		t.Fatal("the search does not search")
	}
	body = string(c.Get("/admin/users?role=admin").Body)
	if !strings.Contains(body, "boss@example.com") || strings.Contains(body, "u2@example.com") {
		t.Fatal("the role filter does not filter")
	}

	res := c.Get("/admin/users/export.csv")
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(res.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("export headers %v", res.Header)
	}
	rows, err := csv.NewReader(bytes.NewReader(res.Body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, r := range rows[1:] {
		names[r[2]] = true
	}
	for _, want := range []string{`'=HYPERLINK("http://evil.example")`, "'+1+1", "plain"} {
		if !names[want] {
			t.Errorf("export lacks %q: %v", want, names)
		}
	}

	// Bulk approval takes the pending account in.
	pending, _ := app.Accounts.ByEmail(ctx, "u1@example.com")
	res = c.PostForm("/admin/users/approve", url.Values{"ids": {strconv.FormatInt(pending.ID, 10)}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("bulk approve: %d", res.StatusCode)
	}
	if u, _ := app.Accounts.ByID(ctx, pending.ID); u.Status != account.StatusActive {
		t.Fatalf("status after bulk approval %q", u.Status)
	}
}

func TestAdminKeysNeverLeaveTheServer(t *testing.T) {
	const key = "sk-live-THISISTHESECRETKEY-0123456789"
	app := apptest.NewWith(t, apptest.Options{Env: map[string]string{
		"API_KEY_ENCRYPTION_KEY": admEncryptionKey}})
	c, _ := admAccount(t, app, "root@example.com", role.Superadmin)

	res := c.PostForm("/admin/providers/openai/key", url.Values{"key": {key}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save the key: %d %s", res.StatusCode, res.Body)
	}
	if got, err := app.Admin.Vault.Key(context.Background(), "openai"); err != nil || got != key {
		t.Fatalf("the key does not read back: %v", err)
	}

	premium, _ := app.Credits.PlanBySlug(context.Background(), "premium")
	ids := map[string]string{"/admin/users": "1", "/admin/plans": strconv.FormatInt(premium.ID, 10)}
	for _, rt := range web.Routes(app.Server) {
		method, path, ok := admPath(rt.Pattern, ids)
		if method != http.MethodGet || !strings.HasPrefix(path, "/admin") || !ok {
			continue
		}
		if body := c.Get(path).Body; bytes.Contains(body, []byte(key)) ||
			bytes.Contains(body, []byte("THISISTHESECRETKEY")) {
			t.Errorf("%s shows the key", path)
		}
	}
	if !strings.Contains(string(c.Get("/admin/providers").Body), "…6789") {
		t.Error("the providers page does not show the key's last characters")
	}
	if strings.Contains(app.Audit.String(), "THISISTHESECRETKEY") {
		t.Error("the audit log holds the key")
	}

	// The database file and its write-ahead log never hold the key in clear text.
	dir := app.Config.DataDir
	files, _ := filepath.Glob(filepath.Join(dir, "sketchmaker.db*"))
	if len(files) == 0 {
		t.Fatal("no database file found")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte("THISISTHESECRETKEY")) {
			t.Errorf("%s holds the key in clear text", filepath.Base(f))
		}
	}
}

func TestAdminSavingAKeyNeedsTheEncryptionKey(t *testing.T) {
	app := apptest.New(t)
	c, _ := admAccount(t, app, "boss@example.com", role.Admin)
	res := c.PostForm("/admin/providers/fal/key", url.Values{"key": {"fal-abcdef-123456"}})
	if res.StatusCode != http.StatusConflict ||
		!strings.Contains(string(res.Body), "API_KEY_ENCRYPTION_KEY") {
		t.Fatalf("saving without an encryption key: %d\n%s", res.StatusCode, res.Body)
	}
	if !strings.Contains(string(c.Get("/admin/providers").Body), "API_KEY_ENCRYPTION_KEY is not set") {
		t.Fatal("the providers page does not say why keys cannot be saved")
	}
}

func TestAdminModelsFollowThePlans(t *testing.T) {
	app := apptest.New(t)
	boss, _ := admAccount(t, app, "boss@example.com", role.Admin)
	free, _ := admAccount(t, app, "free@example.com", role.User)
	rich, richU := admAccount(t, app, "rich@example.com", role.User)
	if err := app.Credits.SetPlan(context.Background(), richU.ID, "premium", 0, "test"); err != nil {
		t.Fatal(err)
	}

	res := boss.PostForm("/admin/models", url.Values{"model": {generation.DefaultModel},
		"enabled": {"on"}, "cost": {"2"}, "plans": {"premium"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save the model: %d %s", res.StatusCode, res.Body)
	}

	if body := string(free.Get("/dashboard").Body); strings.Contains(body,
		`value="`+generation.DefaultModel+`"`) {
		t.Error("the studio offers the free user a model outside the plan")
	}
	res = free.PostJSON("/generate/image", map[string]any{"prompt": "a lighthouse"})
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(res.Body), "plan") {
		t.Fatalf("the free user generates: %d %s", res.StatusCode, res.Body)
	}

	if body := string(rich.Get("/dashboard").Body); !strings.Contains(body,
		`value="`+generation.DefaultModel+`"`) {
		t.Error("the studio does not offer the premium user the model")
	}
	res = rich.PostJSON("/generate/image", map[string]any{"prompt": "a lighthouse"})
	if res.StatusCode != http.StatusOK || res.JSON()["credits_used"] != 2.0 {
		t.Fatalf("the premium user generates: %d %s", res.StatusCode, res.Body)
	}

	c, err := app.Admin.Catalog.Choice(context.Background(), generation.DefaultModel)
	if err != nil || c.Cost != 2*credit.One || c.AllPlans() {
		t.Fatalf("stored choice %+v %v", c, err)
	}
	_ = catalog.ErrUnknownModel
}

func TestAdminPlansCostsAndReports(t *testing.T) {
	app := apptest.New(t)
	c, _ := admAccount(t, app, "boss@example.com", role.Admin)
	user, userU := admAccount(t, app, "user@example.com", role.User)

	res := c.PostForm("/admin/plans", url.Values{"name": {"Team"}, "slug": {"team"},
		"monthly_credits": {"500"}, "price": {"49.90"}, "sort_order": {"4"},
		"features": {"All models\nPriority"}, "api_access": {"on"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("create a plan: %d %s", res.StatusCode, res.Body)
	}
	team, err := app.Credits.PlanBySlug(context.Background(), "team")
	if err != nil || team.PriceCents != 4990 || !team.HasFeature(credit.FeatureAPI) ||
		team.MonthlyCredits != 500*credit.One {
		t.Fatalf("the plan %+v %v", team, err)
	}

	// Assign it through the admin API, then preview and save a price.
	res = c.PostJSON("/admin/api/users/"+strconv.FormatInt(userU.ID, 10)+"/plan",
		map[string]any{"plan": "team"})
	if res.StatusCode != http.StatusOK || res.JSON()["credits"] != 500.0 {
		t.Fatalf("assign the plan: %d %s", res.StatusCode, res.Body)
	}
	res = c.PostForm("/admin/credits/costs", url.Values{"do": {"preview"},
		credit.FeatureImage: {"5"}})
	if res.StatusCode != http.StatusOK ||
		!strings.Contains(string(res.Body), "→ <strong>100</strong>") {
		t.Fatalf("preview: %d", res.StatusCode)
	}
	if got, _ := app.Credits.Cost(context.Background(), credit.FeatureImage); got != credit.One {
		t.Fatalf("a preview saved the price: %s", got)
	}
	res = c.PostForm("/admin/credits/costs", url.Values{"do": {"save"},
		credit.FeatureImage: {"1000.5"}})
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("a price above 1000: %d", res.StatusCode)
	}
	res = c.PostForm("/admin/credits/costs", url.Values{"do": {"save"},
		credit.FeatureImage: {"2.5"}})
	if got, _ := app.Credits.Cost(context.Background(), credit.FeatureImage); res.StatusCode !=
		http.StatusSeeOther || got != 2500 {
		t.Fatalf("save the price: %d, price %s", res.StatusCode, got)
	}

	// One generation, then the reports.
	if res := user.PostJSON("/generate/image", map[string]any{"prompt": "a lighthouse",
		"image_size": "square"}); res.StatusCode != http.StatusOK {
		t.Fatalf("generate: %d %s", res.StatusCode, res.Body)
	}
	body := string(c.Get("/admin/reports?days=7").Body)
	if strings.Count(body, "<svg") != 5 || strings.Contains(body, "style=") ||
		!strings.Contains(body, "user@example.com") {
		t.Fatalf("reports page:\n%s", body)
	}
	res = c.Get("/admin/reports/export.csv?days=7")
	if !strings.Contains(string(res.Body), "model,builtin/sketch,,2.5,,1") {
		t.Fatalf("report CSV:\n%s", res.Body)
	}
	m := c.Get("/admin/api/metrics").JSON()
	today := m["today"].(map[string]any)
	if today["images"] != 1.0 || today["credits_used"] != 2.5 {
		t.Fatalf("metrics %v", m)
	}
}

func TestAdminAPI(t *testing.T) {
	app := apptest.New(t)
	c, _ := admAccount(t, app, "boss@example.com", role.Admin)
	_, alice := admAccount(t, app, "alice@example.com", role.User)

	st := c.Get("/admin/api/status").JSON()
	users := st["users"].(map[string]any)
	if st["status"] != "ok" || users["total"] != 2.0 || st["warnings"] == nil {
		t.Fatalf("status %v", st)
	}
	list := c.Get("/admin/api/users?limit=1&role=user").JSON()
	pg := list["pagination"].(map[string]any)
	if pg["total"] != 1.0 || len(list["users"].([]any)) != 1 {
		t.Fatalf("users %v", list)
	}
	if strings.Contains(string(c.Get("/admin/api/users").Body), "password_hash") {
		t.Fatal("the user list shows password hashes")
	}

	path := "/admin/api/users/" + strconv.FormatInt(alice.ID, 10) + "/credits"
	tests := []struct {
		body   map[string]any
		status int
		want   float64
	}{
		{map[string]any{"action": "add", "amount": 2, "reason": "gift"}, 200, 5},
		{map[string]any{"action": "subtract", "amount": "1.5", "reason": "fix"}, 200, 3.5},
		{map[string]any{"action": "set", "amount": 10, "reason": "reset"}, 200, 10},
		{map[string]any{"action": "add", "amount": 2}, 400, 10},
		{map[string]any{"action": "steal", "amount": 2, "reason": "x"}, 400, 10},
		{map[string]any{"action": "subtract", "amount": 50, "reason": "x"}, 400, 10},
		{map[string]any{"action": "add", "amount": "1,5", "reason": "x"}, 400, 10},
	}
	for _, tt := range tests {
		res := c.PostJSON(path, tt.body)
		if res.StatusCode != tt.status {
			t.Errorf("%v: status %d %s", tt.body, res.StatusCode, res.Body)
		}
		got, _ := app.Credits.Balance(context.Background(), alice.ID)
		if got != credit.Milli(tt.want*1000) {
			t.Errorf("%v: balance %s, want %g", tt.body, got, tt.want)
		}
	}
	res := c.Send(http.MethodPost, path, "text/plain", []byte(`{}`), c.CSRF())
	if res.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("a text body: %d", res.StatusCode)
	}
	if !strings.Contains(app.Audit.String(), `"event_type":"credits_changed"`) {
		t.Fatal("credit changes not audited")
	}
}

func TestAdminSettingsPages(t *testing.T) {
	app := apptest.New(t)
	root, _ := admAccount(t, app, "root@example.com", role.Superadmin)
	_, _ = admAccount(t, app, "victim@example.com", role.User)

	res := root.PostForm("/admin/settings/security", url.Values{
		"lockout_threshold": {"2"}, "lockout_seconds": {"600"},
		"session_lifetime_seconds": {"3600"}, "session_idle_seconds": {"1800"},
		"password_min_length": {"10"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save security settings: %d %s", res.StatusCode, res.Body)
	}
	lines := app.Audit.String()
	for _, want := range []string{`"setting":"security.lockout_threshold"`, `"old":"5"`,
		`"new":"2"`, `"setting":"security.session_lifetime_seconds"`} {
		if !strings.Contains(lines, want) {
			t.Errorf("audit lacks %s", want)
		}
	}

	// The lockout applies at once: the second wrong password locks the account.
	for range 2 {
		app.Client(t).PostForm("/login", url.Values{"email": {"victim@example.com"},
			"password": {"wrong password 1"}})
	}
	if !strings.Contains(app.Audit.String(), `"event_type":"account_locked"`) {
		t.Fatal("two failures did not lock the account under a threshold of 2")
	}
	// The shortest password applies to registration.
	res = app.Client(t).PostForm("/register", url.Values{"email": {"new@example.com"},
		"password": {"tree 42 x"}})
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("a 9-character password under a minimum of 10: %d", res.StatusCode)
	}

	res = root.PostForm("/admin/settings/security", url.Values{
		"lockout_threshold": {"0"}, "lockout_seconds": {"600"},
		"session_lifetime_seconds": {"3600"}, "session_idle_seconds": {"1800"},
		"password_min_length": {"10"}})
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("a threshold of 0: %d", res.StatusCode)
	}

	// Sign-in: password sign-in cannot go while Google is not configured.
	res = root.PostForm("/admin/settings/sign-in", url.Values{"google_enabled": {"on"}})
	if res.StatusCode != http.StatusConflict {
		t.Fatalf("switching password sign-in off: %d %s", res.StatusCode, res.Body)
	}
	res = root.PostForm("/admin/settings/sign-in", url.Values{"password_enabled": {"on"},
		"require_approval": {"on"}})
	if res.StatusCode != http.StatusSeeOther ||
		!strings.Contains(app.Audit.String(), `"setting":"`+account.SettingRequireApproval+`"`) {
		t.Fatalf("require approval: %d", res.StatusCode)
	}
	if body := string(root.Get("/admin/settings/sign-in").Body); !strings.Contains(body,
		`name="require_approval" checked`) {
		t.Fatal("the approval setting does not show as saved")
	}

	// Email: the SMTP password needs the encryption key; other settings save and audit.
	res = root.PostForm("/admin/settings/email", url.Values{"smtp_host": {"smtp.example.com"},
		"smtp_port": {"587"}, "smtp_tls": {"starttls"}, "smtp_from": {"studio@example.com"},
		"smtp_username": {"studio"}, "smtp_password": {"hunter2-mail-pass"}})
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("an SMTP password without an encryption key: %d %s", res.StatusCode, res.Body)
	}
	res = root.PostForm("/admin/settings/email", url.Values{"smtp_host": {"smtp.example.com"},
		"smtp_port": {"587"}, "smtp_tls": {"starttls"}, "smtp_from": {"studio@example.com"}})
	if res.StatusCode != http.StatusSeeOther ||
		!strings.Contains(app.Audit.String(), `"new":"smtp.example.com"`) {
		t.Fatalf("save SMTP settings: %d %s", res.StatusCode, res.Body)
	}
}

func TestAdminEmailPasswordIsRedacted(t *testing.T) {
	app := apptest.NewWith(t, apptest.Options{Env: map[string]string{
		"API_KEY_ENCRYPTION_KEY": admEncryptionKey}})
	root, _ := admAccount(t, app, "root@example.com", role.Superadmin)
	res := root.PostForm("/admin/settings/email", url.Values{"smtp_host": {"smtp.example.com"},
		"smtp_port": {"587"}, "smtp_tls": {"starttls"}, "smtp_from": {"studio@example.com"},
		"smtp_username": {"studio"}, "smtp_password": {"hunter2-mail-pass"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d %s", res.StatusCode, res.Body)
	}
	if strings.Contains(app.Audit.String(), "hunter2") ||
		!strings.Contains(app.Audit.String(), `"new":"(set)"`) {
		t.Fatalf("audit of the password:\n%s", app.Audit.String())
	}
	body := string(root.Get("/admin/settings/email").Body)
	if strings.Contains(body, "hunter2") || !strings.Contains(body, "…pass") {
		t.Fatal("the email page shows the password or not its end")
	}
}

func TestAdminAccessAuditedOncePerSession(t *testing.T) {
	app := apptest.New(t)
	c, _ := admAccount(t, app, "boss@example.com", role.Admin)
	for _, p := range []string{"/admin", "/admin/users", "/admin", "/admin/api/status"} {
		if res := c.Get(p); res.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", p, res.StatusCode)
		}
	}
	if n := strings.Count(app.Audit.String(), `"event_type":"admin_access"`); n != 1 {
		t.Fatalf("%d admin_access events for one session", n)
	}
	c2, _ := admAccount(t, app, "boss2@example.com", role.Admin)
	c2.Get("/admin/users")
	if n := strings.Count(app.Audit.String(), `"event_type":"admin_access"`); n != 2 {
		t.Fatalf("%d admin_access events for two sessions", n)
	}
}

func TestAdminProvidersPage(t *testing.T) {
	app := apptest.New(t)
	c, _ := admAccount(t, app, "boss@example.com", role.Admin)
	res := c.PostForm("/admin/providers/builtin/test", url.Values{})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("test the built-in engine: %d %s", res.StatusCode, res.Body)
	}
	body := string(c.Get("/admin/providers").Body)
	if !strings.Contains(body, "status-ok") || !strings.Contains(body, "rendered") {
		t.Fatal("the test result is not shown")
	}
	res = c.PostForm("/admin/providers/a1111", url.Values{"base_url": {"http://127.0.0.1:7860"},
		"enabled": {"on"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("configure AUTOMATIC1111: %d %s", res.StatusCode, res.Body)
	}
	res = c.PostForm("/admin/providers/fal", url.Values{"enabled": {"on"}})
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("switching FAL on without a key: %d", res.StatusCode)
	}
	res = c.PostForm("/admin/providers/nope/test", url.Values{})
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("an unknown provider: %d", res.StatusCode)
	}
}
