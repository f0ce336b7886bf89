package upload

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/fault"
)

// entry is one file of a test archive.
type entry struct {
	name string
	data []byte
	mode fs.FileMode // zero for a regular file
	raw  *zip.FileHeader
	body []byte // with raw: the compressed bytes
}

// zipOf builds an archive in memory.
func zipOf(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		var w io.Writer
		var err error
		switch {
		case e.raw != nil:
			w, err = zw.CreateRaw(e.raw)
			e.data = e.body
		default:
			h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
			if e.mode != 0 {
				h.SetMode(e.mode)
			}
			w, err = zw.CreateHeader(h)
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// photoEntries returns n entries holding the shared camera photos, repeated as needed.
func photoEntries(t testing.TB, n int) []entry {
	t.Helper()
	names := sharedNames(t, "photos")
	var out []entry
	for i := range n {
		name := names[i%len(names)]
		out = append(out, entry{name: fmt.Sprintf("set/%02d-%s", i, name),
			data: shared(t, "photos", name)})
	}
	return out
}

// gigabyte is a deflated stream of a PNG signature followed by zeros, 1 GB unpacked
// (about 1 MB packed), with its CRC, built once.
var gigabyte = sync.OnceValues(func() ([]byte, uint32) {
	const size = 1 << 30
	var packed bytes.Buffer
	fw, _ := flate.NewWriter(&packed, flate.BestSpeed)
	crc := crc32.NewIEEE()
	w := io.MultiWriter(fw, crc)
	chunk := make([]byte, 1<<20)
	copy(chunk, "\x89PNG\r\n\x1a\n")
	w.Write(chunk)
	clear(chunk)
	for range size>>20 - 1 {
		w.Write(chunk)
	}
	fw.Close()
	return packed.Bytes(), crc.Sum32()
})

// gigabyteEntry is the 1 GB entry, declaring its true size or the given lie.
func gigabyteEntry(declared uint64) entry {
	packed, crc := gigabyte()
	h := &zip.FileHeader{Name: "huge.png", Method: zip.Deflate, CRC32: crc,
		CompressedSize64: uint64(len(packed)), UncompressedSize64: declared}
	return entry{raw: h, body: packed}
}

func TestArchiveIsUnpackedThroughThePipeline(t *testing.T) {
	r := newRig(t, nil)
	entries := append(photoEntries(t, 5),
		entry{name: "set/", mode: fs.ModeDir | 0o755},
		entry{name: "__MACOSX/set/._01.jpg", data: []byte("resource fork")},
		entry{name: "set/.DS_Store", data: []byte("finder")},
		entry{name: `win\Thumbs.db`, data: []byte("thumbs")})
	acc, err := r.svc.Accept(context.Background(), r.user, "photos.zip",
		bytes.NewReader(zipOf(t, entries...)))
	if err != nil {
		t.Fatal(err)
	}
	if len(acc.Uploads) != 5 || acc.Batch == "" {
		t.Fatalf("accepted %d uploads, batch %q", len(acc.Uploads), acc.Batch)
	}
	for i, u := range acc.Uploads {
		if u.BatchID != acc.Batch || !strings.HasPrefix(u.DisplayName, fmt.Sprintf("%02d-", i)) {
			t.Errorf("upload %d: %+v", i, u)
		}
		for key, data := range r.storedFiles(t, u) {
			if found := metadataIn(t, data); len(found) > 0 {
				t.Errorf("%s keeps metadata: %v", key, found)
			}
		}
	}

	batch, err := r.svc.Batch(context.Background(), r.user, acc.Batch)
	if err != nil || len(batch) != 5 {
		t.Fatalf("batch: %d %v", len(batch), err)
	}
	if _, err := r.svc.Batch(context.Background(), r.user+1, acc.Batch); !errors.Is(err,
		ErrNotFound) {
		t.Errorf("another user's batch: %v", err)
	}
	if left := files(t, filepath.Join(r.root, "tmp")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestHostileArchivesAreRefused checks that each hostile archive is refused with a
// message naming the problem, and that nothing is written anywhere: not in the blob store,
// not in the temporary folder, and not where an entry's path points.
func TestHostileArchivesAreRefused(t *testing.T) {
	good := photoEntries(t, 2)
	tiny := shared(t, "attacks", "valid_tiny.png")
	many := make([]entry, 10000)
	for i := range many {
		many[i] = entry{name: fmt.Sprintf("%05d.png", i), data: tiny}
	}
	encrypted := &zip.FileHeader{Name: "secret.png", Method: zip.Store, Flags: 0x1,
		CRC32: crc32.ChecksumIEEE(tiny), CompressedSize64: uint64(len(tiny)),
		UncompressedSize64: uint64(len(tiny))}

	cases := []struct {
		name    string
		archive []byte
		kind    fault.Kind
		want    string
	}{
		{"parent path", zipOf(t, append(good, entry{name: "../evil.png", data: tiny})...),
			fault.Invalid, "outside the archive"},
		{"deep parent path", zipOf(t, entry{name: "a/../../../evil.png", data: tiny}),
			fault.Invalid, "outside the archive"},
		{"backslash parent path", zipOf(t, entry{name: `..\..\evil.png`, data: tiny}),
			fault.Invalid, "outside the archive"},
		{"absolute path", zipOf(t, entry{name: "/tmp/evil.png", data: tiny}),
			fault.Invalid, "absolute path"},
		{"drive letter", zipOf(t, entry{name: `C:\evil.png`, data: tiny}),
			fault.Invalid, "absolute path"},
		{"symbolic link", zipOf(t, append(good, entry{name: "link.png",
			data: []byte("../../etc/passwd"), mode: fs.ModeSymlink | 0o777})...),
			fault.Invalid, "symbolic link"},
		{"named pipe", zipOf(t, entry{name: "fifo.png", mode: fs.ModeNamedPipe | 0o644}),
			fault.Invalid, "not a regular file"},
		{"10,000 entries", zipOf(t, many...), fault.Invalid, "10000 entries"},
		{"1 GB unpacked", zipOf(t, gigabyteEntry(1<<30)), fault.TooLarge, "500 MB"},
		{"1 GB behind a lying header", zipOf(t, gigabyteEntry(1000)), fault.Invalid,
			"huge.png in photos.zip"},
		{"encrypted entry", zipOf(t, entry{raw: encrypted, body: tiny}), fault.Invalid,
			"encrypted"},
		{"archive inside", zipOf(t, entry{name: "inner.zip", data: zipOf(t, good...)}),
			fault.Invalid, "inside archives"},
		{"damaged image among good ones", zipOf(t, append(good, entry{name: "bad.png",
			data: shared(t, "attacks", "truncated.png")})...), fault.Invalid,
			"bad.png in photos.zip was refused: the image is damaged"},
		{"pixel bomb among good ones", zipOf(t, append(good, entry{name: "bomb.png",
			data: shared(t, "attacks", "bomb_50000x50000.png")})...), fault.TooLarge,
			"bomb.png in photos.zip was refused"},
		{"21 images", zipOf(t, photoEntries(t, 21)...), fault.Invalid, "at most 20"},
		{"no images", zipOf(t, entry{name: "empty/", mode: fs.ModeDir | 0o755}),
			fault.Invalid, "holds no images"},
		{"not really a zip", []byte("PK\x03\x04 this is no archive"), fault.Invalid,
			"not a readable ZIP"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, nil)
			_, err := r.svc.Accept(context.Background(), r.user, "photos.zip",
				bytes.NewReader(tc.archive))
			if got := kindOf(t, err); got != tc.kind {
				t.Errorf("kind %v, want %v: %v", got, tc.kind, err)
			}
			t.Log(fault.As(err).Message)
			if msg := fault.As(err).Message; !strings.Contains(msg, tc.want) {
				t.Errorf("message %q lacks %q", msg, tc.want)
			}
			r.assertNothingKept(t)
			for _, p := range []string{filepath.Join(r.root, "..", "evil.png"),
				filepath.Join(r.root, "evil.png"), "/tmp/evil.png"} {
				if _, err := os.Lstat(p); err == nil {
					t.Errorf("%s was written", p)
				}
			}
		})
	}
}

func TestArchiveNamedAsAnImageIsRefused(t *testing.T) {
	r := newRig(t, nil)
	_, err := r.svc.Accept(context.Background(), r.user, "holiday.png",
		bytes.NewReader(zipOf(t, photoEntries(t, 1)...)))
	if kindOf(t, err) != fault.Invalid || !strings.Contains(fault.As(err).Message, ".zip") {
		t.Fatalf("zip named .png: %v", err)
	}
	r.assertNothingKept(t)
}

// TestBudgetCountsWhatIsUnpacked checks the streaming count that backs up the declared
// sizes: it allows exactly the budget and refuses one byte more.
func TestBudgetCountsWhatIsUnpacked(t *testing.T) {
	cases := []struct {
		data, budget int
		refused      bool
	}{{10, 10, false}, {10, 11, false}, {11, 10, true}, {0, 0, false}, {1, 0, true}}
	for _, tc := range cases {
		b := &budgetReader{r: bytes.NewReader(make([]byte, tc.data)), left: int64(tc.budget)}
		_, err := io.ReadAll(b)
		if tc.refused != errors.Is(err, errBudget) {
			t.Errorf("%d bytes with a budget of %d: %v", tc.data, tc.budget, err)
		}
	}
}

func TestUnsafeNames(t *testing.T) {
	cases := map[string]bool{ // name: refused
		"a.png": false, "dir/a.png": false, "a..b.png": false, "..a.png": false,
		"../a.png": true, "a/../../b.png": true, `..\a.png`: true, "/a.png": true,
		`\a.png`: true, "C:/a.png": true, `c:\a.png`: true, "": true, "a\x00.png": true,
		"..": true,
	}
	for name, refused := range cases {
		if got := unsafeName(name) != ""; got != refused {
			t.Errorf("unsafeName(%q) refused=%v, want %v", name, got, refused)
		}
	}
}

// FuzzUnsafeName checks that a name the checker lets through stays inside a folder, on
// either kind of system.
func FuzzUnsafeName(f *testing.F) {
	for _, s := range []string{"a.png", "../a", `..\a`, "/a", "C:a", "a/./b", "a//b", "…"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if unsafeName(name) != "" {
			return
		}
		n := strings.ReplaceAll(name, `\`, "/")
		if !filepath.IsLocal(n) && n != "" && !strings.HasSuffix(n, "/") {
			if strings.HasPrefix(n, "/") || strings.Contains("/"+n+"/", "/../") {
				t.Fatalf("%q passed but is not local", name)
			}
		}
	})
}
