package upload

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/blob"
	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
	"github.com/sketchmaker/sketchmaker/internal/fault"
)

// testdata is the shared folder of real inputs, relative to this package.
var testdata = filepath.Join("..", "..", "..", "shared", "testdata")

// shared reads a file of the shared test data, or skips the test when it is absent.
func shared(t testing.TB, parts ...string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(append([]string{testdata}, parts...)...))
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("shared test data is not available: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// sharedNames lists the files of a shared folder, or skips.
func sharedNames(t testing.TB, dir string) []string {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(testdata, dir, "*"))
	if len(paths) == 0 {
		t.Skipf("shared test data %s is not available", dir)
	}
	var names []string
	for _, p := range paths {
		if filepath.Base(p) != "README.md" {
			names = append(names, filepath.Base(p))
		}
	}
	return names
}

// rig is a service on a fresh database, with its folders under one root.
type rig struct {
	svc    *Service
	db     *database.DB
	root   string // holds tmp/ and files/ and nothing else
	user   int64
	stored string // the blob directory
}

// newRig builds a service on SQLite. change, when not nil, adjusts the options.
func newRig(t testing.TB, change func(*Options)) *rig {
	t.Helper()
	return newRigOn(t, dbtest.SQLite(t), change)
}

func newRigOn(t testing.TB, db *database.DB, change func(*Options)) *rig {
	t.Helper()
	root := t.TempDir()
	blobs, err := blob.NewDisk(filepath.Join(root, "files"))
	if err != nil {
		t.Fatal(err)
	}
	o := Options{TempDir: filepath.Join(root, "tmp"),
		Now: func() time.Time { return time.UnixMilli(1_700_000_000_000) }}
	if change != nil {
		change(&o)
	}
	svc, err := New(db, blobs, o)
	if err != nil {
		t.Fatal(err)
	}
	return &rig{svc: svc, db: db, root: root, user: addUser(t, db, "someone@example.com"),
		stored: filepath.Join(root, "files")}
}

// addUser inserts a bare user row and returns its id.
func addUser(t testing.TB, db *database.DB, email string) int64 {
	t.Helper()
	ctx := context.Background()
	_, err := db.ExecContext(ctx, db.Rebind(`INSERT INTO users (email, created_at,
		updated_at) VALUES (?, 0, 0)`), email)
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := db.GetContext(ctx, &id, db.Rebind(`SELECT id FROM users WHERE email = ?`),
		email); err != nil {
		t.Fatal(err)
	}
	return id
}

// files returns every regular file under dir, relative to it.
func files(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return out
}

// assertNothingKept fails when any file or upload row exists: in the blob store, in the
// temporary folder, anywhere else under the root, or in the database.
func (r *rig) assertNothingKept(t testing.TB) {
	t.Helper()
	if left := files(t, r.root); len(left) > 0 {
		t.Errorf("files left behind: %v", left)
	}
	var n int
	if err := r.db.GetContext(context.Background(), &n, `SELECT COUNT(*) FROM uploads`); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d upload rows left behind", n)
	}
}

// kindOf returns the fault kind of err, failing the test when it has none.
func kindOf(t testing.TB, err error) fault.Kind {
	t.Helper()
	fe := fault.As(err)
	if fe == nil {
		t.Fatalf("error %v (%T) has no safe face", err, err)
	}
	return fe.Kind
}

// pngOf encodes a w×h image of one colour.
func pngOf(t testing.TB, w, h int, c color.NRGBA) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
