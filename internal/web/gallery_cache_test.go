package web_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/apptest"
)

// TestGalleryAnswersFollowChanges reads the gallery page, the gallery API and a thumbnail
// twice, so the second reads come from the caches, then makes and deletes images and
// checks that every answer shows the change at once: a cached listing, image or thumbnail
// is never served after the owner's images changed.
func TestGalleryAnswersFollowChanges(t *testing.T) {
	i2EachDB(t, func(t *testing.T, app *apptest.App) {
		c := app.Client(t)
		c.Register("cache@example.com", goodPassword)
		app.SetCredits(t, c.UserID(), 10)
		tok := c.CSRF()
		first := i2Generate(t, c, tok, map[string]any{"prompt": "a red kite over hills",
			"image_size": "square"}).Images[0].ID

		check := func(step string, ids ...string) {
			t.Helper()
			for range 2 {
				var api struct {
					Images []struct{ ID string } `json:"images"`
				}
				res := c.Get("/api/gallery?limit=10")
				if err := json.Unmarshal(res.Body, &api); err != nil {
					t.Fatalf("%s: gallery API: %v: %s", step, err, res.Body)
				}
				page := string(c.Get("/gallery").Body)
				if len(api.Images) != len(ids) ||
					strings.Count(page, `class="tile"`) != len(ids) {
					t.Fatalf("%s: the API lists %d images and the page %d, want %d", step,
						len(api.Images), strings.Count(page, `class="tile"`), len(ids))
				}
				for _, id := range ids {
					if !strings.Contains(page, "/images/"+id+"/thumb") {
						t.Fatalf("%s: the page does not show %s", step, id)
					}
				}
			}
		}
		thumb := func(id string) int {
			t.Helper()
			res := c.Get("/images/" + id + "/thumb")
			if res.StatusCode == http.StatusOK && len(res.Body) == 0 {
				t.Fatalf("thumbnail of %s is empty", id)
			}
			return res.StatusCode
		}

		check("after the first image", first)
		for range 2 {
			if code := thumb(first); code != http.StatusOK {
				t.Fatalf("thumbnail: status %d", code)
			}
		}
		second := i2Generate(t, c, tok, map[string]any{"prompt": "a blue kite at dusk",
			"image_size": "square"}).Images[0].ID
		check("after the second image", first, second)

		res := c.Send(http.MethodDelete, "/api/gallery/"+first, "", nil, tok)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("delete: status %d: %s", res.StatusCode, res.Body)
		}
		check("after deleting the first", second)
		if code := thumb(first); code != http.StatusNotFound {
			t.Fatalf("thumbnail of a deleted image: status %d, want 404", code)
		}
		if code := c.Get("/gallery/" + first).StatusCode; code != http.StatusNotFound {
			t.Fatalf("page of a deleted image: status %d, want 404", code)
		}

		// Another user finds none of it, cached or not.
		other := app.Client(t)
		other.Register("other@example.com", goodPassword)
		if code := other.Get("/images/" + second + "/thumb").StatusCode; code !=
			http.StatusNotFound {
			t.Fatalf("another user's thumbnail: status %d, want 404", code)
		}
	})
}
