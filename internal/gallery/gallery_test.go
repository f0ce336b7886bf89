package gallery_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/blob"
	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
	"github.com/sketchmaker/sketchmaker/internal/gallery"
	"github.com/sketchmaker/sketchmaker/internal/media"
)

func setup(t *testing.T, db *database.DB) (*gallery.Gallery, blob.Store, [2]int64) {
	t.Helper()
	blobs, err := blob.NewDisk(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var ids [2]int64
	for i, email := range []string{"a@example.com", "b@example.com"} {
		q := db.Rebind(`INSERT INTO users (email, created_at, updated_at) VALUES (?, 0, 0)
			RETURNING id`)
		if err := db.GetContext(context.Background(), &ids[i], q, email); err != nil {
			t.Fatal(err)
		}
	}
	return gallery.New(db, blobs, slog.New(slog.NewTextHandler(io.Discard, nil))), blobs, ids
}

// add stores an image with real files for userID.
func add(t *testing.T, g *gallery.Gallery, blobs blob.Store, userID int64, n int,
	prompt string) *gallery.Image {
	t.Helper()
	ctx := context.Background()
	im := &gallery.Image{
		ID: fmt.Sprintf("%032x", int64(n)+userID<<40), UserID: userID, Prompt: prompt,
		Model: "builtin/sketch", Engine: "builtin", Style: "modern", Width: 512,
		Height: 512, Seed: int64(n), Format: "png", CreatedAt: int64(1000 + n),
		BlobKey: blob.NewKey("images", ".png"), ThumbKey: blob.NewKey("thumbs", ".webp"),
	}
	for _, k := range []string{im.BlobKey, im.ThumbKey} {
		if err := blobs.Put(ctx, k, strings.NewReader("bytes of "+k)); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.Add(ctx, im); err != nil {
		t.Fatal(err)
	}
	return im
}

func TestListIsOwnNewestFirstAndPaged(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		g, blobs, u := setup(t, db)
		for i := 0; i < 5; i++ {
			add(t, g, blobs, u[0], i, fmt.Sprintf("a red boat %d", i))
		}
		add(t, g, blobs, u[1], 99, "someone else's 100%_secret boat")

		pg, err := g.List(ctx, u[0], gallery.Filter{}, 1, 2)
		if err != nil {
			t.Fatal(err)
		}
		if pg.Total != 5 || pg.Pages() != 3 || len(pg.Images) != 2 ||
			pg.Images[0].Seed != 4 || pg.Images[1].Seed != 3 {
			t.Fatalf("page 1: total %d pages %d images %+v", pg.Total, pg.Pages(), pg.Images)
		}
		pg, _ = g.List(ctx, u[0], gallery.Filter{}, 3, 2)
		if len(pg.Images) != 1 || pg.Images[0].Seed != 0 {
			t.Fatalf("last page: %+v", pg.Images)
		}

		// Search treats % and _ as text, and never crosses to another user.
		pg, _ = g.List(ctx, u[0], gallery.Filter{Search: "100%_secret"}, 1, 10)
		if pg.Total != 0 {
			t.Fatalf("search found another user's image: %+v", pg.Images)
		}
		pg, _ = g.List(ctx, u[1], gallery.Filter{Search: "100%_SECRET"}, 1, 10)
		if pg.Total != 1 {
			t.Fatalf("search for literal %%_ found %d", pg.Total)
		}
	})
}

func TestOtherUsersImagesAreNotFound(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		g, blobs, u := setup(t, db)
		im := add(t, g, blobs, u[0], 1, "mine")

		if _, err := g.Get(ctx, u[1], im.ID); !errors.Is(err, gallery.ErrNotFound) {
			t.Fatalf("another user's Get: %v", err)
		}
		if err := g.Delete(ctx, u[1], im.ID); !errors.Is(err, gallery.ErrNotFound) {
			t.Fatalf("another user's Delete: %v", err)
		}
		for _, bad := range []string{"", "../../etc/passwd", "' OR 1=1 --", strings.Repeat("a", 65)} {
			if _, err := g.Get(ctx, u[0], bad); !errors.Is(err, gallery.ErrNotFound) {
				t.Fatalf("Get(%q): %v", bad, err)
			}
		}
		if _, err := g.Get(ctx, u[0], im.ID); err != nil {
			t.Fatalf("the owner lost the image: %v", err)
		}
	})
}

func TestDeleteRemovesFiles(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		g, blobs, u := setup(t, db)
		one := add(t, g, blobs, u[0], 1, "one")
		two := add(t, g, blobs, u[0], 2, "two")
		other := add(t, g, blobs, u[1], 3, "other")

		if err := g.Delete(ctx, u[0], one.ID); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{one.BlobKey, one.ThumbKey} {
			if _, _, err := blobs.Open(ctx, k); !errors.Is(err, blob.ErrNotFound) {
				t.Fatalf("file %s survived deletion: %v", k, err)
			}
		}

		if err := g.DeleteAll(ctx, u[0]); err != nil {
			t.Fatal(err)
		}
		if n, _ := g.Count(ctx, u[0]); n != 0 {
			t.Fatalf("%d images left after DeleteAll", n)
		}
		if _, _, err := blobs.Open(ctx, two.ThumbKey); !errors.Is(err, blob.ErrNotFound) {
			t.Fatal("DeleteAll left a thumbnail")
		}
		f, _, err := g.Open(ctx, other, false)
		if err != nil {
			t.Fatalf("another user's file went with DeleteAll: %v", err)
		}
		f.Close()
	})
}

func TestOpenAsConvertsOnceAndDeleteRemovesVariants(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		g, blobs, u := setup(t, db)
		im := add(t, g, blobs, u[0], 7, "convert me")

		// Replace the placeholder bytes with a real PNG.
		var png bytes.Buffer
		if err := media.Encode(&png, image.NewNRGBA(image.Rect(0, 0, 8, 8)), media.PNG, 0); err != nil {
			t.Fatal(err)
		}
		if err := blobs.Put(ctx, im.BlobKey, &png); err != nil {
			t.Fatal(err)
		}

		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				f, err := g.OpenAs(ctx, im, media.JPEG)
				if err != nil {
					t.Error(err)
					return
				}
				head := make([]byte, 3)
				_, _ = io.ReadFull(f, head)
				f.Close()
				if !bytes.Equal(head, []byte{0xff, 0xd8, 0xff}) {
					t.Errorf("converted copy starts % x, not a JPEG", head)
				}
			}()
		}
		wg.Wait()
		kept, _, err := blobs.Open(ctx, variantKeysForTest(im.ID)[0])
		if err != nil {
			t.Fatalf("the converted copy was not kept: %v", err)
		}
		kept.Close()

		if err := g.Delete(ctx, u[0], im.ID); err != nil {
			t.Fatal(err)
		}
		for _, k := range variantKeysForTest(im.ID) {
			if _, _, err := blobs.Open(ctx, k); !errors.Is(err, blob.ErrNotFound) {
				t.Fatalf("variant %s survived deletion: %v", k, err)
			}
		}
	})
}

// TestConversionRacingADeleteKeepsNoCopy converts an image whose record a delete removed
// while the conversion read its file: the copy is not kept, and the download is refused.
func TestConversionRacingADeleteKeepsNoCopy(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		g, blobs, u := setup(t, db)
		im := add(t, g, blobs, u[0], 8, "deleted meanwhile")
		var png bytes.Buffer
		if err := media.Encode(&png, image.NewNRGBA(image.Rect(0, 0, 8, 8)), media.PNG,
			0); err != nil {
			t.Fatal(err)
		}
		original := png.Bytes()
		if err := g.Delete(ctx, u[0], im.ID); err != nil {
			t.Fatal(err)
		}
		// The conversion had read the original before the delete removed it.
		if err := blobs.Put(ctx, im.BlobKey, bytes.NewReader(original)); err != nil {
			t.Fatal(err)
		}

		if f, err := g.OpenAs(ctx, im, media.WebP); !errors.Is(err, gallery.ErrNotFound) {
			if f != nil {
				f.Close()
			}
			t.Fatalf("converting a deleted image: %v, want ErrNotFound", err)
		}
		for _, k := range variantKeysForTest(im.ID) {
			if _, _, err := blobs.Open(ctx, k); !errors.Is(err, blob.ErrNotFound) {
				t.Errorf("variant %s of a deleted image was kept: %v", k, err)
			}
		}
	})
}

func variantKeysForTest(id string) []string {
	return []string{"variants/" + id[:2] + "/" + id + ".jpg",
		"variants/" + id[:2] + "/" + id + ".webp", "variants/" + id[:2] + "/" + id + ".png"}
}
