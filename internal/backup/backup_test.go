package backup

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/fault"
)

// testPassphrase opens the archives of these tests; testWork keeps scrypt fast.
const (
	testPassphrase = "correct horse battery staple"
	testWork       = 10
)

var ctx = context.Background()

// instance is a data directory with a database and stored files.
type instance struct {
	dir   string
	l     Layout
	db    *database.DB
	files map[string][]byte // key → content of every file a backup must carry
}

// layoutIn returns the layout of a data directory at dir.
func layoutIn(dir string) Layout {
	return Layout{Database: filepath.Join(dir, "sketchmaker.db"),
		Files: filepath.Join(dir, "files"), Secret: filepath.Join(dir, "secret_key"),
		Work: filepath.Join(dir, "tmp")}
}

// newInstance makes a data directory with a few rows, stored files, a secret-key file
// and things a backup must leave out: blob's temporary file, a link and an odd name.
func newInstance(t *testing.T) *instance {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	in := &instance{dir: dir, l: layoutIn(dir), files: map[string][]byte{
		"images/ab/ab01.png":      bytes.Repeat([]byte{1, 2, 3}, 5000),
		"images/cd/cd02.webp":     []byte("webp bytes"),
		"thumbs/ab/ab01_256.webp": {},
	}}
	db, err := database.Open(ctx, in.l.Database)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	in.db = db
	mustExec(t, db, `CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)`)
	mustExec(t, db, `INSERT INTO notes (body) VALUES ('one'), ('two'), ('three')`)

	for key, body := range in.files {
		writeTestFile(t, filepath.Join(in.l.Files, key), body)
	}
	writeTestFile(t, filepath.Join(in.l.Files, "images/ab/.tmp-12345"), []byte("partial"))
	writeTestFile(t, filepath.Join(in.l.Files, "images/UPPER.png"), []byte("odd name"))
	if err := os.Symlink("/etc/passwd", filepath.Join(in.l.Files, "images/ab/link")); err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, in.l.Secret, []byte(strings.Repeat("ab", 32)+"\n"))
	return in
}

func mustExec(t *testing.T, db *database.DB, q string) {
	t.Helper()
	if _, err := db.ExecContext(ctx, q); err != nil {
		t.Fatal(err)
	}
}

func writeTestFile(t *testing.T, path string, body []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
}

func passphraseOptions(t *testing.T) Options {
	t.Helper()
	r, err := PassphraseRecipient(testPassphrase, testWork)
	if err != nil {
		t.Fatal(err)
	}
	return Options{Recipients: []age.Recipient{r}, MadeBy: "sketchmaker test"}
}

func passphraseIDs(t *testing.T, p string) []age.Identity {
	t.Helper()
	id, err := PassphraseIdentity(p)
	if err != nil {
		t.Fatal(err)
	}
	return []age.Identity{id}
}

// backUp writes a backup of in and returns its path.
func (in *instance) backUp(t *testing.T, o Options) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "backup.age")
	if _, err := WriteFile(ctx, in.db, in.l, out, false, o); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkRestored compares a restored data directory with in, byte for byte.
func (in *instance) checkRestored(t *testing.T, l Layout) {
	t.Helper()
	got := map[string][]byte{}
	err := filepath.WalkDir(l.Files, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(l.Files, path)
		got[filepath.ToSlash(rel)], err = os.ReadFile(path)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(in.files) {
		t.Errorf("restored %d files, want %d: %v", len(got), len(in.files), keys(got))
	}
	for key, want := range in.files {
		if !bytes.Equal(got[key], want) {
			t.Errorf("file %s differs after the restore", key)
		}
	}

	db, err := database.Open(ctx, l.Database)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var bodies []string
	if err := db.SelectContext(ctx, &bodies, `SELECT body FROM notes ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	if strings.Join(bodies, ",") != "one,two,three" {
		t.Errorf("restored rows %v", bodies)
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	x25519, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		opts func(t *testing.T) Options
		ids  func(t *testing.T) []age.Identity
	}{
		{"passphrase", passphraseOptions,
			func(t *testing.T) []age.Identity { return passphraseIDs(t, testPassphrase) }},
		{"passphrase without gzip", func(t *testing.T) Options {
			o := passphraseOptions(t)
			o.NoGzip = true
			return o
		}, func(t *testing.T) []age.Identity { return passphraseIDs(t, testPassphrase) }},
		{"recipient", func(*testing.T) Options {
			return Options{Recipients: []age.Recipient{x25519.Recipient()}}
		}, func(*testing.T) []age.Identity { return []age.Identity{x25519} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := newInstance(t)
			out := in.backUp(t, tc.opts(t))
			if st, err := os.Stat(out); err != nil || st.Mode().Perm() != 0o600 {
				t.Fatalf("backup file: %v, mode %v", err, st.Mode())
			}
			leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".*"))
			if len(leftovers) != 0 {
				t.Errorf("temporary files left beside the backup: %v", leftovers)
			}

			target := layoutIn(filepath.Join(t.TempDir(), "restored"))
			res, err := Restore(ctx, out, tc.ids(t), target, false, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			in.checkRestored(t, target)
			m := res.Manifest
			if m.Files != 3 || !m.SecretFile || m.Format != FormatVersion || len(res.Aside) != 0 {
				t.Errorf("manifest %+v, aside %v", m, res.Aside)
			}
			secret, _ := os.ReadFile(target.Secret)
			if string(secret) != strings.Repeat("ab", 32)+"\n" {
				t.Errorf("secret-key file %q", secret)
			}
			stray, _ := filepath.Glob(filepath.Join(filepath.Dir(target.Files), ".restore-*"))
			if len(stray) != 0 {
				t.Errorf("staging left behind: %v", stray)
			}
		})
	}
}

func TestPassphraseRules(t *testing.T) {
	for _, p := range []string{"", "short", "elevenchars"} {
		if _, err := PassphraseRecipient(p, testWork); fault.As(err) == nil {
			t.Errorf("passphrase %q accepted: %v", p, err)
		}
	}
	if _, err := PassphraseRecipient("twelve chars", testWork); err != nil {
		t.Errorf("twelve characters refused: %v", err)
	}
}

func TestWriteFileRefusals(t *testing.T) {
	in := newInstance(t)
	out := in.backUp(t, passphraseOptions(t))
	before, _ := os.ReadFile(out)

	_, err := WriteFile(ctx, in.db, in.l, out, false, passphraseOptions(t))
	if !errors.Is(err, ErrExists) {
		t.Fatalf("overwrite without force: %v", err)
	}
	if after, _ := os.ReadFile(out); !bytes.Equal(before, after) {
		t.Fatal("the refused backup changed the existing file")
	}
	if _, err := WriteFile(ctx, in.db, in.l, out, true, passphraseOptions(t)); err != nil {
		t.Fatalf("overwrite with force: %v", err)
	}
	if after, _ := os.ReadFile(out); bytes.Equal(before, after) {
		t.Fatal("force did not replace the file")
	}

	inside := filepath.Join(in.l.Files, "images", "backup.age")
	if _, err := WriteFile(ctx, in.db, in.l, inside, false, passphraseOptions(t)); err == nil {
		t.Fatal("a backup inside the files folder was written")
	}

	// Neither the database, its companions nor the secret-key file can be replaced, even
	// with force, directly or through a link.
	db, _ := os.ReadFile(in.l.Database)
	link := filepath.Join(t.TempDir(), "elsewhere")
	if err := os.Symlink(filepath.Dir(in.l.Database), link); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{in.l.Database, in.l.Database + "-wal", in.l.Secret,
		filepath.Join(link, filepath.Base(in.l.Database)),
		filepath.Join(link, filepath.Base(in.l.Files), "x.age")} {
		if _, err := WriteFile(ctx, in.db, in.l, p, true, passphraseOptions(t)); err == nil {
			t.Errorf("a backup over %s was written", p)
		}
	}
	if after, _ := os.ReadFile(in.l.Database); !bytes.Equal(db, after) {
		t.Fatal("the database file changed")
	}
}

// TestBackupWhileWriting snapshots the database while another connection writes: the
// restored copy is whole and consistent.
func TestBackupWhileWriting(t *testing.T) {
	in := newInstance(t)
	mustExec(t, in.db, `CREATE TABLE counter (n INTEGER)`)
	stop := make(chan struct{})
	done := make(chan error)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			if _, err := in.db.ExecContext(ctx, `INSERT INTO counter VALUES (?)`, i); err != nil {
				done <- err
				return
			}
		}
	}()
	out := in.backUp(t, passphraseOptions(t))
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	target := layoutIn(filepath.Join(t.TempDir(), "restored"))
	ids := passphraseIDs(t, testPassphrase)
	if _, err := Restore(ctx, out, ids, target, false, time.Now()); err != nil {
		t.Fatal(err)
	}
	db, err := database.Open(ctx, target.Database)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	var count, maxN int
	if err := db.GetContext(ctx, &check, `PRAGMA integrity_check`); err != nil || check != "ok" {
		t.Fatalf("integrity check: %q %v", check, err)
	}
	err = db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(MAX(n), -1) FROM counter`).
		Scan(&count, &maxN)
	if err != nil || count != maxN+1 {
		t.Fatalf("snapshot holds %d rows up to %d: not one consistent state (%v)", count,
			maxN, err)
	}
}

// snapshotDir lists every path under dir, to show that a refused restore wrote nothing.
func snapshotDir(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		out = append(out, path)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestWrongKeyWritesNothing(t *testing.T) {
	in := newInstance(t)
	other, _ := age.GenerateX25519Identity()
	mine, _ := age.GenerateX25519Identity()
	byPassphrase := in.backUp(t, passphraseOptions(t))
	byKey := in.backUp(t, Options{Recipients: []age.Recipient{mine.Recipient()}})

	cases := []struct {
		name string
		path string
		ids  []age.Identity
	}{
		{"wrong passphrase", byPassphrase, passphraseIDs(t, "not the passphrase at all")},
		{"identity for a passphrase archive", byPassphrase, []age.Identity{other}},
		{"wrong identity", byKey, []age.Identity{other}},
		{"passphrase for an identity archive", byKey, passphraseIDs(t, testPassphrase)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			parent := t.TempDir()
			target := layoutIn(filepath.Join(parent, "data"))
			_, err := Restore(ctx, tc.path, tc.ids, target, false, time.Now())
			fe := fault.As(err)
			if fe == nil || fe.Message != ErrWrongKey.Message {
				t.Fatalf("error %v, want %q", err, ErrWrongKey.Message)
			}
			if got := snapshotDir(t, parent); len(got) != 1 {
				t.Fatalf("restore wrote %v", got)
			}
		})
	}
}

// TestTamperedArchiveIsRefused flips one byte at several places of a good archive.
func TestTamperedArchiveIsRefused(t *testing.T) {
	in := newInstance(t)
	out := in.backUp(t, passphraseOptions(t))
	good, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range []int{40, 120, len(good) / 3, len(good) / 2, len(good) - 1} {
		bad := bytes.Clone(good)
		bad[at] ^= 0x01
		path := filepath.Join(t.TempDir(), "tampered.age")
		writeTestFile(t, path, bad)

		parent := t.TempDir()
		target := layoutIn(filepath.Join(parent, "data"))
		_, err := Restore(ctx, path, passphraseIDs(t, testPassphrase), target, false,
			time.Now())
		if fault.As(err) == nil {
			t.Errorf("byte %d of %d flipped: restore gave %v", at, len(good), err)
		}
		if got := snapshotDir(t, parent); len(got) != 1 {
			t.Errorf("byte %d flipped: restore wrote %v", at, got)
		}
	}
	truncated := filepath.Join(t.TempDir(), "truncated.age")
	writeTestFile(t, truncated, good[:len(good)-100])
	_, err = Restore(ctx, truncated, passphraseIDs(t, testPassphrase),
		layoutIn(t.TempDir()+"/data"), false, time.Now())
	if fault.As(err) == nil {
		t.Errorf("truncated archive: %v", err)
	}
}

func TestExistingDataNeedsForceAndIsKeptAside(t *testing.T) {
	in := newInstance(t)
	out := in.backUp(t, passphraseOptions(t))
	ids := passphraseIDs(t, testPassphrase)

	// The target is another instance with its own data, stopped.
	old := newInstance(t)
	mustExec(t, old.db, `INSERT INTO notes (body) VALUES ('only in the old one')`)
	writeTestFile(t, filepath.Join(old.l.Files, "images/ef/ef03.png"), []byte("old file"))
	writeTestFile(t, old.l.Secret, []byte("old secret\n"))
	old.db.Close()
	before := snapshotDir(t, old.dir)

	_, err := Restore(ctx, out, ids, old.l, false, time.Now())
	if !errors.Is(err, ErrDataExists) {
		t.Fatalf("restore over data without force: %v", err)
	}
	if after := snapshotDir(t, old.dir); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Fatalf("the refused restore changed the data directory:\n%v\n%v", before, after)
	}

	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	res, err := Restore(ctx, out, ids, old.l, true, at)
	if err != nil {
		t.Fatal(err)
	}
	in.checkRestored(t, old.l)
	suffix := ".replaced-20260501T120000Z"
	want := []string{old.l.Database + suffix, old.l.Files + suffix, old.l.Secret + suffix}
	if strings.Join(res.Aside, ",") != strings.Join(want, ",") {
		t.Fatalf("aside %v, want %v", res.Aside, want)
	}
	kept, err := os.ReadFile(filepath.Join(old.l.Files+suffix, "images/ef/ef03.png"))
	if err != nil || string(kept) != "old file" {
		t.Fatalf("old file not kept: %q %v", kept, err)
	}
	if s, _ := os.ReadFile(old.l.Secret + suffix); string(s) != "old secret\n" {
		t.Fatalf("old secret not kept: %q", s)
	}
	db, err := database.Open(ctx, old.l.Database+suffix)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.GetContext(ctx, &n, `SELECT COUNT(*) FROM notes`); err != nil || n != 4 {
		t.Fatalf("old database kept with %d rows (%v), want 4", n, err)
	}
}

func TestRestoreRefusesWhileTheDatabaseIsOpen(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the in-use check needs Linux's open file description locks")
	}
	in := newInstance(t)
	out := in.backUp(t, passphraseOptions(t))
	ids := passphraseIDs(t, testPassphrase)

	// in.db is still open, as a running server's would be.
	if _, err := Restore(ctx, out, ids, in.l, true, time.Now()); !errors.Is(err, ErrInUse) {
		t.Fatalf("restore over an open database: %v", err)
	}
	in.db.Close()
	if _, err := Restore(ctx, out, ids, in.l, true, time.Now()); err != nil {
		t.Fatalf("restore once the database is closed: %v", err)
	}
}

// TestFilesFolderBehindALink backs up a files folder that is a link to another disk.
func TestFilesFolderBehindALink(t *testing.T) {
	in := newInstance(t)
	elsewhere := filepath.Join(t.TempDir(), "big-disk")
	if err := os.Rename(in.l.Files, elsewhere); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, in.l.Files); err != nil {
		t.Fatal(err)
	}
	out := in.backUp(t, passphraseOptions(t))

	target := layoutIn(filepath.Join(t.TempDir(), "restored"))
	ids := passphraseIDs(t, testPassphrase)
	if _, err := Restore(ctx, out, ids, target, false, time.Now()); err != nil {
		t.Fatal(err)
	}
	in.checkRestored(t, target)
}

func TestAsideNamesDoNotCollide(t *testing.T) {
	dir := t.TempDir()
	l := Layout{Database: filepath.Join(dir, "sketchmaker.db"), Files: filepath.Join(dir, "files"),
		Secret: filepath.Join(dir, "secret_key")}
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	first := asideSuffix(l, now)
	if first != ".replaced-20260501T120000Z" {
		t.Fatalf("first suffix %q", first)
	}
	writeTestFile(t, l.Files+first, []byte("x")) // a restore of the same second set it aside
	if second := asideSuffix(l, now); second != first+"-2" {
		t.Fatalf("second suffix %q", second)
	}
}
