package bench

import (
	"bytes"
	"image"
	"image/png"
	"io"
	"testing"

	"github.com/kovidgoyal/imaging"
	"runtime"

	"github.com/sketchmaker/sketchmaker/internal/media"
)

func BenchmarkSteps(b *testing.B) {
	data, err := providerPNG("../../../shared/testdata")
	if err != nil {
		b.Fatal(err)
	}
	img, _, _ := image.Decode(bytes.NewReader(data))
	b.Run("decode", func(b *testing.B) {
		for b.Loop() {
			png.Decode(bytes.NewReader(data))
		}
	})
	b.Run("thumb", func(b *testing.B) {
		for b.Loop() {
			media.Thumbnail(img, 256)
		}
	})
	small := media.Thumbnail(img, 256)
	b.Run("webp", func(b *testing.B) {
		for b.Loop() {
			media.Encode(io.Discard, small, media.WebP, 80)
		}
	})
	b.Run("png", func(b *testing.B) {
		for b.Loop() {
			media.Encode(io.Discard, img, media.PNG, 0)
		}
	})
}

func BenchmarkStepsHalf(b *testing.B) {
	data, _ := providerPNG("../../../shared/testdata")
	img, _, _ := image.Decode(bytes.NewReader(data))
	half := media.Thumbnail(img, 512)
	b.Run("catmull-512-256", func(b *testing.B) {
		for b.Loop() {
			media.Thumbnail(half, 256)
		}
	})
}

func BenchmarkStepsImaging(b *testing.B) {
	data, _ := providerPNG("../../../shared/testdata")
	img, _, _ := image.Decode(bytes.NewReader(data))
	b.Run("imaging-catmull-1024-256", func(b *testing.B) {
		for b.Loop() {
			imaging.Resize(img, 256, 256, imaging.CatmullRom)
		}
	})
	runtime.GOMAXPROCS(1)
	b.Run("imaging-catmull-1024-256-1cpu", func(b *testing.B) {
		for b.Loop() {
			imaging.Resize(img, 256, 256, imaging.CatmullRom)
		}
	})
}

func BenchmarkStepsImagingHalf(b *testing.B) {
	data, _ := providerPNG("../../../shared/testdata")
	img, _, _ := image.Decode(bytes.NewReader(data))
	half := media.Thumbnail(img, 512)
	runtime.GOMAXPROCS(1)
	b.Run("imaging-512-256-1cpu", func(b *testing.B) {
		for b.Loop() {
			imaging.Resize(half, 256, 256, imaging.CatmullRom)
		}
	})
}
