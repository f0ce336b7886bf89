package media

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	xwebp "golang.org/x/image/webp"

	"github.com/sketchmaker/sketchmaker/internal/shareddata"
)

// decodeAs decodes cleaned bytes with the plain decoder of their format.
func decodeAs(t testing.TB, f Format, data []byte) image.Image {
	t.Helper()
	var img image.Image
	var err error
	switch f {
	case PNG:
		img, err = png.Decode(bytes.NewReader(data))
	case JPEG:
		img, err = jpeg.Decode(bytes.NewReader(data))
	case WebP:
		img, err = xwebp.Decode(bytes.NewReader(data))
		img = videoRangeToNRGBA(img)
	}
	if err != nil {
		t.Fatalf("cleaned %s does not decode: %v", f, err)
	}
	return img
}

func TestCleanAcceptsEveryPhoto(t *testing.T) {
	for _, path := range shareddata.Files(t, "photos", "*.jpg") {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			data := shareddata.Read(t, "photos", name)
			c, err := Clean(bytes.NewReader(data), name, Limits{})
			if err != nil {
				t.Fatalf("refused: %v", err)
			}

			if c.Format != JPEG || c.DisplayName != name {
				t.Errorf("format %q, name %q", c.Format, c.DisplayName)
			}
			assertNoMetadata(t, name, c.Bytes)
			img := decodeAs(t, JPEG, c.Bytes)
			if img.Bounds().Dx() != c.Width || img.Bounds().Dy() != c.Height {
				t.Errorf("stored %v, reported %dx%d", img.Bounds(), c.Width, c.Height)
			}
			if exifOrientation(JPEG, c.Bytes) != 1 || jpegExif(c.Bytes) != nil {
				t.Error("the cleaned file still has an EXIF block")
			}
		})
	}
}

func TestCleanTurnsPhotosUpright(t *testing.T) {
	cleanPhoto := func(name string) (*Cleaned, image.Image) {
		data := shareddata.Read(t, "photos", name)
		c, err := Clean(bytes.NewReader(data), name, Limits{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		raw, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		return c, raw
	}

	ref, _ := cleanPhoto("orientation-landscape_1.jpg")
	if ref.Width <= ref.Height {
		t.Fatalf("the reference is %dx%d, not landscape", ref.Width, ref.Height)
	}
	for _, o := range []string{"3", "6", "8"} {
		name := "orientation-landscape_" + o + ".jpg"
		c, raw := cleanPhoto(name)
		if c.Width != ref.Width || c.Height != ref.Height {
			t.Errorf("%s: %dx%d after orientation, want %dx%d", name, c.Width, c.Height,
				ref.Width, ref.Height)
		}

		upright, stored := coarseDiff(c.Image, ref.Image), coarseDiff(raw, ref.Image)
		t.Logf("%s: %.1f upright, %.1f stored", name, upright, stored)
		if upright > 30 || upright*2 > stored {
			t.Errorf("%s: differs from the reference by %.1f upright and %.1f as stored",
				name, upright, stored)
		}
	}

	c, _ := cleanPhoto("orientation-portrait_5.jpg")
	if c.Height <= c.Width {
		t.Errorf("portrait_5 is %dx%d after orientation, want portrait", c.Width, c.Height)
	}
}

// coarseDiff scales both images to 16x16 and returns their mean absolute difference per
// channel, 0-255.
func coarseDiff(a, b image.Image) float64 {
	sa, sb := Thumbnail(stretch(a, 16), 16), Thumbnail(stretch(b, 16), 16)
	var sum float64
	for y := 0; y < 16; y++ {
		for x := 0; x < 16; x++ {
			r1, g1, b1, _ := sa.At(x, y).RGBA()
			r2, g2, b2, _ := sb.At(x, y).RGBA()
			sum += absDiff(r1, r2) + absDiff(g1, g2) + absDiff(b1, b2)
		}
	}
	return sum / (16 * 16 * 3) / 257
}

// stretch scales img to side×side, ignoring its aspect ratio.
func stretch(img image.Image, side int) image.Image {
	b := img.Bounds()
	small := Thumbnail(img, side*4)
	if b.Dx() == b.Dy() {
		return Thumbnail(small, side)
	}
	dst := image.NewRGBA(image.Rect(0, 0, side, side))
	sb := small.Bounds()
	for y := 0; y < side; y++ {
		for x := 0; x < side; x++ {
			dst.Set(x, y, small.At(sb.Min.X+x*sb.Dx()/side, sb.Min.Y+y*sb.Dy()/side))
		}
	}
	return dst
}

func sameColour(a, b color.Color) bool {
	r1, g1, b1, a1 := a.RGBA()
	r2, g2, b2, a2 := b.RGBA()
	return r1 == r2 && g1 == g2 && b1 == b2 && a1 == a2
}

func absDiff(a, b uint32) float64 {
	if a > b {
		return float64(a - b)
	}
	return float64(b - a)
}

func TestCleanAppliesEveryOrientation(t *testing.T) {
	src := pattern(6, 4)
	plain := encodePNG(t, src)

	for o := 1; o <= 8; o++ {
		file := withPNGChunk(plain, "eXIf", tiffWithOrientation(uint16(o)))
		c, err := Clean(bytes.NewReader(file), "turned.png", Limits{})
		if err != nil {
			t.Fatalf("orientation %d: %v", o, err)
		}
		assertNoMetadata(t, "png", c.Bytes)

		got := decodeAs(t, PNG, c.Bytes)
		w, h := 6, 4
		if o >= 5 {
			w, h = 4, 6
		}
		if got.Bounds() != image.Rect(0, 0, w, h) {
			t.Fatalf("orientation %d: bounds %v, want %dx%d", o, got.Bounds(), w, h)
		}
		for dy := 0; dy < h; dy++ {
			for dx := 0; dx < w; dx++ {
				sx, sy := source(o, dx, dy, 6, 4)
				if !sameColour(got.At(dx, dy), src.At(sx, sy)) {
					t.Fatalf("orientation %d: pixel (%d,%d) is %v, want %v", o, dx, dy,
						got.At(dx, dy), src.At(sx, sy))
				}
			}
		}
	}
}

// TestOrientationMeaning pins the orientation mapping to its definition: for 6, the top row
// of the stored picture becomes the right-hand column of the displayed one.
func TestOrientationMeaning(t *testing.T) {
	src := pattern(6, 4)
	cases := []struct {
		o              int
		dx, dy, sx, sy int // the displayed pixel and the stored one it shows
	}{
		{2, 0, 0, 5, 0}, {3, 0, 0, 5, 3}, {4, 0, 0, 0, 3}, {5, 3, 0, 0, 3},
		{6, 3, 0, 0, 0}, {6, 0, 0, 0, 3}, {7, 0, 0, 5, 3}, {8, 0, 0, 5, 0},
	}
	for _, tc := range cases {
		got := orient(src, tc.o)
		if !sameColour(got.At(tc.dx, tc.dy), src.At(tc.sx, tc.sy)) {
			t.Errorf("orientation %d: (%d,%d) shows %v, want stored (%d,%d) %v", tc.o, tc.dx,
				tc.dy, got.At(tc.dx, tc.dy), tc.sx, tc.sy, src.At(tc.sx, tc.sy))
		}
	}
}

func TestCleanOrientsJPEGAndWebP(t *testing.T) {
	src := pattern(40, 24)
	var jbuf, wbuf bytes.Buffer
	if err := Encode(&jbuf, src, JPEG, 95); err != nil {
		t.Fatal(err)
	}
	if err := Encode(&wbuf, src, WebP, 95); err != nil {
		t.Fatal(err)
	}

	exif := append([]byte("Exif\x00\x00"), tiffWithOrientation(6)...)
	files := map[string][]byte{
		"turned.jpg":  withJPEGSegment(jbuf.Bytes(), exif),
		"turned.webp": asExtendedWebP(t, wbuf.Bytes(), tiffWithOrientation(6), 40, 24),
	}
	for name, file := range files {
		c, err := Clean(bytes.NewReader(file), name, Limits{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if c.Width != 24 || c.Height != 40 {
			t.Errorf("%s: %dx%d, want 24x40", name, c.Width, c.Height)
		}
		assertNoMetadata(t, name, c.Bytes)
	}
}

func TestCleanAttacks(t *testing.T) {
	cases := []struct {
		file    string
		name    string // the client's file name
		status  int    // 0 when accepted
		kind    error
		message string // part of the message, or of the display name when accepted
	}{
		{"valid_tiny.png", "../../etc/passwd.png", 0, nil, "passwd.png"},
		{"valid_tiny.png", `..\..\x.png`, 0, nil, "x.png"},
		{"valid_tiny.png", "", 0, nil, "image.png"},
		{"exif_gps.jpg", "exif_gps.jpg", 0, nil, "exif_gps.jpg"},
		{"exif_gps.png", "exif_gps.png", 0, nil, "exif_gps.png"},
		{"exif_gps.webp", "exif_gps.webp", 0, nil, "exif_gps.webp"},
		{"bomb_20000x20000_complete.png", "bomb.png", 413, ErrTooLarge, "20000 × 20000"},
		{"bomb_50000x50000.png", "bomb.png", 413, ErrTooLarge, "50000 × 50000"},
		{"bomb_30000x30000.jpg", "bomb.jpg", 413, ErrTooLarge, "30000 × 30000"},
		{"svg_script_as.png", "svg_script_as.png", 415, ErrUnsupported, "looks like SVG"},
		{"gif_as.png", "gif_as.png", 415, ErrUnsupported, "looks like GIF"},
		{"pdf_as.png", "pdf_as.png", 415, ErrUnsupported, "looks like PDF"},
		{"truncated.png", "truncated.png", 422, ErrDamaged, "the image is damaged or incomplete"},
		{"valid_tiny.png", "valid_tiny.jpg", 422, ErrMismatch, "ends in .jpg but the file is a PNG"},
		{"exif_gps.jpg", "photo.png", 422, ErrMismatch, "rename it to end in .jpg"},
		{"exif_gps.webp", "photo.gif", 422, ErrMismatch, "ends in .gif"},
	}

	for _, tc := range cases {
		t.Run(tc.file+" as "+tc.name, func(t *testing.T) {
			data := shareddata.Read(t, "attacks", tc.file)
			c, err := Clean(bytes.NewReader(data), tc.name, Limits{})
			if tc.status == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if c.DisplayName != tc.message {
					t.Errorf("display name %q, want %q", c.DisplayName, tc.message)
				}
				assertNoMetadata(t, tc.file, c.Bytes)
				decodeAs(t, c.Format, c.Bytes)
				return
			}

			me := asError(t, err)
			if me.Status != tc.status || !errors.Is(err, tc.kind) ||
				!strings.Contains(me.Message, tc.message) {
				t.Fatalf("got %d %q (%v), want %d mentioning %q", me.Status, me.Message, err,
					tc.status, tc.message)
			}
		})
	}
}

func TestBombsAreRefusedBeforeDecoding(t *testing.T) {
	for _, path := range shareddata.Files(t, "attacks", "bomb_*") {
		data := shareddata.Read(t, "attacks", filepath.Base(path))
		var err error
		allocated := allocatedBy(func() {
			_, err = Clean(bytes.NewReader(data), "", Limits{})
		})
		if asError(t, err).Status != 413 {
			t.Fatalf("%s: %v", path, err)
		}
		if allocated > 10<<20 {
			t.Errorf("%s: refusing it allocated %d MB", path, allocated>>20)
		}

		allocated = allocatedBy(func() { _, _, err = DecodeLimited(data, Limits{}) })
		if asError(t, err).Status != 413 || allocated > 10<<20 {
			t.Errorf("%s: DecodeLimited: %v after %d MB", path, err, allocated>>20)
		}
	}
}

// allocatedBy returns how many bytes fn allocated on the heap.
func allocatedBy(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestOversizedStreamIsNotReadToTheEnd(t *testing.T) {
	cases := []struct {
		lim  Limits
		want string
	}{
		{Limits{}, "larger than 25 MB"},
		{Limits{MaxBytes: 1000}, "larger than 1000 bytes"},
		{Limits{MaxBytes: 64 << 10}, "larger than 64 KB"},
	}
	for _, tc := range cases {
		r := &countingReader{}
		_, err := Clean(r, "big.png", tc.lim)
		me := asError(t, err)
		if me.Status != 413 || !errors.Is(err, ErrTooLarge) || !strings.Contains(me.Message, tc.want) {
			t.Fatalf("got %d %q, want 413 %q", me.Status, me.Message, tc.want)
		}
		if max := tc.lim.withDefaults().MaxBytes + 1; r.n > max {
			t.Fatalf("read %d bytes of an endless stream, want at most %d", r.n, max)
		}
	}
}

func TestOtherFormatsAreRefusedFromTheirFirstBytes(t *testing.T) {
	r := &countingReader{prefix: "GIF89a"}
	_, err := Clean(r, "endless.gif", Limits{})
	if me := asError(t, err); me.Status != 415 || !strings.Contains(me.Message, "GIF") {
		t.Fatalf("%d %q", me.Status, me.Message)
	}
	if r.n > SniffLen {
		t.Fatalf("read %d bytes of an endless GIF before refusing it", r.n)
	}
}

func TestExactLimitIsAccepted(t *testing.T) {
	data := encodePNG(t, pattern(8, 8))
	exact := Limits{MaxBytes: int64(len(data))}
	if _, err := Clean(bytes.NewReader(data), "x.png", exact); err != nil {
		t.Fatalf("a file of exactly the limit was refused: %v", err)
	}
	_, err := Clean(bytes.NewReader(data), "x.png", Limits{MaxBytes: int64(len(data) - 1)})
	if asError(t, err).Status != 413 {
		t.Fatalf("a file one byte over the limit: %v", err)
	}
}

func TestDimensionLimits(t *testing.T) {
	data := encodePNG(t, pattern(30, 20))
	cases := []struct {
		lim     Limits
		status  int
		kind    error
		message string
	}{
		{Limits{MaxSide: 30, MaxPixels: 600}, 0, nil, ""},
		{Limits{MaxSide: 29}, 422, ErrDimensions, "30 × 20 pixels; the limit is 29 pixels"},
		{Limits{MaxPixels: 599}, 413, ErrTooLarge, "(0.0 megapixels); the limit is 0.0"},
	}
	for _, tc := range cases {
		_, err := Clean(bytes.NewReader(data), "", tc.lim)
		if tc.status == 0 {
			if err != nil {
				t.Errorf("%+v: %v", tc.lim, err)
			}
			continue
		}
		me := asError(t, err)
		if me.Status != tc.status || !errors.Is(err, tc.kind) ||
			!strings.Contains(me.Message, tc.message) {
			t.Errorf("%+v: %d %q", tc.lim, me.Status, me.Message)
		}
	}
}

func TestCleanRefusesEmptyAndBrokenReads(t *testing.T) {
	_, err := Clean(bytes.NewReader(nil), "x.png", Limits{})
	if me := asError(t, err); me.Status != 422 || !strings.Contains(me.Message, "empty") {
		t.Errorf("empty: %d %q", me.Status, me.Message)
	}

	_, err = Clean(failingReader{}, "x.png", Limits{})
	if me := asError(t, err); me.Status != 400 || strings.Contains(me.Message, "reset") {
		t.Errorf("broken read: %d %q", me.Status, me.Message)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestDecodeLimited(t *testing.T) {
	img, f, err := DecodeLimited(encodePNG(t, pattern(10, 7)), Limits{})
	if err != nil || f != PNG || img.Bounds().Dx() != 10 {
		t.Fatalf("%v %q %v", img.Bounds(), f, err)
	}

	_, _, err = DecodeLimited(shareddata.Read(t, "attacks", "gif_as.png"), Limits{})
	if asError(t, err).Status != 415 {
		t.Fatalf("gif: %v", err)
	}
	_, _, err = DecodeLimited(make([]byte, 2000), Limits{MaxBytes: 1000})
	if asError(t, err).Status != 413 {
		t.Fatalf("oversized: %v", err)
	}
}

func TestDisplayName(t *testing.T) {
	cases := []struct{ in, want string }{
		{"photo.jpg", "photo.jpg"},
		{"../../etc/passwd.png", "passwd.png"},
		{`C:\Users\me\Pictures\cat.JPG`, "cat.JPG"},
		{`..\..\x.png`, "x.png"},
		{"dir/", ""},
		{"..", ""},
		{"  spaced  name.png  ", "spaced  name.png"},
		{"a\x00b\x1fc\x7f.png", "abc.png"},
		{"evil\u202egnp.exe", "evilgnp.exe"},
		{"zero\u200bwidth.webp", "zerowidth.webp"},
		{"bad\xffutf8.png", "badutf8.png"},
		{"new\nline.png", "newline.png"},
		{strings.Repeat("a", 150) + ".jpeg", strings.Repeat("a", 95) + ".jpeg"},
		{strings.Repeat("é", 120), strings.Repeat("é", 100)},
		{"x." + strings.Repeat("b", 120), "x." + strings.Repeat("b", 98)},
	}
	for _, tc := range cases {
		if got := DisplayName(tc.in); got != tc.want {
			t.Errorf("DisplayName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzDisplayName checks that no client file name yields a path element, a control
// character or a name over 100 characters.
func FuzzDisplayName(f *testing.F) {
	for _, s := range []string{"a.png", "../x", `..\..\y.jpg`, "\u202e", "\xff", "..", " . "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := DisplayName(in)
		if strings.ContainsAny(got, `/\`) || got == "." || got == ".." {
			t.Fatalf("%q gives path-like %q", in, got)
		}
		if !utf8.ValidString(got) || utf8.RuneCountInString(got) > 100 {
			t.Fatalf("%q gives %q", in, got)
		}
		for _, r := range got {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
				t.Fatalf("%q keeps %U", in, r)
			}
		}
	})
}

// FuzzClean feeds arbitrary bytes and names to the upload pipeline: it must answer with a
// cleaned image or a 4xx refusal, never a panic or a 5xx, and what it accepts carries no
// EXIF.
func FuzzClean(f *testing.F) {
	for _, name := range []string{"valid_tiny.png", "exif_gps.jpg", "exif_gps.png",
		"exif_gps.webp", "truncated.png", "gif_as.png", "bomb_30000x30000.jpg"} {
		f.Add(shareddata.Read(f, "attacks", name), name)
	}
	f.Add(withPNGChunk(encodePNG(f, pattern(3, 2)), "eXIf", tiffWithOrientation(6)), "o.png")

	lim := Limits{MaxBytes: 1 << 20, MaxSide: 512, MaxPixels: 1 << 16}
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		c, err := Clean(bytes.NewReader(data), name, lim)
		if err != nil {
			if me := asError(t, err); me.Status < 400 || me.Status > 499 {
				t.Fatalf("status %d: %v", me.Status, err)
			}
			return
		}
		if f, _ := Sniff(c.Bytes); f != c.Format {
			t.Fatalf("cleaned bytes sniff as %q, want %q", f, c.Format)
		}
		if exifOrientation(c.Format, c.Bytes) != 1 || bytes.Contains(c.Bytes, []byte("Exif")) {
			t.Fatal("cleaned bytes keep EXIF")
		}
	})
}

// FuzzDecodeLimited checks that provider results of any shape are decoded or refused with
// a 4xx.
func FuzzDecodeLimited(f *testing.F) {
	f.Add(shareddata.Read(f, "attacks", "valid_tiny.png"))
	f.Add(shareddata.Read(f, "attacks", "bomb_50000x50000.png"))
	f.Add([]byte("RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x02"))

	lim := Limits{MaxBytes: 1 << 20, MaxSide: 512, MaxPixels: 1 << 16}
	f.Fuzz(func(t *testing.T, data []byte) {
		img, _, err := DecodeLimited(data, lim)
		if err != nil {
			if me := asError(t, err); me.Status < 400 || me.Status > 499 {
				t.Fatalf("status %d: %v", me.Status, err)
			}
			return
		}
		if b := img.Bounds(); b.Dx() > 512 || b.Dy() > 512 {
			t.Fatalf("decoded %v over the limits", b)
		}
	})
}
