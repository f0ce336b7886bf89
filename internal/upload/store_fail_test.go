package upload

import (
	"bytes"
	"context"
	"errors"
	"image/color"
	"io"
	"path/filepath"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/blob"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
	"github.com/sketchmaker/sketchmaker/internal/fault"
)

// downStore is a file store that takes nothing, as a full disk or a bucket that does
// not answer.
type downStore struct{ blob.Store }

func (downStore) Put(context.Context, string, io.Reader) error {
	return errors.New("connection refused")
}

func TestAStoreThatIsDownIsATryAgain(t *testing.T) {
	db := dbtest.SQLite(t)
	root := t.TempDir()
	disk, err := blob.NewDisk(filepath.Join(root, "files"))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(db, downStore{disk}, Options{TempDir: filepath.Join(root, "tmp")})
	if err != nil {
		t.Fatal(err)
	}
	uid := addUser(t, db, "down@example.com")
	pic := pngOf(t, 64, 48, color.NRGBA{R: 200, G: 40, B: 40, A: 255})

	_, err = svc.Accept(context.Background(), uid, "a.png", bytes.NewReader(pic))
	if fe := fault.As(err); fe == nil || fe.Kind != fault.Unavailable {
		t.Fatalf("Accept with the store down: %v", err)
	}
	var n int
	if err := db.GetContext(context.Background(), &n, "SELECT COUNT(*) FROM uploads"); err != nil ||
		n != 0 {
		t.Fatalf("%d uploads recorded (%v)", n, err)
	}
}
