package e2e_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sketchmaker/sketchmaker/internal/apptest"
)

// TestTrainingInTheBrowser uploads five camera photos through the training page, trains a
// style with the built-in trainer, and picks the style in the studio (issue 6).
func TestTrainingInTheBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a real browser; skipped with -short")
	}
	exe := chromiumPath(t)
	photos, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "testdata", "photos",
		"*.jpg"))
	if len(photos) < 5 {
		t.Skip("the shared test photos are not available")
	}
	for i, p := range photos[:5] {
		abs, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		photos[i] = abs
	}
	app := apptest.New(t)
	ctx, found := startBrowser(t, exe, 90*time.Second)

	step(t, ctx, "open the registration page", chromedp.Navigate(app.URL+"/register"),
		fill("email", "stylist@example.com"), fill("username", "Stylist"),
		fill("password", password))
	step(t, ctx, "register", clickAndLoad(`form[action="/register"] button[type=submit]`))
	wantPath(t, ctx, "registration", "/dashboard")
	var uid int64
	if err := app.DB.GetContext(context.Background(), &uid, app.DB.Rebind(
		`SELECT id FROM users WHERE email = ?`), "stylist@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := app.Credits.SetPlan(context.Background(), uid, "professional", 0,
		"style training"); err != nil {
		t.Fatal(err)
	}
	app.SetCredits(t, uid, 100)

	step(t, ctx, "open the training page", clickAndLoad(`header nav a[href="/training"]`),
		chromedp.SetUploadFiles(chromedp.ID("training-files"), photos[:5]),
		fill("trigger_word", "harbourstyle"),
		chromedp.Click(chromedp.ID("training-button"), chromedp.NodeVisible))
	// The page reloads itself when the training ends, which interrupts an evaluation in
	// flight; ask again until the finished training is listed.
	deadline := time.Now().Add(60 * time.Second)
	for done := false; !done; time.Sleep(250 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the training did not show as succeeded")
		}
		done, _ = chromedp.Run(ctx, chromedp.Evaluate[bool](
			`document.body.textContent.includes("succeeded") && `+
				`document.querySelector('a[href^="/api/training/weights/"]') !== null`))
	}

	step(t, ctx, "open the studio", clickAndLoad(`header nav a[href="/dashboard"]`),
		chromedp.WaitVisible(chromedp.ID("trained-style-label")))
	_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
		const s = document.getElementById("trained-style");
		s.value = "harbourstyle";
		return s.dispatchEvent(new Event("change"));
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	prompt, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`document.getElementById("prompt").value`))
	if err != nil || !strings.Contains(prompt, "harbourstyle") {
		t.Errorf("choosing the style did not put its trigger word in the prompt: %q (%v)",
			prompt, err)
	}
	if p := found.since(0); len(p) > 0 {
		t.Errorf("the pages reported problems:\n%s", strings.Join(p, "\n"))
	}
}
