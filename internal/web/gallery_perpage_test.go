package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/apptest"
	"github.com/sketchmaker/sketchmaker/internal/job"
)

// TestGalleryPerPage lets the gallery page show another number of images per page, from
// 1 to 100, and keeps that number in the pager's links; anything else shows the default.
func TestGalleryPerPage(t *testing.T) {
	app := apptest.New(t)
	c := app.Client(t)
	c.Register("pages@example.com", goodPassword)
	userID := c.UserID()

	q := app.DB.Rebind(`INSERT INTO images (id, user_id, job_id, prompt, negative_prompt,
		model, engine, style, width, height, seed, format, blob_key, thumb_key, size_bytes,
		created_at) VALUES (?, ?, ?, ?, '', 'builtin/sketch', 'builtin', 'modern', 64, 64,
		?, 'png', ?, ?, 100, ?)`)
	for i := range 30 {
		id := job.NewID()
		_, err := app.DB.ExecContext(context.Background(), q, id, userID, job.NewID(),
			fmt.Sprintf("picture %d", i), i, "images/"+id+".png", "thumbs/"+id+".webp",
			time.Now().Add(time.Duration(i)*time.Second).UnixMilli())
		if err != nil {
			t.Fatal(err)
		}
	}

	cases := []struct {
		query     string
		tiles     int
		pager     string
		olderLink string // "" when there is no older page
	}{
		{"", 24, "Page 1 of 2", "/gallery?page=2&amp;q=\""},
		{"?per_page=50", 30, "Page 1 of 1", ""},
		{"?per_page=10", 10, "Page 1 of 3", "/gallery?page=2&amp;q=&amp;per_page=10\""},
		{"?per_page=10&page=3", 10, "Page 3 of 3", ""},
		{"?per_page=1000", 24, "Page 1 of 2", "/gallery?page=2&amp;q=\""},
		{"?per_page=0", 24, "Page 1 of 2", "/gallery?page=2&amp;q=\""},
		{"?per_page=ten", 24, "Page 1 of 2", "/gallery?page=2&amp;q=\""},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			res := c.Get("/gallery" + tc.query)
			page := string(res.Body)
			if got := strings.Count(page, `class="tile"`); got != tc.tiles {
				t.Errorf("%d images shown, want %d", got, tc.tiles)
			}
			if !strings.Contains(page, tc.pager) {
				t.Errorf("the pager does not say %q", tc.pager)
			}
			if tc.olderLink != "" && !strings.Contains(page, tc.olderLink) {
				t.Errorf("no link %s in the pager", tc.olderLink)
			}
			if tc.olderLink == "" && strings.Contains(page, ">Older<") {
				t.Error("a link to an older page that does not exist")
			}
		})
	}
}
