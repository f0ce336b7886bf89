package media

import (
	"image"
	"image/color"
	"math"
	"testing"

	"golang.org/x/image/draw"
)

// TestThumbnailHalvingFiltersDetail runs the checkerboard of TestThumbnailFiltersDetail
// through the halving path, which RGBA and NRGBA pictures take: it must still come out
// grey.
func TestThumbnailHalvingFiltersDetail(t *testing.T) {
	cases := map[string]draw.Image{
		"rgba":  image.NewRGBA(image.Rect(0, 0, 1024, 768)),
		"nrgba": image.NewNRGBA(image.Rect(0, 0, 1024, 768)),
	}
	for name, src := range cases {
		t.Run(name, func(t *testing.T) {
			for y := 0; y < 768; y++ {
				for x := 0; x < 1024; x++ {
					v := uint8(0)
					if (x+y)%2 == 0 {
						v = 255
					}
					src.Set(x, y, color.NRGBA{v, v, v, 255})
				}
			}
			got := Thumbnail(src, 100).(*image.RGBA)
			worst := 0.0
			for i := 0; i < len(got.Pix); i += 4 {
				worst = math.Max(worst, math.Abs(float64(got.Pix[i])-127.5))
			}
			if worst > 12 {
				t.Fatalf("a pixel of the thumbnail is %.0f away from grey", worst)
			}
		})
	}
}

// TestHalveWeighsByAlpha keeps a transparent pixel's hidden colour out of the average.
func TestHalveWeighsByAlpha(t *testing.T) {
	src := image.NewNRGBA(image.Rect(0, 0, 2, 2))
	src.SetNRGBA(0, 0, color.NRGBA{255, 0, 0, 255})
	for _, p := range []image.Point{{1, 0}, {0, 1}, {1, 1}} {
		src.SetNRGBA(p.X, p.Y, color.NRGBA{0, 255, 0, 0}) // invisible green
	}

	got := halve(src.Pix, src.Stride, src.Rect, true).RGBAAt(0, 0)
	want := color.RGBA{64, 0, 0, 64} // a quarter of opaque red, premultiplied
	if got != want {
		t.Fatalf("halved to %v, want %v", got, want)
	}
}

// TestThumbnailHalvingKeepsThePicture compares the halving path with Catmull-Rom alone on
// a smooth picture: the two thumbnails must match within a few levels.
func TestThumbnailHalvingKeepsThePicture(t *testing.T) {
	src := pattern(1024, 1024)
	fast := Thumbnail(src, 256).(*image.RGBA)
	slow := image.NewRGBA(fast.Rect)
	draw.CatmullRom.Scale(slow, slow.Rect, src, src.Rect, draw.Src, nil)

	var total, worst float64
	for i := range fast.Pix {
		d := math.Abs(float64(fast.Pix[i]) - float64(slow.Pix[i]))
		total += d
		worst = math.Max(worst, d)
	}
	if mean := total / float64(len(fast.Pix)); mean > 0.5 || worst > 8 {
		t.Fatalf("thumbnails differ by %.2f levels on average and %.0f at most", mean,
			worst)
	}
}
