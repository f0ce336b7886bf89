package gallery_test

import (
	"context"
	"errors"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
	"github.com/sketchmaker/sketchmaker/internal/gallery"
)

func TestShareLinks(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		g, blobs, u := setup(t, db)
		mine := add(t, g, blobs, u[0], 1, "a kite over the dunes")
		theirs := add(t, g, blobs, u[1], 2, "someone else's kite")

		// Nobody shares another's image, and an unshared image opens nothing.
		if _, err := g.ShareImage(ctx, u[1], mine.ID, true); !errors.Is(err,
			gallery.ErrNotFound) {
			t.Fatalf("sharing another's image: %v", err)
		}
		if sh, err := g.ShareOf(ctx, u[0], mine.ID); sh != nil || err != nil {
			t.Fatalf("share of an unshared image: %+v %v", sh, err)
		}

		sh, err := g.ShareImage(ctx, u[0], mine.ID, false)
		if err != nil || len(sh.Token) != 40 || sh.ShowPrompt {
			t.Fatalf("share: %+v %v", sh, err)
		}
		im, got, err := g.Shared(ctx, sh.Token)
		if err != nil || im.ID != mine.ID || im.BlobKey != mine.BlobKey || got.ShowPrompt {
			t.Fatalf("shared: %+v %+v %v", im, got, err)
		}

		// Sharing again keeps the link and takes the new choice about the prompt.
		again, err := g.ShareImage(ctx, u[0], mine.ID, true)
		if err != nil || again.Token != sh.Token || !again.ShowPrompt {
			t.Fatalf("share again: %+v %v", again, err)
		}

		// Links are not guessable from ids, and junk never matches.
		for _, bad := range []string{"", mine.ID, theirs.ID, sh.Token[:39] + "x",
			sh.Token + "0", "../../etc/passwd"} {
			if _, _, err := g.Shared(ctx, bad); !errors.Is(err, gallery.ErrNoShare) {
				t.Fatalf("Shared(%q): %v", bad, err)
			}
		}

		// The owner's account must be active.
		setStatus := func(status string) {
			if _, err := db.ExecContext(ctx, db.Rebind(`UPDATE users SET status = ?
				WHERE id = ?`), status, u[0]); err != nil {
				t.Fatal(err)
			}
		}
		setStatus("disabled")
		if _, _, err := g.Shared(ctx, sh.Token); !errors.Is(err, gallery.ErrNoShare) {
			t.Fatalf("share of a disabled account: %v", err)
		}
		setStatus("active")

		// Stopping the share ends the link; another user cannot stop it.
		if _, err := g.Unshare(ctx, u[1], mine.ID); !errors.Is(err, gallery.ErrNotFound) {
			t.Fatalf("unshare by another: %v", err)
		}
		if ok, err := g.Unshare(ctx, u[0], mine.ID); !ok || err != nil {
			t.Fatalf("unshare: %v %v", ok, err)
		}
		if _, _, err := g.Shared(ctx, sh.Token); !errors.Is(err, gallery.ErrNoShare) {
			t.Fatalf("after unshare: %v", err)
		}

		// Deleting the image ends its link.
		sh, err = g.ShareImage(ctx, u[0], mine.ID, false)
		if err != nil {
			t.Fatal(err)
		}
		if shared, err := g.Remove(ctx, u[0], mine.ID); err != nil || !shared {
			t.Fatalf("Remove of a shared image: %v %v", shared, err)
		}
		other := add(t, g, blobs, u[0], 3, "never shared")
		if shared, err := g.Remove(ctx, u[0], other.ID); err != nil || shared {
			t.Fatalf("Remove of an unshared image: %v %v", shared, err)
		}
		if _, _, err := g.Shared(ctx, sh.Token); !errors.Is(err, gallery.ErrNoShare) {
			t.Fatalf("after deletion: %v", err)
		}
	})
}
