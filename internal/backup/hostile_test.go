package backup

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/sketchmaker/sketchmaker/internal/fault"
)

// part is one tar entry of a hand-made archive.
type part struct {
	hdr  tar.Header
	body []byte
}

func regular(name string, body []byte) part {
	return part{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o600,
		Size: int64(len(body))}, body: body}
}

// sqliteBytes is a small, real SQLite database file.
func sqliteBytes(t *testing.T) []byte {
	t.Helper()
	in := newInstance(t)
	path := filepath.Join(t.TempDir(), "snap.db")
	if _, err := in.db.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// manifestFor lists parts as a writer would.
func manifestFor(parts []part) *Manifest {
	m := &Manifest{Format: FormatVersion, Dialect: "sqlite", Created: time.Now().UTC()}
	for _, p := range parts {
		sum := sha256.Sum256(p.body)
		e := Entry{Path: p.hdr.Name, Size: int64(len(p.body)), SHA256: hex.EncodeToString(sum[:])}
		m.Entries = append(m.Entries, e)
		m.count(e)
	}
	return m
}

func manifestPart(t *testing.T, m *Manifest) part {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return regular(manifestName, b)
}

// tarOf writes parts as a tar stream; raw bodies may be shorter than their headers claim.
func tarOf(t *testing.T, parts []part, closeIt bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range parts {
		h := p.hdr
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatalf("header %q: %v", h.Name, err)
		}
		if _, err := tw.Write(p.body); err != nil {
			t.Fatalf("body %q: %v", h.Name, err)
		}
	}
	if closeIt {
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
	} else {
		tw.Flush()
	}
	return buf.Bytes()
}

// seal encrypts plain to the test passphrase and stores it in a file.
func seal(t *testing.T, plain []byte) string {
	t.Helper()
	r, err := PassphraseRecipient(testPassphrase, testWork)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, r)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(plain)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "hostile.age")
	writeTestFile(t, path, buf.Bytes())
	return path
}

// TestHostileArchivesAreRefused hands Restore archives that a forger holding the
// passphrase could make. Each is refused, and nothing is written anywhere.
func TestHostileArchivesAreRefused(t *testing.T) {
	db := regular(databaseName, sqliteBytes(t))
	img := regular("files/images/ab/ab01.png", []byte("png bytes"))
	good := []part{db, img}
	// outside is a folder that hostile names point into; it must stay empty.
	outside := t.TempDir()
	escape := filepath.Join(outside, "evil")

	// listed builds an archive of parts with a manifest that lists them truthfully.
	listed := func(parts ...part) []byte {
		all := append(append([]part{}, parts...), manifestPart(t, manifestFor(parts)))
		return tarOf(t, all, true)
	}
	// edited builds an archive of good whose manifest edit changes.
	edited := func(edit func(m *Manifest)) []byte {
		m := manifestFor(good)
		edit(m)
		return tarOf(t, append(append([]part{}, good...), manifestPart(t, m)), true)
	}
	typed := func(name string, flag byte, link string) part {
		return part{hdr: tar.Header{Typeflag: flag, Name: name, Linkname: link, Mode: 0o600}}
	}
	huge := regular("files/images/ab/huge.png", []byte("ten bytes!"))
	huge.hdr.Size = 1 << 36

	cases := []struct {
		name  string
		plain []byte
		want  string
	}{
		{"parent traversal", listed(db, regular("../evil", []byte("x"))), "outside"},
		{"traversal inside files", listed(db, regular("files/../../evil", []byte("x"))),
			"outside"},
		{"deep traversal", listed(db, regular("files/images/../../../../evil", []byte("x"))),
			"outside"},
		{"absolute path", listed(db, regular(escape, []byte("x"))), "outside"},
		{"backslashes", listed(db, regular(`files\..\..\evil`, []byte("x"))), "outside"},
		{"unknown top-level name", listed(db, regular(".env", []byte("x"))), "outside"},
		{"uppercase key", listed(db, regular("files/images/AB.png", []byte("x"))), "outside"},
		{"symlink", listed(db, typed("files/images/ab/link", tar.TypeSymlink, "/etc/passwd")),
			"not a regular file"},
		{"symlink then write through it", tarOf(t, []part{db,
			typed("files/images", tar.TypeSymlink, outside),
			regular("files/images/evil", []byte("x"))}, true), "not a regular file"},
		{"hard link", listed(db, typed("files/images/ab/hard", tar.TypeLink, databaseName)),
			"not a regular file"},
		{"character device", listed(db, typed("files/images/ab/dev", tar.TypeChar, "")),
			"not a regular file"},
		{"fifo", listed(db, typed("files/images/ab/fifo", tar.TypeFifo, "")),
			"not a regular file"},
		{"directory", listed(db, typed("files/images/", tar.TypeDir, "")), "not a regular"},
		{"size claimed beyond the data", tarOf(t, []part{db, huge}, false), "damaged"},
		{"impossible size", tarOf(t, []part{db, {hdr: tar.Header{Typeflag: tar.TypeReg,
			Name: "files/a/b.png", Size: 1 << 50}}}, false), "impossible size"},
		{"manifest too large", tarOf(t, []part{db, {hdr: tar.Header{Typeflag: tar.TypeReg,
			Name: manifestName, Size: maxManifest + 1}}}, false), "manifest claims"},
		{"duplicate entry", listed(db, img, img), "twice"},
		{"no manifest", tarOf(t, good, true), "no manifest"},
		{"entry after the manifest", tarOf(t, []part{db, manifestPart(t, manifestFor(good)),
			img}, true), "follows the manifest"},
		{"entry missing from the manifest", edited(func(m *Manifest) {
			m.Entries = m.Entries[:1]
			m.Files, m.FileBytes = 0, 0
		}), "not in the manifest"},
		{"manifest lists a missing entry", edited(func(m *Manifest) {
			m.Entries = append(m.Entries, Entry{Path: "files/x/y.png", Size: 1,
				SHA256: strings.Repeat("0", 64)})
			m.Files++
			m.FileBytes++
		}), "missing"},
		{"hash mismatch", edited(func(m *Manifest) {
			m.Entries[1].SHA256 = strings.Repeat("0", 64)
		}), "does not match"},
		{"manifest claims a larger size", edited(func(m *Manifest) {
			m.Entries[1].Size = 1 << 30
			m.FileBytes = 1 << 30
		}), "does not match"},
		{"manifest lists a traversal", edited(func(m *Manifest) {
			m.Entries[1].Path = "files/../../evil"
		}), "outside"},
		{"counts disagree", edited(func(m *Manifest) { m.Files = 7 }), "counts"},
		{"newer format", edited(func(m *Manifest) { m.Format = FormatVersion + 1 }),
			"newer SketchMaker"},
		{"PostgreSQL dialect", edited(func(m *Manifest) { m.Dialect = "postgres" }),
			"only SQLite"},
		{"no database", listed(img), "no database"},
		{"database that is not SQLite", listed(regular(databaseName, []byte("not sqlite")),
			img), "not an SQLite file"},
		{"data after the archive", append(listed(db, img), []byte("trailing")...),
			"data follows"},
		{"not a tar stream", []byte(strings.Repeat("hello ", 200)), "damaged"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := seal(t, tc.plain)
			parent := t.TempDir()
			target := layoutIn(filepath.Join(parent, "data"))
			_, err := Restore(ctx, path, passphraseIDs(t, testPassphrase), target, false,
				time.Now())
			fe := fault.As(err)
			if fe == nil || !strings.Contains(fe.Message, tc.want) ||
				!strings.Contains(fe.Message, "nothing was restored") {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
			if got := snapshotDir(t, outside); len(got) != 1 {
				t.Fatalf("restore wrote outside the data directory: %v", got)
			}
			if _, err := os.Lstat(filepath.Join(parent, "evil")); err == nil {
				t.Fatal("restore wrote beside the data directory")
			}
			if _, err := os.Lstat(target.Database); err == nil {
				t.Fatal("a database was put in place")
			}
			for _, p := range snapshotDir(t, parent) {
				if strings.Contains(p, ".restore-") || strings.HasSuffix(p, "evil") {
					t.Fatalf("restore left %s behind", p)
				}
			}
		})
	}
}

// TestStagingCannotEscape checks the second line of defence: even a name that slipped
// past the checks cannot write outside the staging folder, through ".." or a link.
func TestStagingCannotEscape(t *testing.T) {
	outside := t.TempDir()
	dir := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dir, "files")); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()

	for _, name := range []string{"../evil", "files/evil", "files/sub/evil", escapeName(outside)} {
		if err := writeInRoot(root, name, strings.NewReader("x")); err == nil {
			t.Errorf("%q was written", name)
		}
	}
	if got := snapshotDir(t, outside); len(got) != 1 {
		t.Fatalf("written outside: %v", got)
	}
}

func escapeName(dir string) string { return filepath.Join(dir, "evil") }
