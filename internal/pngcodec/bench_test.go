package pngcodec

import (
	"bytes"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"testing"

	"golang.org/x/image/draw"

	"github.com/sketchmaker/sketchmaker/internal/shareddata"
)

// photo1024 returns a camera photo scaled to 1024x1024, as a provider's picture would be.
func photo1024(t testing.TB) *image.RGBA {
	t.Helper()
	src, err := jpeg.Decode(bytes.NewReader(shareddata.Read(t, "photos", "gps-DSCN0010.jpg")))
	if err != nil {
		t.Fatal(err)
	}
	dst := image.NewRGBA(image.Rect(0, 0, 1024, 1024))
	draw.CatmullRom.Scale(dst, dst.Rect, src, src.Bounds(), draw.Src, nil)
	return dst
}

// benchPaths runs f under each decoder and encoder this machine has.
func benchPaths(b *testing.B, f func(b *testing.B)) {
	for _, p := range decoderPaths(b) {
		b.Run(p.name, func(b *testing.B) {
			defer p.choose()()
			f(b)
		})
	}
}

// BenchmarkDecode decodes a provider's 1024x1024 photographic PNG.
func BenchmarkDecode(b *testing.B) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, photo1024(b)); err != nil {
		b.Fatal(err)
	}
	benchPaths(b, func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Decode(buf.Bytes(), 0); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkEncode encodes the same photo with image/png's encoder at its fastest level and
// with this package's, reporting the file's size.
func BenchmarkEncode(b *testing.B) {
	img := photo1024(b)
	for name, enc := range map[string]func(io.Writer, image.Image) error{
		"image-png": fallback.Encode, "fast": Encode} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var buf bytes.Buffer
			for b.Loop() {
				buf.Reset()
				if err := enc(&buf, img); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(buf.Len()), "bytes/file")
		})
	}
}
