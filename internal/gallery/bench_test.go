package gallery_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/blob"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
	"github.com/sketchmaker/sketchmaker/internal/gallery"
)

// BenchmarkList reads a page of 50 of a user's 500 images from SQLite, the gallery page's
// query (issue 8).
func BenchmarkList(b *testing.B) {
	db := dbtest.SQLite(b)
	ctx := context.Background()
	var uid int64
	q := db.Rebind(`INSERT INTO users (email, created_at, updated_at) VALUES ('b@x.org', 0, 0)
		RETURNING id`)
	if err := db.GetContext(ctx, &uid, q); err != nil {
		b.Fatal(err)
	}
	blobs, err := blob.NewDisk(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	g := gallery.New(db, blobs, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for i := range 500 {
		err := g.Add(ctx, &gallery.Image{ID: fmt.Sprintf("img-%08d", i), UserID: uid,
			JobID: "job-00000001", Prompt: fmt.Sprintf("a harbour at dusk, study %d", i),
			Model: "builtin/sketch", Engine: "builtin", Style: "modern", Width: 512,
			Height: 512, Format: "png", BlobKey: "images/x.png", ThumbKey: "thumbs/x.webp",
			CreatedAt: int64(1_700_000_000_000 + i)})
		if err != nil {
			b.Fatal(err)
		}
	}

	b.ReportAllocs()
	for b.Loop() {
		pg, err := g.List(ctx, uid, gallery.Filter{}, 2, 50)
		if err != nil || len(pg.Images) != 50 || pg.Total != 500 {
			b.Fatalf("page: %v, %d images of %d", err, len(pg.Images), pg.Total)
		}
	}
}
