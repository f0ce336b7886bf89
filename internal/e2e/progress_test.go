package e2e_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sketchmaker/sketchmaker/internal/apptest"
	"github.com/sketchmaker/sketchmaker/internal/provider/providertest"
)

// progressSample is what the studio page showed at one moment.
type progressSample struct {
	Visible bool   `json:"visible"`
	Text    string `json:"text"`
	Value   int    `json:"value"`
	Images  int    `json:"images"`
}

// sampleProgress is a script reading the progress box and the results.
const sampleProgress = `(() => ({
	visible: !document.getElementById("progress").hidden,
	text: document.getElementById("progress-text").textContent,
	value: Number(document.getElementById("progress-bar").value),
	images: [...document.querySelectorAll("#results img")]
		.filter(im => im.complete && im.naturalWidth > 0).length,
}))()`

// TestProgressShowsBeforeTheImage generates with a slow FAL (a fake at 127.0.0.1, which
// the administrator's explicit FAL_BASE_URL allows) and watches the studio page: the
// progress box appears and changes, with FAL's queue and progress, before the image does.
func TestProgressShowsBeforeTheImage(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a real browser; skipped with -short")
	}
	exe := chromiumPath(t)
	fal := providertest.NewFAL(t, 4*time.Second)
	app := apptest.NewWith(t, apptest.Options{Env: fal.Env(t)})
	ctx, found := startBrowser(t, exe, 90*time.Second)
	step(t, ctx, "set the window size", chromedp.EmulateViewport(1280, 900))

	step(t, ctx, "open the registration page", chromedp.Navigate(app.URL+"/register"),
		fill("email", "slow@example.com"), fill("username", "Slow"),
		fill("password", password))
	step(t, ctx, "register", clickAndLoad(`form[action="/register"] button[type=submit]`))
	wantPath(t, ctx, "registration", "/dashboard")

	step(t, ctx, "ask FAL for an image", fill("prompt", "a lighthouse in a storm"),
		chromedp.SetValue(chromedp.CSS(`select[name="model"]`), "fal-ai/flux/dev"),
		chromedp.SetValue(chromedp.CSS(`select[name="image_size"]`), "square"),
		chromedp.Click(chromedp.ID("generate-button"), chromedp.NodeVisible))

	var seen []progressSample
	deadline := time.Now().Add(45 * time.Second)
	for {
		s, err := chromedp.Run(ctx, chromedp.Evaluate[progressSample](sampleProgress))
		if err != nil {
			t.Fatalf("read the page: %v", err)
		}
		seen = append(seen, s)
		if s.Images > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no image after 45 s; the page showed %+v", s)
		}
		time.Sleep(100 * time.Millisecond)
	}

	checkProgress(t, seen)
	for _, p := range found.since(0) {
		t.Errorf("the page reported: %s", p)
	}
}

// checkProgress requires, before the image, a visible progress box that showed at least
// two different states, one of them FAL's own progress between 0 and 100.
func checkProgress(t *testing.T, seen []progressSample) {
	t.Helper()
	states := map[string]bool{}
	midway := false
	for _, s := range seen[:len(seen)-1] {
		if !s.Visible {
			continue
		}
		states[fmt.Sprintf("%s|%d", s.Text, s.Value)] = true
		if s.Value > 0 && s.Value < 100 && strings.Contains(s.Text, "FAL") {
			midway = true
		}
	}
	t.Logf("the progress showed %d states before the image", len(states))
	if len(states) < 2 || !midway {
		t.Fatalf("before the image the progress showed %d states (midway: %v): %+v",
			len(states), midway, seen)
	}
}

// TestEnhanceButtonWritesAnEditablePrompt turns a short topic into a detailed prompt with
// the offline enhancer through the studio's prompt helper.
func TestEnhanceButtonWritesAnEditablePrompt(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a real browser; skipped with -short")
	}
	exe := chromiumPath(t)
	app := apptest.New(t)
	ctx, found := startBrowser(t, exe, 60*time.Second)
	step(t, ctx, "register", chromedp.Navigate(app.URL+"/register"),
		fill("email", "words@example.com"), fill("username", "Words"),
		fill("password", password),
		clickAndLoad(`form[action="/register"] button[type=submit]`))
	wantPath(t, ctx, "registration", "/dashboard")

	step(t, ctx, "ask for an enhanced prompt", fill("prompt", "a red bicycle"),
		chromedp.Click(chromedp.CSS("#enhance-box summary"), chromedp.NodeVisible),
		chromedp.SetValue(chromedp.CSS(`select[data-enhance="art_style"]`), "watercolor"),
		chromedp.Click(chromedp.ID("enhance-button"), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.ID("enhance-note")))
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`document.getElementById("prompt").value`))
	if err != nil || !strings.Contains(strings.ToLower(got), "a red bicycle") ||
		!strings.Contains(got, "watercolour") {
		t.Fatalf("the prompt box holds %q (%v)", got, err)
	}
	for _, p := range found.since(0) {
		t.Errorf("the page reported: %s", p)
	}
}
