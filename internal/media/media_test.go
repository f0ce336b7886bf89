package media

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseFormat(t *testing.T) {
	cases := []struct {
		in   string
		want Format
	}{
		{"png", PNG}, {"PNG", PNG}, {" png ", PNG}, {"jpeg", JPEG}, {"JPG", JPEG},
		{"Jpeg", JPEG}, {"webp", WebP}, {"WebP", WebP},
		{"gif", ""}, {"", ""}, {"image/png", ""}, {".png", ""}, {"pngx", ""},
	}
	for _, tc := range cases {
		got, err := ParseFormat(tc.in)
		if got != tc.want {
			t.Errorf("ParseFormat(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if tc.want == "" {
			me := asError(t, err)
			if me.Status != StatusBadRequest || !strings.Contains(me.Message, "png, jpeg or webp") {
				t.Errorf("ParseFormat(%q): %d %q", tc.in, me.Status, me.Message)
			}
		} else if err != nil {
			t.Errorf("ParseFormat(%q): %v", tc.in, err)
		}
	}
}

func TestFormatNames(t *testing.T) {
	cases := []struct {
		f                   Format
		mime, ext, readable string
	}{
		{PNG, "image/png", ".png", "PNG"},
		{JPEG, "image/jpeg", ".jpg", "JPEG"},
		{WebP, "image/webp", ".webp", "WebP"},
		{Format("bmp"), "application/octet-stream", "", "bmp"},
	}
	for _, tc := range cases {
		if tc.f.ContentType() != tc.mime || tc.f.Ext() != tc.ext || tc.f.String() != tc.readable {
			t.Errorf("%q: %q %q %q", tc.f, tc.f.ContentType(), tc.f.Ext(), tc.f.String())
		}
	}
}

func TestLimitsDefaults(t *testing.T) {
	got := Limits{MaxSide: 100}.withDefaults()
	want := Limits{MaxBytes: 25 << 20, MaxSide: 100, MaxPixels: 40_000_000}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if DefaultLimits() != (Limits{}).withDefaults() {
		t.Fatal("DefaultLimits and the zero Limits disagree")
	}
}

func TestErrorFaces(t *testing.T) {
	cause := errors.New("zlib: invalid checksum")
	err := damaged(cause)
	if !errors.Is(err, ErrDamaged) || !errors.Is(err, cause) {
		t.Fatal("the error does not wrap its kind and cause")
	}
	if strings.Contains(err.Message, "zlib") {
		t.Fatal("the message for users reveals the internal cause")
	}
	if !strings.Contains(err.Error(), "zlib") {
		t.Fatal("the log text lacks the internal cause")
	}
}

// FuzzParseFormat checks that any text either parses to one of the three formats or is
// refused with a message that stays short.
func FuzzParseFormat(f *testing.F) {
	for _, s := range []string{"png", "JPG", "webp", "gif", "", "\xff", strings.Repeat("x", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseFormat(s)
		if err == nil {
			if got != PNG && got != JPEG && got != WebP {
				t.Fatalf("ParseFormat(%q) = %q", s, got)
			}
			return
		}
		me := asError(t, err)
		if me.Status != StatusBadRequest || len(me.Message) > 200 || !utf8.ValidString(me.Message) {
			t.Fatalf("bad refusal %d %q", me.Status, me.Message)
		}
	})
}
