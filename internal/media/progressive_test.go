package media

import (
	"bytes"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"
)

// sof returns the JPEG start-of-frame markers (0xC0 baseline, 0xC2 progressive) in data.
func sof(data []byte) (baseline, progressive bool) {
	return bytes.Contains(data, []byte{0xFF, 0xC0}), bytes.Contains(data, []byte{0xFF, 0xC2})
}

func decodeJPEG(t *testing.T, data []byte) *image.YCbCr {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return img.(*image.YCbCr)
}

// TestJPEGIsProgressive checks that with jpegtran on PATH, JPEG output carries a
// progressive frame (SOF2) and decodes to exactly the pixels of the baseline encoding.
func TestJPEGIsProgressive(t *testing.T) {
	if !ProgressiveJPEG() {
		t.Skip("jpegtran is not on PATH (Debian package libjpeg-turbo-progs)")
	}
	src := noise(96, 64)
	var base, prog bytes.Buffer
	if err := encodeJPEG(&base, src, 85, ""); err != nil {
		t.Fatal(err)
	}
	if err := Encode(&prog, src, JPEG, 85); err != nil {
		t.Fatal(err)
	}
	if _, p := sof(base.Bytes()); p {
		t.Fatal("the baseline encoding is already progressive")
	}
	if b, p := sof(prog.Bytes()); !p || b {
		t.Fatalf("output frames: baseline %v, progressive %v", b, p)
	}
	a, b := decodeJPEG(t, base.Bytes()), decodeJPEG(t, prog.Bytes())
	if a.Rect != b.Rect || !bytes.Equal(a.Y, b.Y) || !bytes.Equal(a.Cb, b.Cb) ||
		!bytes.Equal(a.Cr, b.Cr) {
		t.Fatal("the progressive file does not decode to the baseline's pixels")
	}
}

// TestJPEGFallsBackToBaseline checks that a missing, failing or misbehaving converter
// leaves the baseline output as it was.
func TestJPEGFallsBackToBaseline(t *testing.T) {
	dir := t.TempDir()
	script := func(name, body string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o700); err != nil {
			t.Fatal(err)
		}
		return path
	}
	src := pattern(40, 30)
	var want bytes.Buffer
	if err := encodeJPEG(&want, src, 0, ""); err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{
		"missing":  filepath.Join(dir, "nothing-here"),
		"failing":  script("fail.sh", "exit 3"),
		"not jpeg": script("junk.sh", "cat >/dev/null; echo hello"),
		"endless":  script("yes.sh", "cat >/dev/null; yes"),
	} {
		var got bytes.Buffer
		if err := encodeJPEG(&got, src, 0, path); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("%s: output is not the baseline encoding", name)
		}
	}
}
