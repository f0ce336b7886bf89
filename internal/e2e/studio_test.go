package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/sketchmaker/sketchmaker/internal/apptest"
)

const password = "correct horse 42"

// partiPrompt returns the first prompt of PartiPrompts.tsv with at least six words, so
// the picture and the screenshot have something to show.
func partiPrompt(t *testing.T) string {
	t.Helper()
	f, err := os.Open("../../../shared/testdata/prompts/PartiPrompts.tsv")
	if err != nil {
		t.Skip("shared test data not found: ", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // the header
	for sc.Scan() {
		prompt, _, _ := strings.Cut(sc.Text(), "\t")
		if len(strings.Fields(prompt)) >= 6 {
			return prompt
		}
	}
	t.Fatalf("no prompt of six words in PartiPrompts.tsv: %v", sc.Err())
	return ""
}

// imageLoaded is a script that is true once the first image matching sel has pixels.
func imageLoaded(sel string) string {
	return `(() => { const im = document.querySelector(` + "`" + sel + "`" + `);
		return !!im && im.complete && im.naturalWidth > 0; })()`
}

// TestStudioEndToEnd walks a new instance from its setup link to a downloaded and
// deleted image in a real browser, and fails on any console error or CSP violation.
func TestStudioEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a real browser; skipped with -short")
	}
	exe := chromiumPath(t)
	prompt := partiPrompt(t)
	app := apptest.New(t)
	token, err := app.Accounts.IssueSetupToken(context.Background())
	if err != nil || token == "" {
		t.Fatalf("setup token: %q, %v", token, err)
	}
	ctx, found := startBrowser(t, exe, 60*time.Second)
	dialogs := acceptDialogs(t, ctx)
	shots := t.TempDir()
	step(t, ctx, "set the window size", chromedp.EmulateViewport(1280, 900))

	// First run: the setup link creates the superadmin, who then signs out.
	step(t, ctx, "open the setup link", chromedp.Navigate(app.URL+"/setup?token="+token),
		fill("email", "owner@example.com"), fill("username", "Owner"),
		fill("password", password))
	screenshot(t, ctx, shots, "setup.png")
	step(t, ctx, "create the superadmin", clickAndLoad(`form[action="/setup"] button`))
	wantPath(t, ctx, "setup", "/dashboard")
	step(t, ctx, "sign out the superadmin", clickAndLoad(`form[action="/logout"] button`))
	wantPath(t, ctx, "signing out", "/login")

	// A new person registers.
	step(t, ctx, "open the registration page", chromedp.Navigate(app.URL+"/register"),
		fill("email", "painter@example.com"), fill("username", "Painter"),
		fill("password", password))
	step(t, ctx, "register", clickAndLoad(`form[action="/register"] button[type=submit]`))
	wantPath(t, ctx, "registration", "/dashboard")

	// Generate: the progress shows, then the image.
	hidden, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
		`document.getElementById("progress").hidden`))
	if err != nil || !hidden {
		t.Fatalf("the progress box is visible before anything was asked (%v)", err)
	}
	step(t, ctx, "write the prompt", fill("prompt", prompt),
		chromedp.SetValue(chromedp.CSS(`select[name="image_size"]`), "square"),
		chromedp.Click(chromedp.ID("generate-button"), chromedp.NodeVisible))
	step(t, ctx, "wait for the progress",
		chromedp.WaitVisible(chromedp.ID("progress")),
		chromedp.Poll[chromedp.Void](`document.getElementById("progress-text").textContent`))
	step(t, ctx, "wait for the image",
		chromedp.Poll[chromedp.Void](imageLoaded("#results img"),
			chromedp.WithPollingTimeout(20*time.Second)))
	label, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#results .engine")))
	if err != nil || !strings.Contains(strings.ToLower(label), "offline") {
		t.Errorf("the result is not labelled as the offline engine: %q (%v)", label, err)
	}
	screenshot(t, ctx, shots, "dashboard.png")

	// The gallery shows the thumbnail; its page shows the image.
	step(t, ctx, "open the gallery", clickAndLoad(`header nav a[href="/gallery"]`),
		chromedp.Poll[chromedp.Void](imageLoaded("a.tile img")))
	screenshot(t, ctx, shots, "gallery.png")
	step(t, ctx, "open the image", clickAndLoad("a.tile"),
		chromedp.Poll[chromedp.Void](imageLoaded("img.full")))
	if p := path(t, ctx); !regexp.MustCompile(`^/gallery/[0-9a-f]{32}$`).MatchString(p) {
		t.Fatalf("the tile led to %s", p)
	}
	shown, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("dd.prompt")))
	if err != nil || shown != prompt {
		t.Errorf("the image page shows the prompt %q (%v), want %q", shown, err, prompt)
	}
	screenshot(t, ctx, shots, "image.png")

	downloadPNG(t, ctx)
	imagePage := path(t, ctx)
	link := shareImage(t, ctx, prompt)
	step(t, ctx, "go back to the image", chromedp.Navigate(app.URL+imagePage),
		chromedp.Poll[chromedp.Void](imageLoaded("img.full")))

	// Delete after confirming, and the gallery is empty.
	step(t, ctx, "delete the image", clickAndLoad("#delete-image"))
	select {
	case msg := <-dialogs:
		if msg != "Delete this image for good?" {
			t.Errorf("the confirmation asked %q", msg)
		}
	default:
		t.Error("deleting asked for no confirmation")
	}
	wantPath(t, ctx, "deleting", "/gallery")
	empty, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
		`document.querySelectorAll("a.tile").length === 0 && `+
			`document.body.textContent.includes("No images yet")`))
	if err != nil || !empty {
		t.Errorf("the gallery is not empty after deleting (%v)", err)
	}
	var images int
	if err := app.DB.GetContext(context.Background(), &images,
		"SELECT COUNT(*) FROM images"); err != nil || images != 0 {
		t.Errorf("%d images stored after deleting (%v)", images, err)
	}

	// Sign out; the studio then asks to sign in.
	step(t, ctx, "sign out", clickAndLoad(`form[action="/logout"] button`))
	wantPath(t, ctx, "signing out", "/login")
	step(t, ctx, "open the studio signed out", chromedp.Navigate(app.URL+"/dashboard"))
	wantPath(t, ctx, "opening the studio signed out", "/login")

	for _, p := range found.since(0) {
		t.Errorf("the page reported: %s", p)
	}

	// Last, as its 404 is reported by the browser: deleting the image ended its link.
	step(t, ctx, "open the share link of the deleted image", chromedp.Navigate(link))
	if gone, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
		`document.body.textContent.includes("does not lead to an image")`)); err != nil ||
		!gone {
		t.Errorf("the share link of a deleted image still shows something (%v)", err)
	}
	checkDetectorWorks(t, ctx, found)
}

// shareImage shares the open image with its prompt, opens the link and checks the shared
// page shows the picture and the prompt, and returns the link.
func shareImage(t *testing.T, ctx context.Context, prompt string) string {
	t.Helper()
	step(t, ctx, "share the image", chromedp.Click(chromedp.CSS(`input[name="show_prompt"]`),
		chromedp.NodeVisible), clickAndLoad("#share-image"))
	link, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("share-url")))
	if err != nil || !regexp.MustCompile(`/s/[0-9a-f]{40}$`).MatchString(link) {
		t.Fatalf("the image page shows the share link %q (%v)", link, err)
	}
	step(t, ctx, "open the share link", chromedp.Navigate(link),
		chromedp.Poll[chromedp.Void](imageLoaded("img.full")))
	shown, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("dd.prompt")))
	if err != nil || shown != prompt {
		t.Errorf("the shared page shows the prompt %q (%v), want %q", shown, err, prompt)
	}
	return link
}

// downloadPNG downloads the open image as PNG through the page's link and checks the file.
func downloadPNG(t *testing.T, ctx context.Context) {
	t.Helper()
	dir := t.TempDir()
	_, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior,
		browser.SetDownloadBehaviorParams{Behavior: browser.SetDownloadBehaviorBehaviorAllow,
			DownloadPath: dir, EventsEnabled: new(true)})
	if err != nil {
		t.Fatalf("allow downloads: %v", err)
	}

	dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	progress := chromedp.BrowserEvents(dctx, browser.DownloadProgress)
	step(t, ctx, "click the PNG download",
		chromedp.Click(chromedp.CSS(`a.download[href$="/png"]`), chromedp.NodeVisible))
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("waiting for the download: %v", err)
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			t.Fatal("the download was canceled")
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			break
		}
	}

	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(files) != 1 {
		t.Fatalf("downloaded files: %v, want one", files)
	}
	name := filepath.Base(files[0])
	if !regexp.MustCompile(`^sketchmaker-[0-9a-f]{12}\.png$`).MatchString(name) {
		t.Errorf("downloaded file name %q", name)
	}
	b, err := os.ReadFile(files[0])
	if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("the download is not a PNG (%v): % x", err, b[:min(len(b), 8)])
	}
}

// checkDetectorWorks breaks the CSP on purpose with an inline script and requires the
// collector to notice, so that a silent collector cannot make the test above pass.
func checkDetectorWorks(t *testing.T, ctx context.Context, found *problems) {
	t.Helper()
	before := found.count()
	step(t, ctx, "inject an inline script", chromedp.Evaluate[chromedp.Void](
		`document.head.appendChild(Object.assign(document.createElement("script"),
			{textContent: "window.inlineRan = true"}))`))
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, p := range found.since(before) {
			if mentionsCSP(p) {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	ran, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.inlineRan === true`))
	t.Errorf("an inline script (ran: %v) was not reported as a CSP violation; saw %v",
		ran, found.since(before))
}
