package web

import (
	"fmt"
	"io"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/account"
	"github.com/sketchmaker/sketchmaker/internal/gallery"
	"github.com/sketchmaker/sketchmaker/internal/role"
)

// BenchmarkGalleryTemplate executes the gallery page's templates, layout included, for a
// signed-in user and a page of fifty tiles built beforehand: the part of a gallery page's
// time that html/template takes (issue 8).
func BenchmarkGalleryTemplate(b *testing.B) {
	v, err := loadViews()
	if err != nil {
		b.Fatal(err)
	}
	images := make([]gallery.Image, 50)
	for i := range images {
		images[i] = gallery.Image{ID: fmt.Sprintf("%032x", i), Prompt: "a lighthouse at dusk"}
	}
	pg := &gallery.Page{Images: images, Total: 500, Page: 1, Limit: 50}
	p := page{Title: "Gallery", User: &account.User{ID: 1, Username: "ada", Credits: 12_000,
		Role: role.User}, CSRF: "token-of-forty-three-characters-0123456789ab", Path: "/gallery",
		Data: map[string]any{"Page": pg, "Query": "", "Prev": 0, "Next": 2, "PerPage": 0,
			"Tiles": tiles(images)}}
	b.ReportAllocs()
	for b.Loop() {
		if err := v.pages["gallery"].Execute(io.Discard, p); err != nil {
			b.Fatal(err)
		}
	}
}
