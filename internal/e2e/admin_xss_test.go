package e2e_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/sketchmaker/sketchmaker/internal/account"
	"github.com/sketchmaker/sketchmaker/internal/apptest"
	"github.com/sketchmaker/sketchmaker/internal/credit"
	"github.com/sketchmaker/sketchmaker/internal/role"
	"github.com/sketchmaker/sketchmaker/internal/web"
)

// The stored-XSS payloads of the admin panel's issue: a username and a prompt.
const (
	adminXSSImg   = `<img src=x onerror=alert(1)>`
	adminXSSQuote = `a');alert(1);//`
)

// adminXSSWatch records every Content-Security-Policy violation of every document the tab
// loads, from the page's own point of view, beside the console and log checks of problems.
const adminXSSWatch = `window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});`

// adminXSSSeed stores the payloads where admin pages show them: as usernames, in a prompt
// and in a credit-history note. It returns the id of the first victim.
func adminXSSSeed(t *testing.T, app *apptest.App, adminID int64) int64 {
	t.Helper()
	victim := app.Client(t)
	for i, name := range []string{adminXSSImg, adminXSSQuote} {
		c := victim
		if i > 0 {
			c = app.Client(t)
		}
		res := c.PostForm("/register", url.Values{"email": {"victim" + strconv.Itoa(i) +
			"@example.com"}, "password": {password}, "username": {name}})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("register the victim %q: %d %s", name, res.StatusCode, res.Body)
		}
	}
	res := victim.PostJSON("/generate/image", map[string]any{
		"prompt": adminXSSImg + " " + adminXSSQuote, "image_size": "square"})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("generate with the payload: %d %s", res.StatusCode, res.Body)
	}
	id := victim.UserID()
	if _, err := app.Credits.Adjust(context.Background(), id, credit.One, adminID,
		adminXSSImg+" "+adminXSSQuote); err != nil {
		t.Fatal(err)
	}
	return id
}

// adminXSSPages returns every HTML page of the admin panel, with ids filled in.
func adminXSSPages(app *apptest.App, userID, planID int64) []string {
	var out []string
	for _, rt := range web.Routes(app.Server) {
		method, p, _ := strings.Cut(rt.Pattern, " ")
		if method != http.MethodGet || rt.API || !strings.HasPrefix(p, "/admin") ||
			strings.HasSuffix(p, ".csv") {
			continue
		}
		p = strings.Replace(p, "/admin/users/{id}", "/admin/users/"+
			strconv.FormatInt(userID, 10), 1)
		p = strings.Replace(p, "/admin/plans/{id}", "/admin/plans/"+
			strconv.FormatInt(planID, 10), 1)
		if !strings.Contains(p, "{") {
			out = append(out, p)
		}
	}
	return out
}

// TestAdminPagesKeepStoredXSSInert opens every admin page as the superadmin in a real
// browser after the payloads were stored: no dialog may open, no element may come out of
// the payload, and the page may report no Content-Security-Policy violation.
func TestAdminPagesKeepStoredXSSInert(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a real browser; skipped with -short")
	}
	exe := chromiumPath(t)
	app := apptest.New(t)
	root, err := app.Accounts.Create(context.Background(), account.NewUser{
		Email: "root@example.com", Password: password, Role: role.Superadmin})
	if err != nil {
		t.Fatal(err)
	}
	victim := adminXSSSeed(t, app, root.ID)
	premium, err := app.Credits.PlanBySlug(context.Background(), "premium")
	if err != nil {
		t.Fatal(err)
	}
	pages := adminXSSPages(app, victim, premium.ID)
	if len(pages) < 12 {
		t.Fatalf("only %d admin pages found: %v", len(pages), pages)
	}

	ctx, found := startBrowser(t, exe, 3*time.Minute)
	dialogs := acceptDialogs(t, ctx)
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: adminXSSWatch}); err != nil {
		t.Fatalf("watch for CSP violations: %v", err)
	}
	step(t, ctx, "open the sign-in page", chromedp.Navigate(app.URL+"/login"),
		fill("email", "root@example.com"), fill("password", password))
	step(t, ctx, "sign in", clickAndLoad(`form[action="/login"] button[type=submit]`))

	for _, p := range pages {
		step(t, ctx, "open "+p, chromedp.Navigate(app.URL+p))
		if got := path(t, ctx); got != strings.SplitN(p, "?", 2)[0] {
			t.Errorf("opening %s led to %s", p, got)
			continue
		}
		adminXSSCheckPage(t, ctx, p)
	}

	// The payloads are on the pages, as text.
	step(t, ctx, "open the victim", chromedp.Navigate(app.URL+"/admin/users/"+
		strconv.FormatInt(victim, 10)))
	shown, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.body.textContent.`+
		`includes(`+strconv.Quote(adminXSSImg)+`) && document.body.textContent.includes(`+
		strconv.Quote(adminXSSQuote)+`)`))
	if err != nil || !shown {
		t.Errorf("the victim's page does not show the payloads as text (%v)", err)
	}

	// A dialog would have been accepted at once; give a late one a moment to arrive.
	select {
	case msg := <-dialogs:
		t.Errorf("a JavaScript dialog opened: %q", msg)
	case <-time.After(300 * time.Millisecond):
	}
	for _, p := range found.since(0) {
		t.Errorf("the page reported: %s", p)
	}
}

// adminXSSCheckPage fails the test when the open page holds an element made from the
// payload or saw a Content-Security-Policy violation.
func adminXSSCheckPage(t *testing.T, ctx context.Context, p string) {
	t.Helper()
	injected, err := chromedp.Run(ctx, chromedp.Evaluate[int](
		`document.querySelectorAll('img[src="x"], img[onerror]').length`))
	if err != nil || injected != 0 {
		t.Errorf("%s: %d elements made from the payload (%v)", p, injected, err)
	}
	violations, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`window.__cspViolations || []`))
	if err != nil || len(violations) != 0 {
		t.Errorf("%s: CSP violations %v (%v)", p, violations, err)
	}
}
