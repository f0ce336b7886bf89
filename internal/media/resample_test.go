package media

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"testing"

	"golang.org/x/image/draw"
)

// TestResampleMatchesCatmullRom compares the row-by-row filter with golang.org/x/image's
// Catmull-Rom, which thumbnails were made with before, on pictures of every kind the
// decoders hand over and at the reductions uploads use: they must agree to rounding.
func TestResampleMatchesCatmullRom(t *testing.T) {
	sources := map[string]image.Image{
		"nrgba":       pattern(1000, 750),
		"rgba":        asRGBA(noise(900, 600)),
		"translucent": translucent(640, 480),
		"ycbcr":       ycbcr(700, 500),
		"gray":        gray(500, 300),
	}
	sizes := [][2]int{{256, 192}, {123, 77}, {400, 3}, {1, 1}}
	for name, src := range sources {
		for _, size := range sizes {
			t.Run(fmt.Sprintf("%s-%dx%d", name, size[0], size[1]), func(t *testing.T) {
				got := resample(src, size[0], size[1])
				want := image.NewRGBA(got.Rect)
				draw.CatmullRom.Scale(want, want.Rect, src, src.Bounds(), draw.Src, nil)
				mean, worst := difference(got, want)
				if mean > 0.5 || worst > 2 {
					t.Fatalf("differs by %.2f levels on average and %.0f at most", mean,
						worst)
				}
			})
		}
	}
}

// TestResampleWorksInAFewRows makes the preview of a 2900-pixel square, the size of the
// benchmark's 25 MB upload: golang.org/x/image's filter allocated 72 MB for it, a buffer
// of the output's width by the source's height; this one needs the result and a few rows.
func TestResampleWorksInAFewRows(t *testing.T) {
	src := image.NewRGBA(image.Rect(0, 0, 2900, 2900))
	var got *image.RGBA
	allocated := allocatedBy(func() { got = resample(src, 768, 768) })
	result := uint64(len(got.Pix))
	if allocated > result+2<<20 {
		t.Fatalf("allocated %.1f MB for a result of %.1f MB", float64(allocated)/(1<<20),
			float64(result)/(1<<20))
	}
}

// TestResampleKeepsPremultipliedPixelsValid scales a sharp edge between opaque white and
// transparency, where the filter's negative lobes overshoot: no colour may exceed its
// alpha.
func TestResampleKeepsPremultipliedPixelsValid(t *testing.T) {
	src := image.NewNRGBA(image.Rect(0, 0, 300, 300))
	for y := range 300 {
		for x := range 150 {
			src.SetNRGBA(x, y, color.NRGBA{255, 255, 255, 255})
		}
	}
	got := resample(src, 97, 97)
	for i := 0; i < len(got.Pix); i += 4 {
		if a := got.Pix[i+3]; got.Pix[i] > a || got.Pix[i+1] > a || got.Pix[i+2] > a {
			t.Fatalf("pixel %d is %v: colour over its alpha", i/4, got.Pix[i:i+4])
		}
	}
}

// difference returns the mean and largest difference of two pictures' channels, in levels.
func difference(a, b *image.RGBA) (mean, worst float64) {
	var total float64
	for i := range a.Pix {
		d := math.Abs(float64(a.Pix[i]) - float64(b.Pix[i]))
		total += d
		worst = math.Max(worst, d)
	}
	return total / float64(len(a.Pix)), worst
}

func asRGBA(src image.Image) *image.RGBA {
	dst := image.NewRGBA(src.Bounds())
	draw.Draw(dst, dst.Rect, src, src.Bounds().Min, draw.Src)
	return dst
}

// translucent is a gradient whose alpha falls from opaque to clear across the picture.
func translucent(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetNRGBA(x, y, color.NRGBA{uint8(x * 255 / w), 90, uint8(y * 255 / h),
				uint8(255 - x*255/w)})
		}
	}
	return img
}

// ycbcr is a 4:2:0 picture such as the JPEG decoder makes, starting away from the origin.
func ycbcr(w, h int) *image.YCbCr {
	img := image.NewYCbCr(image.Rect(10, 20, 10+w, 20+h), image.YCbCrSubsampleRatio420)
	for i := range img.Y {
		img.Y[i] = uint8(i * 7)
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = uint8(i*3), uint8(255-i*5)
	}
	return img
}

func gray(w, h int) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(i % 251)
	}
	return img
}
