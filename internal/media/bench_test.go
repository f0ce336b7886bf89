package media

import (
	"bytes"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"path/filepath"
	"testing"

	"golang.org/x/image/draw"

	"github.com/sketchmaker/sketchmaker/internal/shareddata"
)

// photo1024 returns a real camera photo scaled to 1024x1024: photographic content for
// encoder benchmarks.
func photo1024(b *testing.B) image.Image {
	b.Helper()
	src, err := jpeg.Decode(bytes.NewReader(shareddata.Read(b, "photos", "gps-DSCN0010.jpg")))
	if err != nil {
		b.Fatal(err)
	}
	dst := image.NewRGBA(image.Rect(0, 0, 1024, 1024))
	draw.CatmullRom.Scale(dst, dst.Rect, src, src.Bounds(), draw.Src, nil)
	return dst
}

// BenchmarkRefuseBomb measures refusing each decompression bomb from its header.
func BenchmarkRefuseBomb(b *testing.B) {
	for _, path := range shareddata.Files(b, "attacks", "bomb_*") {
		data := shareddata.Read(b, "attacks", filepath.Base(path))
		b.Run(filepath.Base(path), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Clean(bytes.NewReader(data), "", Limits{}); err == nil {
					b.Fatal("a bomb was accepted")
				}
			}
		})
	}
}

// BenchmarkAcceptTiny measures the whole pipeline on the smallest valid upload.
func BenchmarkAcceptTiny(b *testing.B) {
	data := shareddata.Read(b, "attacks", "valid_tiny.png")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Clean(bytes.NewReader(data), "tiny.png", Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCleanPhoto measures cleaning a real 640x480 camera photo with EXIF and GPS.
func BenchmarkCleanPhoto(b *testing.B) {
	data := shareddata.Read(b, "photos", "gps-DSCN0010.jpg")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Clean(bytes.NewReader(data), "photo.jpg", Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPostProcess1024 measures what happens to a generated 1024x1024 PNG: decode it,
// make a 256-pixel thumbnail and encode that as WebP.
func BenchmarkPostProcess1024(b *testing.B) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, photo1024(b)); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.ReportAllocs()

	for b.Loop() {
		img, _, err := DecodeLimited(data, Limits{})
		if err != nil {
			b.Fatal(err)
		}
		if err := Encode(io.Discard, Thumbnail(img, 256), WebP, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodePNG compares the compression levels Encode could use for PNG.
func BenchmarkEncodePNG(b *testing.B) {
	img := photo1024(b)
	levels := map[string]png.CompressionLevel{
		"default": png.DefaultCompression, "best-speed": png.BestSpeed,
	}
	for name, level := range levels {
		b.Run(name, func(b *testing.B) {
			enc := png.Encoder{CompressionLevel: level}
			var size int
			for b.Loop() {
				var buf bytes.Buffer
				if err := enc.Encode(&buf, img); err != nil {
					b.Fatal(err)
				}
				size = buf.Len()
			}
			b.ReportMetric(float64(size), "bytes")
		})
	}
}

// BenchmarkEncode1024 measures each format at its default quality.
func BenchmarkEncode1024(b *testing.B) {
	img := photo1024(b)
	for _, f := range []Format{PNG, JPEG, WebP} {
		b.Run(string(f), func(b *testing.B) {
			for b.Loop() {
				if err := Encode(io.Discard, img, f, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkThumbnail measures a 256-pixel thumbnail of a 12-megapixel photo.
func BenchmarkThumbnail(b *testing.B) {
	src := photo1024(b)
	big := image.NewRGBA(image.Rect(0, 0, 4000, 3000))
	draw.ApproxBiLinear.Scale(big, big.Rect, src, src.Bounds(), draw.Src, nil)
	for b.Loop() {
		Thumbnail(big, 256)
	}
}

// BenchmarkOptimize measures preparing a 12-megapixel photo for a provider.
func BenchmarkOptimize(b *testing.B) {
	src := photo1024(b)
	big := image.NewRGBA(image.Rect(0, 0, 4000, 3000))
	draw.ApproxBiLinear.Scale(big, big.Rect, src, src.Bounds(), draw.Src, nil)
	for b.Loop() {
		if _, _, err := Optimize(big); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkThumbnail1024 measures the 256-pixel thumbnail of a 1024x1024 photo in each
// form the decoders hand over: NRGBA (PNG), RGBA (the engine, opaque PNG) and YCbCr (JPEG).
func BenchmarkThumbnail1024(b *testing.B) {
	src := photo1024(b)
	nrgba := image.NewNRGBA(src.Bounds())
	draw.Draw(nrgba, nrgba.Rect, src, image.Point{}, draw.Src)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, src, &jpeg.Options{Quality: 90}); err != nil {
		b.Fatal(err)
	}
	ycc, err := jpeg.Decode(&buf)
	if err != nil {
		b.Fatal(err)
	}
	sources := []struct {
		name string
		img  image.Image
	}{{"nrgba", nrgba}, {"rgba", src}, {"ycbcr", ycc}}
	for _, s := range sources {
		b.Run(s.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Thumbnail(s.img, 256)
			}
		})
	}
}
