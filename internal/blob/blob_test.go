package blob

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/blob/s3test"
)

// eachStore runs fn once per Store: Disk in a temporary directory, and S3 on an S3 server
// inside the test process. Both must behave the same in every test of this file.
func eachStore(t *testing.T, fn func(t *testing.T, s Store)) {
	t.Helper()
	t.Run("disk", func(t *testing.T) { fn(t, newTestDisk(t, t.TempDir())) })
	t.Run("s3", func(t *testing.T) { fn(t, newTestS3(t, s3test.New(t), "")) })
}

func newTestDisk(t *testing.T, dir string) *Disk {
	t.Helper()
	d, err := NewDisk(dir)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// put stores data under key or fails the test.
func put(t *testing.T, s Store, key string, data []byte) {
	t.Helper()
	if err := s.Put(context.Background(), key, bytes.NewReader(data)); err != nil {
		t.Fatalf("Put(%s): %v", key, err)
	}
}

// read opens key and returns its whole content, checking the size Open reported.
func read(t *testing.T, s Store, key string) []byte {
	t.Helper()
	f, size, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("Open(%s): %v", key, err)
	}
	defer f.Close()
	got, err := io.ReadAll(f)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	if int64(len(got)) != size {
		t.Fatalf("Open(%s) reported %d bytes, read %d", key, size, len(got))
	}
	return got
}

func TestStoreRoundTrip(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		key := NewKey("images", ".png")
		put(t, s, key, []byte("pixels"))
		if got := read(t, s, key); string(got) != "pixels" {
			t.Fatalf("read %q, want pixels", got)
		}
		empty := NewKey("images", ".png")
		put(t, s, empty, nil)
		if got := read(t, s, empty); len(got) != 0 {
			t.Fatalf("an empty file reads as %q", got)
		}
	})
}

func TestStoreOverwrite(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		key := NewKey("variants", ".jpg")
		put(t, s, key, []byte("the first, longer version"))
		put(t, s, key, []byte("second"))
		if got := read(t, s, key); string(got) != "second" {
			t.Fatalf("after overwrite read %q, want second", got)
		}
	})
}

func TestStoreMissingKeyIsNotFound(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		f, _, err := s.Open(context.Background(), NewKey("images", ".png"))
		if !errors.Is(err, ErrNotFound) || f != nil {
			t.Fatalf("Open of a missing key: %v, %v; want ErrNotFound", f, err)
		}
	})
}

func TestStoreDeleteTwice(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		key, other := NewKey("thumbs", ".webp"), NewKey("thumbs", ".webp")
		put(t, s, key, []byte("small"))
		put(t, s, other, []byte("kept"))

		if err := s.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Open(ctx, key); !errors.Is(err, ErrNotFound) {
			t.Fatalf("after delete: %v, want ErrNotFound", err)
		}
		if err := s.Delete(ctx, key); err != nil {
			t.Fatalf("deleting twice: %v", err)
		}
		if err := s.Delete(ctx, NewKey("thumbs", ".webp")); err != nil {
			t.Fatalf("deleting a key never stored: %v", err)
		}
		if got := read(t, s, other); string(got) != "kept" {
			t.Fatalf("another file read %q after the delete", got)
		}
	})
}

// badKeys are keys SketchMaker never makes; each store refuses them before any I/O.
var badKeys = []string{
	"../escape.png", "images/../../escape.png", "/etc/passwd", "images//x.png",
	"IMAGES/x.png", `images\..\x.png`, "images/./x.png", "", "images/x.png\x00",
	"images/x y.png", "images/x.png?acl", "images/x.png/", strings.Repeat("a", 201),
}

func TestStoreRefusesBadKeys(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		for _, key := range badKeys {
			if err := s.Put(ctx, key, strings.NewReader("x")); err == nil {
				t.Errorf("Put(%q) succeeded", key)
			}
			if _, _, err := s.Open(ctx, key); err == nil || errors.Is(err, ErrNotFound) {
				t.Errorf("Open(%q) = %v, want an invalid-key error", key, err)
			}
			if err := s.Delete(ctx, key); err == nil {
				t.Errorf("Delete(%q) succeeded", key)
			}
		}
	})
}

// onlyReader hides every method but Read, so a store cannot learn the size in advance.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func TestStoreLargeFileIsStreamed(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		data := make([]byte, partSize+partSize/2+123) // more than one S3 part
		rand.Read(data)
		key := NewKey("uploads", ".png")
		err := s.Put(context.Background(), key, onlyReader{bytes.NewReader(data)})
		if err != nil {
			t.Fatal(err)
		}
		if got := read(t, s, key); !bytes.Equal(got, data) {
			t.Fatalf("read %d bytes that differ from the %d stored", len(got), len(data))
		}
	})
}

func TestStoreSeeksAndRanges(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		data := make([]byte, 1000)
		for i := range data {
			data[i] = byte(i % 251)
		}
		key := NewKey("images", ".png")
		put(t, s, key, data)
		f, size, err := s.Open(context.Background(), key)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()

		// As http.ServeContent does: learn the size, rewind, then serve a range.
		if end, err := f.Seek(0, io.SeekEnd); err != nil || end != size || size != 1000 {
			t.Fatalf("seek to end: %d, %v (size %d)", end, err, size)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			offset int64
			whence int
			want   []byte
		}{
			{500, io.SeekStart, data[500:520]},
			{10, io.SeekCurrent, data[530:550]},
			{-20, io.SeekEnd, data[980:]},
			{0, io.SeekStart, data[:20]},
			{0, io.SeekCurrent, data[20:40]}, // reading on, after a read
		}
		for _, st := range steps {
			if _, err := f.Seek(st.offset, st.whence); err != nil {
				t.Fatalf("seek %d/%d: %v", st.offset, st.whence, err)
			}
			got := make([]byte, len(st.want))
			if _, err := io.ReadFull(f, got); err != nil || !bytes.Equal(got, st.want) {
				t.Fatalf("after seek %d/%d read %v (%v), want %v", st.offset, st.whence,
					got[:4], err, st.want[:4])
			}
		}

		if _, err := f.Seek(5, io.SeekEnd); err != nil {
			t.Fatal(err)
		}
		if n, err := f.Read(make([]byte, 8)); n != 0 || err != io.EOF {
			t.Fatalf("read past the end: %d, %v; want 0, EOF", n, err)
		}
		if _, err := f.Seek(-1, io.SeekStart); err == nil {
			t.Fatal("a seek before the start succeeded")
		}
	})
}

// cancelAfter reads from r and cancels its context once n bytes have been read, like a
// client that goes away in the middle of an upload.
type cancelAfter struct {
	r      io.Reader
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.n -= n; c.n <= 0 {
		c.cancel()
	}
	return n, err
}

func TestStoreHonoursCancellation(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		done, cancel := context.WithCancel(context.Background())
		cancel()
		key := NewKey("images", ".png")
		if err := s.Put(done, key, strings.NewReader("pixels")); !errors.Is(err,
			context.Canceled) {
			t.Fatalf("Put with an ended context: %v, want context.Canceled", err)
		}

		// An upload cut off half-way, in the first part and in a later one.
		for _, size := range []int{64 << 10, 3 * partSize} {
			ctx, cancel := context.WithCancel(context.Background())
			r := &cancelAfter{r: bytes.NewReader(make([]byte, size)), n: size / 2,
				cancel: cancel}
			if err := s.Put(ctx, key, onlyReader{r}); err == nil {
				t.Fatalf("a %d-byte Put cancelled half-way succeeded", size)
			}
			cancel()
		}
		if _, _, err := s.Open(context.Background(), key); !errors.Is(err, ErrNotFound) {
			t.Fatalf("after cancelled uploads: %v, want ErrNotFound", err)
		}
	})
}

func TestDiskWritesNothingOutsideItsRoot(t *testing.T) {
	parent := t.TempDir()
	d := newTestDisk(t, filepath.Join(parent, "blobs"))
	for _, key := range badKeys {
		d.Put(context.Background(), key, strings.NewReader("x"))
	}
	if _, err := os.Stat(filepath.Join(parent, "escape.png")); err == nil {
		t.Fatal("a file was written outside the blob root")
	}
}

func TestNewKeyIsRandomAndValid(t *testing.T) {
	a, b := NewKey("thumbs", ".webp"), NewKey("thumbs", ".webp")
	if a == b {
		t.Fatal("two keys are equal")
	}
	if !validKey(a) || !strings.HasPrefix(a, "thumbs/") || !strings.HasSuffix(a, ".webp") {
		t.Fatalf("key %q is not of the expected form", a)
	}
}
