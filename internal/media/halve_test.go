package media

import (
	"image"
	"image/color"
	"math"
	"strings"
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

// TestHalveWeighsByAlpha keeps a transparent pixel's hidden colour out of the average: an
// 8x8 picture of 2x2 blocks, each one opaque red pixel and three invisible green ones, is
// halved once on its way to 2x2, and comes out a quarter of opaque red everywhere.
func TestHalveWeighsByAlpha(t *testing.T) {
	src := image.NewNRGBA(image.Rect(0, 0, 8, 8))
	for y := range 8 {
		for x := range 8 {
			c := color.NRGBA{0, 255, 0, 0} // invisible green
			if x%2 == 0 && y%2 == 0 {
				c = color.NRGBA{255, 0, 0, 255}
			}
			src.SetNRGBA(x, y, c)
		}
	}
	if n := halvings(8, 8, 2, 2); n != 1 {
		t.Fatalf("%d halvings on the way from 8 to 2 pixels, want 1", n)
	}

	got := Thumbnail(src, 2).(*image.RGBA)
	want := color.RGBA{64, 0, 0, 64} // premultiplied
	for y := range 2 {
		for x := range 2 {
			if c := got.RGBAAt(x, y); c != want {
				t.Fatalf("pixel %d,%d is %v, want %v", x, y, c, want)
			}
		}
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

// TestOpaque finds the one translucent pixel of a row wherever it is, odd rows included.
func TestOpaque(t *testing.T) {
	for _, n := range []int{1, 2, 3, 8} {
		row := make([]byte, 4*n)
		for i := 3; i < len(row); i += 4 {
			row[i] = 255
		}
		if !opaque(row) {
			t.Fatalf("an opaque row of %d pixels was not found opaque", n)
		}
		for x := range n {
			row[4*x+3] = 254
			if opaque(row) {
				t.Fatalf("pixel %d of %d is translucent, yet the row was found opaque", x, n)
			}
			row[4*x+3] = 255
		}
	}
}

// TestThumbnailHalvingMatchesAverages takes pictures of every kind the decoders hand over
// through one or two halvings, with odd sides and a picture away from the origin, and
// compares the thumbnails with a plain reference: each 2x2 block of premultiplied pixels
// averaged, as many times, then golang.org/x/image's Catmull-Rom.
func TestThumbnailHalvingMatchesAverages(t *testing.T) {
	sources := map[string]image.Image{
		"nrgba-twice":       pattern(2101, 1503),
		"translucent-twice": translucent(2100, 1100),
		"rgba-once":         asRGBA(noise(1025, 777)),
		"ycbcr-once":        ycbcr(1101, 703),
		"gray-twice":        gray(2200, 2050),
	}
	for name, src := range sources {
		t.Run(name, func(t *testing.T) {
			got := Thumbnail(src, 256).(*image.RGBA)
			b := src.Bounds()
			n := halvings(b.Dx(), b.Dy(), got.Rect.Dx(), got.Rect.Dy())
			if want := strings.Count(name, "once") + 2*strings.Count(name, "twice"); n != want {
				t.Fatalf("%d halvings, want %d", n, want)
			}

			ref := asRGBA(src)
			for range n {
				ref = averageBlocks(ref)
			}
			want := image.NewRGBA(got.Rect)
			draw.CatmullRom.Scale(want, want.Rect, ref, ref.Rect, draw.Src, nil)
			if mean, worst := difference(got, want); mean > 0.5 || worst > 2 {
				t.Fatalf("differs by %.2f levels on average and %.0f at most", mean, worst)
			}
		})
	}
}

// averageBlocks is the reference halving: the rounded mean of each 2x2 block.
func averageBlocks(src *image.RGBA) *image.RGBA {
	b := src.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx()/2, b.Dy()/2))
	for y := range dst.Rect.Dy() {
		for x := range dst.Rect.Dx() {
			var sum [4]int
			for _, p := range []image.Point{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
				c := src.RGBAAt(b.Min.X+2*x+p.X, b.Min.Y+2*y+p.Y)
				sum[0], sum[1] = sum[0]+int(c.R), sum[1]+int(c.G)
				sum[2], sum[3] = sum[2]+int(c.B), sum[3]+int(c.A)
			}
			dst.SetRGBA(x, y, color.RGBA{uint8((sum[0] + 2) / 4), uint8((sum[1] + 2) / 4),
				uint8((sum[2] + 2) / 4), uint8((sum[3] + 2) / 4)})
		}
	}
	return dst
}
