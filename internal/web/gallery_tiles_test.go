package web

import (
	"html"
	"strings"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/gallery"
)

// TestTilesEscapeHostilePrompts checks the hand-built gallery grid: every prompt comes back
// intact after unescaping, and nothing in it can close an attribute or open a tag.
func TestTilesEscapeHostilePrompts(t *testing.T) {
	prompts := []string{
		`"><img src=x onerror=alert(1)>`,
		`' onmouseover='alert(1)`,
		`</span></a><script>alert(document.cookie)</script>`,
		`a & b &amp; c &#34; d`,
		"Ünïcödé + `backticks` = fine",
		`javascript:alert(1)`,
	}
	images := make([]gallery.Image, len(prompts))
	for i, p := range prompts {
		images[i] = gallery.Image{ID: "0123abcd-ef", Prompt: p}
	}
	out := string(tiles(images))

	if got := strings.Count(out, `<a class="tile" href="/gallery/0123abcd-ef">`); got != len(prompts) {
		t.Fatalf("%d tiles, want %d:\n%s", got, len(prompts), out)
	}
	for _, p := range prompts {
		esc := html.EscapeString(p)
		if strings.ContainsAny(esc, `<>"'`) {
			t.Fatalf("escaped prompt %q still holds markup", esc)
		}
		if html.UnescapeString(esc) != p {
			t.Fatalf("prompt %q does not survive escaping", p)
		}
		if want := `alt="` + esc + `"`; !strings.Contains(out, want) {
			t.Errorf("alt attribute for %q missing: want %s", p, want)
		}
		if want := `<span>` + esc + `</span>`; !strings.Contains(out, want) {
			t.Errorf("caption for %q missing: want %s", p, want)
		}
	}
	// Only the grid's own tags appear: three opening tags per tile, no script.
	if strings.Count(out, "<") != len(prompts)*5 || strings.Contains(out, "<script") {
		t.Fatalf("unexpected markup in the grid:\n%s", out)
	}
}
