package media

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/shareddata"
)

func TestSniff(t *testing.T) {
	cases := []struct {
		name   string
		head   string
		want   Format
		status int
		looks  string // part of the refusal message
	}{
		{"png", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", PNG, 0, ""},
		{"jpeg", "\xff\xd8\xff\xe0\x00\x10JFIF", JPEG, 0, ""},
		{"webp lossy", "RIFF\x00\x00\x00\x00WEBPVP8 ", WebP, 0, ""},
		{"webp lossless", "RIFF\x00\x00\x00\x00WEBPVP8L", WebP, 0, ""},
		{"webp extended", "RIFF\x00\x00\x00\x00WEBPVP8X", WebP, 0, ""},
		{"gif", "GIF89a\x08\x00", "", 415, "looks like GIF"},
		{"old gif", "GIF87a", "", 415, "looks like GIF"},
		{"pdf", "%PDF-1.4\n", "", 415, "looks like PDF"},
		{"svg", "<?xml version=\"1.0\"?>\n<svg xmlns=", "", 415, "looks like SVG"},
		{"bare svg", "\xef\xbb\xbf  <SVG width=\"1\">", "", 415, "looks like SVG"},
		{"html", "<!DOCTYPE html><html>", "", 415, "looks like HTML"},
		{"heic", "\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "", 415, "looks like HEIC"},
		{"avif", "\x00\x00\x00\x1cftypavif", "", 415, "looks like AVIF"},
		{"tiff", "II*\x00\x08\x00\x00\x00", "", 415, "looks like TIFF"},
		{"bmp", "BM\x00\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00\x00\x00", "", 415,
			"looks like BMP"},
		{"text starting BM", "BMW owners club", "", 415, "none of them"},
		{"wav", "RIFF\x00\x00\x00\x00WAVEfmt ", "", 415, "not WebP (WAVE)"},
		{"riff webp without frame", "RIFF\x00\x00\x00\x00WEBPJUNK", "", 415, "not WebP"},
		{"zip", "PK\x03\x04", "", 415, "ZIP archive"},
		{"short png", "\x89PNG", "", 415, "damaged PNG"},
		{"short jpeg", "\xff\xd8", "", 415, "none of them"},
		{"text", "hello world", "", 415, "none of them"},
		{"empty", "", "", 422, "empty"},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Sniff([]byte(tc.head))
			if got != tc.want {
				t.Fatalf("format %q, want %q", got, tc.want)
			}
			if tc.status == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			me := asError(t, err)
			if me.Status != tc.status || !strings.Contains(me.Message, tc.looks) {
				t.Fatalf("refusal %d %q, want %d mentioning %q", me.Status, me.Message,
					tc.status, tc.looks)
			}
			if tc.status == 415 && !strings.HasPrefix(me.Message,
				"only PNG, JPEG and WebP images are accepted") {
				t.Fatalf("message %q does not say what is accepted", me.Message)
			}
		})
	}
}

func TestSniffSharedAttacks(t *testing.T) {
	cases := map[string]string{
		"gif_as.png": "GIF", "pdf_as.png": "PDF", "svg_script_as.png": "SVG",
	}
	for file, kind := range cases {
		_, err := Sniff(shareddata.Read(t, "attacks", file))
		me := asError(t, err)
		want := "only PNG, JPEG and WebP images are accepted; this file looks like " + kind
		if me.Status != 415 || me.Message != want {
			t.Errorf("%s: %d %q, want 415 %q", file, me.Status, me.Message, want)
		}
	}
}

// FuzzSniff checks that any bytes are either recognised by their true magic number or
// refused with a 4xx, and never make Sniff panic.
func FuzzSniff(f *testing.F) {
	for _, s := range []string{"\x89PNG\r\n\x1a\n", "\xff\xd8\xff", "RIFF....WEBPVP8X", "GIF89a",
		"<svg", "\x00\x00\x00\x08ftyp", "RIFF", "BM", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, head []byte) {
		got, err := Sniff(head)
		switch got {
		case PNG:
			if !bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")) {
				t.Fatal("PNG without its signature")
			}
		case JPEG:
			if !bytes.HasPrefix(head, []byte{0xff, 0xd8, 0xff}) {
				t.Fatal("JPEG without its signature")
			}
		case WebP:
			if !isWebP(head) {
				t.Fatal("WebP without its signature")
			}
		case "":
			me := asError(t, err)
			if me.Status != 415 && me.Status != 422 {
				t.Fatalf("status %d", me.Status)
			}
		default:
			t.Fatalf("unknown format %q", got)
		}
	})
}
