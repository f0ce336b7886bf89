package e2e_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromiumPath returns the browser to drive: SKETCHMAKER_TEST_CHROMIUM when it names a
// file, otherwise "chromium" on PATH. It skips the test when there is neither.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("SKETCHMAKER_TEST_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
		t.Logf("SKETCHMAKER_TEST_CHROMIUM=%s does not exist; looking for chromium on PATH", p)
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("no browser for the end-to-end test: set SKETCHMAKER_TEST_CHROMIUM to a " +
			"Chromium binary or install Debian's chromium package")
	}
	return p
}

// problems collects what the page reports as wrong: console errors, uncaught exceptions,
// browser log errors and Content-Security-Policy violations.
type problems struct {
	mu   sync.Mutex
	list []string
}

// listen is the target listener. It runs in the loop that reads the browser's messages,
// so it only records.
func (p *problems) listen(ev any) {
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		text := argsText(ev.Args)
		if ev.Type == runtime.ConsoleAPICalledTypeError || mentionsCSP(text) {
			p.add("console." + string(ev.Type) + ": " + text)
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			text += " " + d.Exception.Description
		}
		p.add(fmt.Sprintf("uncaught exception at %s:%d: %s", d.URL, d.LineNumber+1, text))
	case *log.EventEntryAdded:
		e := ev.Entry
		if e.Level == log.EntryLevelError || mentionsCSP(e.Text) {
			p.add(fmt.Sprintf("browser log (%s, %s) %s: %s", e.Source, e.Level, e.URL, e.Text))
		}
	}
}

func mentionsCSP(s string) bool {
	return strings.Contains(s, "Content Security Policy") ||
		strings.Contains(s, "Content-Security-Policy")
}

func argsText(args []*runtime.RemoteObject) string {
	var parts []string
	for _, a := range args {
		switch {
		case a.Description != "":
			parts = append(parts, a.Description)
		case len(a.Value) > 0:
			parts = append(parts, string(a.Value))
		default:
			parts = append(parts, string(a.Type))
		}
	}
	return strings.Join(parts, " ")
}

func (p *problems) add(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.list = append(p.list, s)
}

// since returns the problems recorded after the first n.
func (p *problems) since(n int) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.list[min(n, len(p.list)):]...)
}

func (p *problems) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.list)
}

// startBrowser starts the Chromium at exe with a fresh profile and returns a tab whose
// problems are collected from its very first event. Everything stops after limit.
func startBrowser(t *testing.T, exe string, limit time.Duration) (context.Context, *problems) {
	t.Helper()
	root, cancelRoot := context.WithTimeout(context.Background(), limit)
	t.Cleanup(cancelRoot)

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(root,
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	t.Cleanup(cancelAlloc) // waits for the browser to exit before its profile is removed

	found := &problems{}
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithListener(found.listen))
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}
	if _, err := chromedp.Call(ctx, log.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("enable the browser log: %v", err)
	}
	return ctx, found
}

// acceptDialogs accepts every JavaScript dialog the tab opens and sends each message on
// the returned channel.
func acceptDialogs(t *testing.T, ctx context.Context) <-chan string {
	t.Helper()
	opened := chromedp.Events(ctx, page.JavascriptDialogOpening)
	messages := make(chan string, 8)
	go func() {
		for ev, err := range opened {
			if err != nil {
				return
			}
			_, err := chromedp.Call(ctx, page.HandleJavaScriptDialog,
				page.HandleJavaScriptDialogParams{Accept: true})
			if err != nil {
				return
			}
			select {
			case messages <- ev.Message:
			default:
			}
		}
	}()
	return messages
}

// step runs actions with their own time limit and fails the test with what was being
// done when they fail.
func step(
	t *testing.T,
	ctx context.Context,
	what string,
	actions ...chromedp.Action[chromedp.Void],
) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// clickAndLoad clicks the element and waits for the page it leads to.
func clickAndLoad(sel string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.WaitEvent(page.LoadEventFired, nil,
			chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))(ctx, tg)
		return chromedp.Void{}, err
	}
}

// fill types value into the field named name.
func fill(name, value string) chromedp.Action[chromedp.Void] {
	return chromedp.SendKeys(chromedp.CSS(`[name="`+name+`"]`), value, chromedp.NodeVisible)
}

// path returns the path of the tab's current address.
func path(t *testing.T, ctx context.Context) string {
	t.Helper()
	p, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`))
	if err != nil {
		t.Fatalf("read the location: %v", err)
	}
	return p
}

// wantPath fails the test when the tab is not on want.
func wantPath(t *testing.T, ctx context.Context, after, want string) {
	t.Helper()
	if got := path(t, ctx); got != want {
		t.Fatalf("after %s the browser is on %s, want %s", after, got, want)
	}
}

// screenshot saves the viewport as name into dir and, when SKETCHMAKER_E2E_SCREENSHOTS
// names a directory, there too.
func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dirs := []string{dir}
	if extra := os.Getenv("SKETCHMAKER_E2E_SCREENSHOTS"); extra != "" {
		dirs = append(dirs, extra)
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatalf("screenshot folder: %v", err)
		}
		if err := os.WriteFile(filepath.Join(d, name), png, 0o644); err != nil {
			t.Fatalf("save screenshot: %v", err)
		}
	}
}
