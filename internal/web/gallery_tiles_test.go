package web

import (
	"encoding/json"
	"html"
	"reflect"
	"strings"
	"testing"

	lru "github.com/hashicorp/golang-lru/v2"

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

// TestGalleryJSONMatchesPlainEncoding checks the API answer assembled from kept entries:
// it is valid JSON equal to encoding the same page in one go, the first time and when
// every entry comes from the cache.
func TestGalleryJSONMatchesPlainEncoding(t *testing.T) {
	s := &Server{}
	var err error
	if s.items, err = lru.New[string, []byte](galleryItemsKept); err != nil {
		t.Fatal(err)
	}
	pg := &gallery.Page{Page: 2, Limit: 2, Total: 5, Images: []gallery.Image{
		{ID: "aaaa-0001", UserID: 7, Prompt: `a "quoted" <b>bold</b> & Ünïcödé`,
			Model: "builtin/sketch", Engine: "builtin", Style: "modern", Width: 512,
			Height: 512, Seed: 42, Format: "png", CreatedAt: 1_700_000_000_000},
		{ID: "aaaa-0002", UserID: 7, Prompt: "line\u2028separator", Model: "fal/flux",
			Engine: "fal", Format: "webp", CreatedAt: 1_700_000_001_000},
	}}
	items := make([]galleryItem, len(pg.Images))
	for i := range pg.Images {
		items[i] = newGalleryItem(&pg.Images[i])
	}
	plain, err := json.Marshal(map[string]any{"images": items, "pagination": pagination{
		Page: 2, PerPage: 2, Total: 5, Pages: 3, HasNext: true, HasPrev: true}})
	if err != nil {
		t.Fatal(err)
	}
	var want any
	if err := json.Unmarshal(plain, &want); err != nil {
		t.Fatal(err)
	}

	for _, round := range []string{"first", "cached"} {
		body := s.galleryJSON(pg)
		var got any
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("%s: not JSON: %v\n%s", round, err, body)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s:\n got %s\nwant %s", round, body, plain)
		}
		if strings.Contains(string(body), "<b>") {
			t.Fatalf("%s: HTML not escaped in %s", round, body)
		}
	}
}

// TestAssetURLsAreWrittenIntoPages checks the asset calls replaced when the templates are
// parsed: every page links its styles, icon and script by content hash.
func TestAssetURLsAreWrittenIntoPages(t *testing.T) {
	v, err := loadViews()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := v.pages["login"].Execute(&b, page{Title: "Sign in", Data: map[string]any{}}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"app.css", "icon.svg", "app.js"} {
		want := `"/static/` + name + `?v=` + v.hashes[name] + `"`
		if v.hashes[name] == "" || !strings.Contains(b.String(), want) {
			t.Errorf("the page does not link %s as %s", name, want)
		}
	}
	if strings.Contains(b.String(), "asset") {
		t.Error("an asset call was left in the page")
	}
}
