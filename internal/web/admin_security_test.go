package web_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/apptest"
	"github.com/sketchmaker/sketchmaker/internal/role"
)

// count returns the rows of table.
func count(t *testing.T, app *apptest.App, table string) int {
	t.Helper()
	var n int
	if err := app.DB.GetContext(context.Background(), &n, "SELECT COUNT(*) FROM "+table); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAbuseModerationBypassAttempts sends disguised policy terms through POST
// /generate/image: each is refused with a clear 400, costs nothing, stores no job or image,
// and is kept for review; repeated refusals raise suspicious_activity.
func TestAbuseModerationBypassAttempts(t *testing.T) {
	app := apptest.NewWith(t, apptest.Options{Env: map[string]string{
		"SUSPICIOUS_ACTIVITY_THRESHOLD": "5"}})
	c := app.Client(t)
	c.Register("sneaky@example.com", goodPassword)
	tok := c.CSRF()

	attempts := []struct{ name, prompt string }{
		{"zero-width space", "a marble statue, nu\u200bde, soft light"},
		{"zero-width joiner and soft hyphen", "n\u200du\u00add\u2060e figure study"},
		{"Cyrillic homoglyphs", "an оil painting, nudе"},
		{"Greek homoglyphs", "ΝUDE portrait"},
		{"fullwidth letters", "ｇｏｒｅ on the floor"},
		{"combining marks", "g\u0301o\u0308r\u0327e everywhere"},
		{"spaced letters", "a n u d e woman"},
		{"dotted letters", "g.o.r.e splatter"},
		{"mixed case", "NuDiTy in the park"},
		{"leet", "g0r3 and d3c4p1t4t10n"},
		{"stretched letters", "nuuuude beach"},
	}
	for _, a := range attempts {
		body, _ := json.Marshal(map[string]string{"prompt": a.prompt, "image_size": "square"})
		res := c.Send(http.MethodPost, "/generate/image", "application/json", body, tok)
		j := res.JSON()
		details, _ := j["details"].(map[string]any)
		if res.StatusCode != http.StatusBadRequest || j["type"] != "validation_error" ||
			details["field"] != "prompt" ||
			!strings.Contains(fmt.Sprint(j["error"]), "content policy") {
			t.Errorf("%s: %d %s; want a 400 naming the content policy", a.name,
				res.StatusCode, res.Body)
		}
	}

	if got := c.JSONCredits(); got != 3 {
		t.Errorf("credits after refused prompts = %v, want 3", got)
	}
	if n := count(t, app, "jobs"); n != 0 {
		t.Errorf("%d jobs stored for refused prompts", n)
	}
	if n := count(t, app, "images"); n != 0 {
		t.Errorf("%d images stored for refused prompts", n)
	}
	if n := count(t, app, "flagged_prompts"); n != len(attempts) {
		t.Errorf("%d prompts kept for review, want %d", n, len(attempts))
	}
	if n := len(auditLines(t, app, "suspicious_content")); n != len(attempts) {
		t.Errorf("%d suspicious_content events, want %d", n, len(attempts))
	}
	if n := len(auditLines(t, app, "suspicious_activity")); n != 1 {
		t.Errorf("%d suspicious_activity events, want 1", n)
	}
	if strings.Contains(app.Audit.String(), "statue") {
		t.Error("prompt text reached the audit trail")
	}

	// Ordinary prompts with near misses still work.
	for _, ok := range []string{"a nudibranch in a coral reef", "Gorey-style ink drawing " +
		"of a cat", "the sussex downs at dawn"} {
		body, _ := json.Marshal(map[string]string{"prompt": ok, "image_size": "square"})
		if res := c.Send(http.MethodPost, "/generate/image", "application/json", body,
			tok); res.StatusCode != http.StatusOK {
			t.Errorf("benign prompt %q: %d %s", ok, res.StatusCode, res.Body)
		}
	}
}

func TestAbuseModerationSwitch(t *testing.T) {
	app := apptest.NewWith(t, apptest.Options{Env: map[string]string{
		"CONTENT_FILTERING_ENABLED": "false"}})
	c := app.Client(t)
	c.Register("free@example.com", goodPassword)
	res := c.Send(http.MethodPost, "/generate/image", "application/json",
		[]byte(`{"prompt":"gore","image_size":"square"}`), c.CSRF())
	if res.StatusCode != http.StatusOK {
		t.Errorf("with filtering off: %d %s", res.StatusCode, res.Body)
	}
}

// adminClients returns signed-in clients for a user, an admin and a superadmin.
func adminClients(t *testing.T, app *apptest.App) (user, admin, root *apptest.Client) {
	t.Helper()
	out := map[role.Role]*apptest.Client{}
	for _, r := range role.All() {
		email := string(r) + "@example.com"
		newUser(t, app, email, r)
		out[r] = app.Client(t)
		signIn(t, out[r], email)
	}
	return out[role.User], out[role.Admin], out[role.Superadmin]
}

func TestAbuseReviewQueue(t *testing.T) {
	app := apptest.New(t)
	user, admin, root := adminClients(t, app)
	for _, p := range []string{"gore <script>alert(1)</script>", "beheading"} {
		body, _ := json.Marshal(map[string]string{"prompt": p})
		user.Send(http.MethodPost, "/generate/image", "application/json", body, user.CSRF())
	}

	if res := user.Get("/admin/security/review"); res.StatusCode != http.StatusForbidden {
		t.Errorf("a user opened the review queue: %d", res.StatusCode)
	}
	page := admin.Get("/admin/security/review")
	if page.StatusCode != http.StatusOK || strings.Contains(string(page.Body), "<script>") ||
		!strings.Contains(string(page.Body), "&lt;script&gt;") {
		t.Fatalf("review page: %d; want the prompt shown escaped", page.StatusCode)
	}

	res := admin.Get("/admin/api/review")
	flags, _ := res.JSON()["flags"].([]any)
	if len(flags) != 2 {
		t.Fatalf("review API: %s", res.Body)
	}
	first := flags[0].(map[string]any)
	id := fmt.Sprint(first["id"])
	res = admin.PostJSON("/admin/api/review/"+id, map[string]string{"decision": "dismiss"})
	if res.StatusCode != http.StatusOK || res.JSON()["flag"].(map[string]any)["status"] !=
		"dismissed" {
		t.Fatalf("dismiss: %d %s", res.StatusCode, res.Body)
	}
	res = admin.PostJSON("/admin/api/review/"+id, map[string]string{"decision": "approve"})
	if res.StatusCode != http.StatusConflict {
		t.Errorf("second decision: %d", res.StatusCode)
	}
	second := fmt.Sprint(flags[1].(map[string]any)["id"])
	res = admin.PostForm("/admin/api/review/"+second, url.Values{"decision": {"approve"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") !=
		"/admin/security/review" {
		t.Errorf("approve by form: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	res = admin.PostJSON("/admin/api/review/"+second, map[string]string{"decision": "x"})
	if res.StatusCode != http.StatusConflict &&
		res.StatusCode != http.StatusBadRequest {
		t.Errorf("bad decision: %d", res.StatusCode)
	}
	if n := len(auditLines(t, app, "content_reviewed")); n != 2 {
		t.Errorf("%d content_reviewed events, want 2", n)
	}

	// Only a superadmin edits the term list.
	terms := map[string]any{"terms": []string{"dragon", "sea serpent"}}
	if res := admin.PostJSON("/admin/api/moderation", terms); res.StatusCode !=
		http.StatusForbidden {
		t.Errorf("an admin edited the terms: %d", res.StatusCode)
	}
	if res := root.PostJSON("/admin/api/moderation", terms); res.StatusCode != http.StatusOK {
		t.Fatalf("superadmin edits the terms: %d %s", res.StatusCode, res.Body)
	}
	res = user.Send(http.MethodPost, "/generate/image", "application/json",
		[]byte(`{"prompt":"a green Dragon"}`), user.CSRF())
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("a prompt with a new term: %d", res.StatusCode)
	}
	res = root.PostJSON("/admin/api/moderation", map[string]any{"terms": []string{"???"}})
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("a term list without letters: %d", res.StatusCode)
	}
	changes := auditLines(t, app, "setting_changed")
	if len(changes) != 1 || strings.Contains(fmt.Sprint(changes[0]), "serpent") {
		t.Errorf("setting_changed = %v; want one, without the terms themselves", changes)
	}
}

func TestAbuseSecurityAdmin(t *testing.T) {
	app := apptest.New(t)
	user, admin, root := adminClients(t, app)

	for _, path := range []string{"/admin/security/blocks", "/admin/security/review",
		"/admin/audit", "/admin/api/blocks", "/admin/api/limits", "/admin/api/alerts"} {
		if res := user.Get(path); res.StatusCode != http.StatusForbidden {
			t.Errorf("user GET %s: %d", path, res.StatusCode)
		}
		if res := admin.Get(path); res.StatusCode != http.StatusOK {
			t.Errorf("admin GET %s: %d", path, res.StatusCode)
		}
	}

	allow := map[string]any{"allow": []string{"203.0.113.7", "10.0.0.0/8"}}
	if res := admin.PostJSON("/admin/api/allowlist", allow); res.StatusCode !=
		http.StatusForbidden {
		t.Errorf("an admin changed the allow-list: %d", res.StatusCode)
	}
	res := root.PostJSON("/admin/api/allowlist", allow)
	if list, _ := res.JSON()["allow_list"].([]any); res.StatusCode != http.StatusOK ||
		len(list) != 2 {
		t.Fatalf("allow-list: %d %s", res.StatusCode, res.Body)
	}
	res = root.PostJSON("/admin/api/allowlist", map[string]any{"allow": []string{"nope"}})
	if res.StatusCode != http.StatusBadRequest ||
		!strings.Contains(string(res.Body), "nope") {
		t.Errorf("bad allow-list: %d %s", res.StatusCode, res.Body)
	}
	if res := root.PostJSON("/admin/api/allowlist", map[string]any{}); res.StatusCode !=
		http.StatusBadRequest {
		t.Errorf("allow-list without the field: %d", res.StatusCode)
	}
	res = root.PostForm("/admin/api/allowlist", url.Values{"allow": {"192.0.2.1\n192.0.2.2"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Errorf("allow-list by form: %d", res.StatusCode)
	}
	if page := admin.Get("/admin/security/blocks"); !strings.Contains(string(page.Body),
		"192.0.2.2") {
		t.Error("the blocks page does not show the allow-list")
	}

	res = root.PostJSON("/admin/api/limits", map[string]string{"name": "image_generation",
		"rate": "7 / minute"})
	if res.StatusCode != http.StatusOK || !strings.Contains(string(res.Body),
		`"rate":"7 per minute"`) {
		t.Fatalf("change a rate: %d %s", res.StatusCode, res.Body)
	}
	for _, bad := range []map[string]string{{"name": "image_generation", "rate": "often"},
		{"name": "nothing", "rate": "1 per minute"}, {}} {
		if res := root.PostJSON("/admin/api/limits", bad); res.StatusCode !=
			http.StatusBadRequest {
			t.Errorf("limits %v: %d %s", bad, res.StatusCode, res.Body)
		}
	}
	res = admin.PostJSON("/admin/api/limits", map[string]any{"enabled": false})
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("an admin switched the limits: %d", res.StatusCode)
	}
	res = root.PostForm("/admin/api/limits", url.Values{"enabled": {"true"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Errorf("switch the limits by form: %d", res.StatusCode)
	}
	if !app.Abuse.Guard.Enabled() {
		t.Error("the limits are still off after a superadmin switched them on")
	}
	if n := len(auditLines(t, app, "setting_changed")); n != 4 {
		t.Errorf("%d setting_changed events, want 4", n)
	}
}

func TestAbuseAuditViewer(t *testing.T) {
	app := apptest.NewWith(t, apptest.Options{Env: map[string]string{
		"TRUSTED_PROXIES": "127.0.0.1/32"}})
	_, admin, _ := adminClients(t, app)
	stranger := app.Client(t)
	forwardedFor(stranger, "203.0.113.50", "")
	stranger.PostForm("/login", url.Values{"email": {"ghost@example.com"},
		"password": {"=cmd|' /C calc'!A0"}})

	res := admin.Get("/admin/api/audit?type=login_failure")
	events, _ := res.JSON()["events"].([]any)
	if len(events) != 1 || events[0].(map[string]any)["ip_address"] != "203.0.113.50" {
		t.Fatalf("filter by type: %s", res.Body)
	}
	res = admin.Get("/admin/api/audit?ip=203.0.113.50")
	if total := res.JSON()["total"]; total != float64(1) {
		t.Errorf("filter by address: total %v", total)
	}
	adminID := admin.UserID()
	res = admin.Get(fmt.Sprintf("/admin/api/audit?user=%d&type=login_success", adminID))
	if total := res.JSON()["total"]; total != float64(1) {
		t.Errorf("filter by user: total %v", total)
	}
	today := time.Now().UTC().Format("2006-01-02")
	tomorrow := time.Now().UTC().Add(24 * time.Hour).Format("2006-01-02")
	res = admin.Get("/admin/api/audit?from=" + today + "&to=" + today)
	if res.JSON()["total"] == float64(0) {
		t.Error("filter by today found nothing")
	}
	if res := admin.Get("/admin/api/audit?from=" + tomorrow); res.JSON()["total"] != float64(0) {
		t.Error("filter from tomorrow found events")
	}
	for _, bad := range []string{"?from=yesterday", "?user=abc", "/export?format=xml"} {
		if res := admin.Get("/admin/api/audit" + bad); res.StatusCode != http.StatusBadRequest {
			t.Errorf("audit %s: %d", bad, res.StatusCode)
		}
	}

	page := admin.Get("/admin/audit?type=login_failure")
	if page.StatusCode != http.StatusOK || !strings.Contains(string(page.Body), "203.0.113.50") {
		t.Errorf("audit page: %d", page.StatusCode)
	}

	res = admin.Get("/admin/api/audit/export?format=csv&type=login_failure")
	records, err := csv.NewReader(strings.NewReader(string(res.Body))).ReadAll()
	if err != nil || len(records) != 2 || !strings.HasPrefix(res.Header.Get("Content-Type"),
		"text/csv") || !strings.Contains(res.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("CSV export: %v %q %v", err, res.Body, res.Header)
	}
	res = admin.Get("/admin/api/audit/export?format=json")
	var all []map[string]any
	if err := json.Unmarshal(res.Body, &all); err != nil || len(all) < 4 {
		t.Fatalf("JSON export: %v %s", err, res.Body)
	}
	if n := len(auditLines(t, app, "audit_exported")); n != 2 {
		t.Errorf("%d audit_exported events, want 2", n)
	}
}

func TestAbuseAlertBanner(t *testing.T) {
	app := apptest.NewWith(t, apptest.Options{Env: map[string]string{
		"FAILED_LOGIN_THRESHOLD": "2"}})
	user, admin, _ := adminClients(t, app)
	for range 2 {
		app.Client(t).PostForm("/login", url.Values{"email": {"user@example.com"},
			"password": {"wrong password"}})
	}

	page := admin.Get("/admin/security/blocks")
	if !strings.Contains(string(page.Body), "1 open security alert") ||
		!strings.Contains(string(page.Body), "was locked after 2 wrong passwords") {
		t.Fatalf("no alert banner on an admin page:\n%.2000s", page.Body)
	}
	if strings.Contains(string(user.Get("/dashboard").Body), "security alert") {
		t.Error("a user sees the alert banner")
	}

	res := admin.Get("/admin/api/alerts")
	alerts, _ := res.JSON()["alerts"].([]any)
	if len(alerts) != 1 {
		t.Fatalf("alerts: %s", res.Body)
	}
	id := fmt.Sprint(alerts[0].(map[string]any)["id"])
	res = admin.PostForm("/admin/api/alerts/"+id+"/ack",
		url.Values{"next": {"/admin/audit"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/audit" {
		t.Fatalf("acknowledge: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if strings.Contains(string(admin.Get("/admin/security/blocks").Body), "open security alert") {
		t.Error("the banner stays after the acknowledgement")
	}
	res = admin.PostJSON("/admin/api/alerts/"+id+"/ack", map[string]any{})
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("second acknowledgement: %d", res.StatusCode)
	}
	if n := len(auditLines(t, app, "alert_acknowledged")); n != 1 {
		t.Errorf("%d alert_acknowledged events, want 1", n)
	}
}
