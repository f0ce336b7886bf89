package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/apptest"
)

// firstImage makes an image for c and returns its id.
func firstImage(t *testing.T, c *apptest.Client, prompt string) string {
	t.Helper()
	res := c.PostJSON("/generate/image", map[string]any{"prompt": prompt})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("generate: %d %s", res.StatusCode, res.Body)
	}
	var out struct {
		Images []struct {
			ID string `json:"id"`
		} `json:"images"`
	}
	if err := json.Unmarshal(res.Body, &out); err != nil || len(out.Images) == 0 {
		t.Fatalf("generate answered %s", res.Body)
	}
	return out.Images[0].ID
}

var shareURLRE = regexp.MustCompile(`<code class="secret" id="share-url">[^<]*(/s/[0-9a-f]{40})</code>`)

func TestShareLinkShowsOnlyWhatTheOwnerChose(t *testing.T) {
	app := apptest.New(t)
	owner := signedIn(t, app, "sharer@example.com", 20)
	id := firstImage(t, owner, "a secret garden with <b>roses</b>")

	// Shared without its prompt: a stranger sees the picture and nothing of the owner.
	res := owner.PostForm("/gallery/"+id+"/share", url.Values{})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/gallery/"+id {
		t.Fatalf("share: %d %s", res.StatusCode, res.Body)
	}
	m := shareURLRE.FindSubmatch(owner.Get("/gallery/" + id).Body)
	if m == nil {
		t.Fatal("the image page shows no share link")
	}
	link := string(m[1])

	stranger := app.Client(t)
	page := stranger.Get(link)
	body := string(page.Body)
	if page.StatusCode != http.StatusOK || strings.Contains(body, "secret garden") ||
		strings.Contains(body, "sharer@example.com") || strings.Contains(body, id) ||
		page.Header.Get("X-Robots-Tag") != "noindex, nofollow" ||
		page.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("shared page: %d %v %s", page.StatusCode, page.Header, body)
	}
	pic := stranger.Get(link + "/image")
	download := owner.Get("/download/" + id + "/png")
	// Nothing a shared cache may keep carries a cookie.
	for _, res := range []*apptest.Response{page, pic, stranger.Get("/static/app.css")} {
		if c := res.Header.Get("Set-Cookie"); c != "" {
			t.Errorf("%s sets a cookie: %s", res.Request.URL.Path, c)
		}
	}
	if pic.StatusCode != http.StatusOK || pic.Header.Get("Content-Type") != "image/png" ||
		!bytes.Equal(pic.Body, download.Body) {
		t.Fatalf("shared picture: %d %v", pic.StatusCode, pic.Header)
	}
	// The stranger still cannot reach the owner's gallery routes with the image id.
	if res := stranger.Get("/download/" + id + "/png"); res.StatusCode == http.StatusOK {
		t.Fatal("a stranger downloaded the image by its id")
	}

	// With the prompt, escaped like any page text.
	owner.PostForm("/gallery/"+id+"/share", url.Values{"show_prompt": {"on"}})
	body = string(stranger.Get(link).Body)
	if !strings.Contains(body, "a secret garden with &lt;b&gt;roses&lt;/b&gt;") {
		t.Fatalf("prompt not shown (or not escaped) once chosen: %s", body)
	}
	if !acctAudit(app, "image_shared", `"show_prompt":true`) {
		t.Fatal("sharing not audited")
	}

	// Stopping ends the link at once, for the page and the picture.
	if res := owner.PostForm("/gallery/"+id+"/unshare", url.Values{}); res.StatusCode !=
		http.StatusSeeOther {
		t.Fatalf("unshare: %d", res.StatusCode)
	}
	for _, p := range []string{link, link + "/image"} {
		if res := stranger.Get(p); res.StatusCode != http.StatusNotFound {
			t.Fatalf("%s after unshare: %d", p, res.StatusCode)
		}
	}
	if !acctAudit(app, "image_unshared") {
		t.Fatal("unsharing not audited")
	}
}

func TestShareAPIAndOwnership(t *testing.T) {
	app := apptest.New(t)
	owner := signedIn(t, app, "api-sharer@example.com", 20)
	other := signedIn(t, app, "nosy@example.com", 20)
	id := firstImage(t, owner, "a paper boat")

	// Another user can neither share nor unshare it, by form or API.
	if res := other.PostJSON("/api/gallery/"+id+"/share", map[string]any{}); res.
		StatusCode != http.StatusNotFound {
		t.Fatalf("share by another user: %d", res.StatusCode)
	}
	if res := other.PostForm("/gallery/"+id+"/share", url.Values{}); res.StatusCode !=
		http.StatusNotFound {
		t.Fatalf("form share by another user: %d", res.StatusCode)
	}

	res := owner.PostJSON("/api/gallery/"+id+"/share", map[string]any{"show_prompt": true})
	link, _ := res.JSON()["share_url"].(string)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(link, app.URL+"/s/") {
		t.Fatalf("share API: %d %s", res.StatusCode, res.Body)
	}
	again := owner.PostJSON("/api/gallery/"+id+"/share", map[string]any{"show_prompt": false})
	if again.JSON()["share_url"] != link || again.JSON()["show_prompt"] != false {
		t.Fatalf("sharing twice changed the link: %s", again.Body)
	}
	// Bad input is refused with a message, and changes nothing.
	if res := owner.PostJSON("/api/gallery/"+id+"/share", map[string]any{
		"show_prompt": "yes"}); res.StatusCode != http.StatusBadRequest {
		t.Fatalf("show_prompt as text: %d", res.StatusCode)
	}

	stranger := app.Client(t)
	path := strings.TrimPrefix(link, app.URL)
	if res := stranger.Get(path); res.StatusCode != http.StatusOK {
		t.Fatalf("shared page: %d", res.StatusCode)
	}

	if res := other.Send(http.MethodDelete, "/api/gallery/"+id+"/share", "", nil,
		other.CSRF()); res.StatusCode != http.StatusNotFound {
		t.Fatalf("unshare by another user: %d", res.StatusCode)
	}
	if res := stranger.Get(path); res.StatusCode != http.StatusOK {
		t.Fatalf("shared page after another user's attempt: %d", res.StatusCode)
	}

	// Deleting the image ends the link.
	if res := owner.Send(http.MethodDelete, "/api/gallery/"+id, "", nil,
		owner.CSRF()); res.StatusCode != http.StatusOK {
		t.Fatalf("delete: %d", res.StatusCode)
	}
	if res := stranger.Get(path); res.StatusCode != http.StatusNotFound {
		t.Fatalf("shared page of a deleted image: %d", res.StatusCode)
	}
	if !acctAudit(app, "image_unshared", `"reason":"image_deleted"`) {
		t.Fatal("the link ended by the deletion is not audited")
	}
	var n int
	if err := app.DB.GetContext(context.Background(), &n,
		"SELECT COUNT(*) FROM image_shares"); err != nil || n != 0 {
		t.Fatalf("%d share rows left after deletion (%v)", n, err)
	}

	// Junk tokens are a plain 404.
	for _, p := range []string{"/s/x", "/s/" + strings.Repeat("A", 40), "/s/%2e%2e/image"} {
		if res := stranger.Get(p); res.StatusCode != http.StatusNotFound {
			t.Fatalf("%s: %d", p, res.StatusCode)
		}
	}
}
