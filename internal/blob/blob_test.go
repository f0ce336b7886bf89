package blob

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDiskRoundTrip(t *testing.T) {
	ctx := context.Background()
	d, err := NewDisk(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	key := NewKey("images", ".png")
	if err := d.Put(ctx, key, strings.NewReader("pixels")); err != nil {
		t.Fatal(err)
	}

	f, size, err := d.Open(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(f)
	f.Close()
	if string(got) != "pixels" || size != 6 {
		t.Fatalf("read %q (size %d), want pixels (6)", got, size)
	}

	if err := d.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.Open(ctx, key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: %v, want ErrNotFound", err)
	}
	if err := d.Delete(ctx, key); err != nil {
		t.Fatalf("deleting twice: %v", err)
	}
}

func TestDiskRefusesKeysOutsideItsRoot(t *testing.T) {
	ctx := context.Background()
	parent := t.TempDir()
	d, err := NewDisk(filepath.Join(parent, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	bad := []string{
		"../escape.png", "images/../../escape.png", "/etc/passwd", "images//x.png",
		"IMAGES/x.png", `images\..\x.png`, "images/./x.png", "", "images/x.png\x00",
	}
	for _, key := range bad {
		if err := d.Put(ctx, key, bytes.NewReader([]byte("x"))); err == nil {
			t.Errorf("Put(%q) succeeded", key)
		}
		if _, _, err := d.Open(ctx, key); err == nil || errors.Is(err, ErrNotFound) {
			t.Errorf("Open(%q) = %v, want an invalid-key error", key, err)
		}
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
