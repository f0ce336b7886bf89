package media

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"path/filepath"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/shareddata"
)

func TestReadHeaderTellsWhatThePixelsWillTake(t *testing.T) {
	cases := map[string]struct {
		img   image.Image
		enc   func(io.Writer, image.Image) error
		f     Format
		bytes int64
	}{
		"rgb png":    {pattern(300, 200), png.Encode, PNG, 300 * 200 * 4},
		"grey png":   {image.NewGray(image.Rect(0, 0, 300, 200)), png.Encode, PNG, 300 * 200},
		"16-bit png": {image.NewRGBA64(image.Rect(0, 0, 30, 20)), png.Encode, PNG, 30 * 20 * 8},
		"paletted png": {image.NewPaletted(image.Rect(0, 0, 30, 20),
			color.Palette{color.Black, color.White}), png.Encode, PNG, 30 * 20},
		"jpeg": {pattern(300, 200), func(w io.Writer, m image.Image) error {
			return jpeg.Encode(w, m, nil)
		}, JPEG, 300 * 200 * 3},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := tc.enc(&buf, tc.img); err != nil {
				t.Fatal(err)
			}
			h, err := ReadHeader(&buf, "", Limits{})
			if err != nil {
				t.Fatal(err)
			}
			b := tc.img.Bounds()
			want := Header{Format: tc.f, Width: b.Dx(), Height: b.Dy(), PixelBytes: tc.bytes}
			if h != want {
				t.Fatalf("got %+v, want %+v", h, want)
			}
		})
	}
}

func TestReadHeaderOfWebP(t *testing.T) {
	data := shareddata.Read(t, "attacks", "exif_gps.webp")
	h, err := ReadHeader(bytes.NewReader(data), "photo.webp", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := Clean(bytes.NewReader(data), "photo.webp", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if h.Format != WebP || h.Width != c.Width || h.Height != c.Height ||
		h.PixelBytes != int64(4*c.Width*c.Height) {
		t.Fatalf("header %+v for a %dx%d WebP", h, c.Width, c.Height)
	}
}

// TestReadHeaderRefusesWhatCleanRefuses gives both the same files, which Clean refuses
// from their headers alone: ReadHeader must refuse each of them the same way.
func TestReadHeaderRefusesWhatCleanRefuses(t *testing.T) {
	files := map[string][]byte{
		"wide.jpg":      encodePNG(t, pattern(40, 10)), // a PNG named as a JPEG
		"notes.png":     []byte("these are not the pixels you are looking for"),
		"broken.png":    []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"),
		"huge.png":      encodePNG(t, pattern(300, 10)),
		"animated.webp": animatedWebPHeader(),
	}
	for _, path := range shareddata.Files(t, "attacks", "bomb_*") {
		files[filepath.Base(path)] = shareddata.Read(t, "attacks", filepath.Base(path))
	}
	lim := Limits{MaxSide: 200}
	for name, data := range files {
		t.Run(name, func(t *testing.T) {
			_, cerr := Clean(bytes.NewReader(data), name, lim)
			_, herr := ReadHeader(bytes.NewReader(data), name, lim)
			want, got := asError(t, cerr), asError(t, herr)
			if got.Status != want.Status || got.Message != want.Message {
				t.Fatalf("ReadHeader: %v; Clean: %v", herr, cerr)
			}
		})
	}
}

// TestReadHeaderReadsOnlyTheHeader gives it an endless stream after a PNG header.
func TestReadHeaderReadsOnlyTheHeader(t *testing.T) {
	head := encodePNG(t, pattern(64, 64))[:33] // signature and IHDR
	r := &countingReader{prefix: string(head)}
	h, err := ReadHeader(r, "", Limits{})
	if err != nil || h.Width != 64 || h.Height != 64 {
		t.Fatalf("got %+v, %v", h, err)
	}
	if r.n > 64<<10 {
		t.Fatalf("read %d bytes to learn the dimensions", r.n)
	}
}

// TestCleanToWritesWhatCleanKeeps checks that the streaming form writes the same file
// Clean returns, and counts it.
func TestCleanToWritesWhatCleanKeeps(t *testing.T) {
	data := encodePNG(t, pattern(120, 80))
	kept, err := Clean(bytes.NewReader(data), "a.png", Limits{})
	if err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	c, err := CleanTo(&out, bytes.NewReader(data), "a.png", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), kept.Bytes) {
		t.Fatal("CleanTo wrote another file than Clean keeps")
	}
	if c.Bytes != nil || c.Size != int64(out.Len()) || kept.Size != int64(len(kept.Bytes)) {
		t.Fatalf("sizes: CleanTo %d (bytes kept: %v), Clean %d, written %d", c.Size,
			c.Bytes != nil, kept.Size, out.Len())
	}
	if c.Width != 120 || c.Height != 80 || c.Image == nil {
		t.Fatalf("cleaned %dx%d, image %v", c.Width, c.Height, c.Image != nil)
	}
}

// TestCleanToReportsAFailingWriter checks that a write failure is an internal error, not
// a refusal of the picture.
func TestCleanToReportsAFailingWriter(t *testing.T) {
	data := encodePNG(t, pattern(120, 80))
	_, err := CleanTo(failingWriter{}, bytes.NewReader(data), "a.png", Limits{})
	if me := asError(t, err); me.Status != StatusInternal || !errors.Is(err, errDiskFull) {
		t.Fatalf("got %v", err)
	}
}

var errDiskFull = errors.New("disk full")

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errDiskFull }

// animatedWebPHeader is the start of an extended WebP whose animation flag is set.
func animatedWebPHeader() []byte {
	b := []byte("RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x02\x00\x00\x00" +
		"\x09\x00\x00\x09\x00\x00")
	return append(b, make([]byte, 64)...)
}
