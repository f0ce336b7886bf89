package media

import (
	"bytes"
	"image"
	"image/color"
	"testing"

	"github.com/gen2brain/webp"
)

// encodeWebPBothWays encodes src as WebP through planes and through libwebp's own
// conversion, and returns both decoded.
func encodeWebPBothWays(t *testing.T, src image.Image) (planar, whole image.Image) {
	t.Helper()
	if err := webp.Dynamic(); err != nil {
		t.Skipf("libwebp is not loaded: %v", err)
	}
	saved := planarFrom
	defer func() { planarFrom = saved }()
	for _, from := range []int{1, 1 << 40} {
		planarFrom = from
		if (webpPlanes(src) != nil) != (from == 1) {
			t.Fatalf("threshold %d: planes chosen wrongly", from)
		}
		var buf bytes.Buffer
		if err := Encode(&buf, src, WebP, 90); err != nil {
			t.Fatal(err)
		}
		if from == 1 {
			planar = decodeAs(t, WebP, buf.Bytes())
		} else {
			whole = decodeAs(t, WebP, buf.Bytes())
		}
	}
	return planar, whole
}

// TestWebPPlanesLookLikeLibwebpsConversion encodes pictures with colour ramps, hard edges,
// noise and odd sides both ways: through planes the picture stays as close to the source
// as through libwebp's own conversion, so handing libwebp planes changes memory, not the
// picture.
func TestWebPPlanesLookLikeLibwebpsConversion(t *testing.T) {
	for _, src := range []image.Image{pattern(257, 131), noise(64, 48),
		rgbaOf(pattern(90, 61))} {
		planar, whole := encodeWebPBothWays(t, src)
		dp, dw := meanDiff(planar, src), meanDiff(whole, src)
		t.Logf("%T %v: %.2f levels from the source through planes, %.2f through libwebp",
			src, src.Bounds(), dp, dw)
		if dp > dw*1.1+0.3 {
			t.Errorf("%T %v: planes lose more of the picture (%.2f levels) than libwebp's "+
				"conversion (%.2f)", src, src.Bounds(), dp, dw)
		}
	}
}

// TestWebPPlanesKeepAlpha keeps transparent and half-transparent pixels as they were.
func TestWebPPlanesKeepAlpha(t *testing.T) {
	src := pattern(64, 64)
	for i := 3; i < len(src.Pix); i += 4 {
		src.Pix[i] = uint8(i / 4 % 64 * 4)
	}
	planar, _ := encodeWebPBothWays(t, src)
	for y := 0; y < 64; y++ {
		for x := 0; x < 64; x++ {
			want := src.NRGBAAt(x, y).A
			got := color.NRGBAModel.Convert(planar.At(x, y)).(color.NRGBA).A
			if d := int(got) - int(want); d < -2 || d > 2 {
				t.Fatalf("alpha at %d,%d: %d, want %d", x, y, got, want)
			}
		}
	}
}

// TestWebPPlanesOnlyForLargeFourBytePictures leaves small pictures and other kinds to
// libwebp.
func TestWebPPlanesOnlyForLargeFourBytePictures(t *testing.T) {
	if err := webp.Dynamic(); err != nil {
		t.Skipf("libwebp is not loaded: %v", err)
	}
	if webpPlanes(pattern(64, 64)) != nil {
		t.Error("a small picture went as planes")
	}
	saved := planarFrom
	defer func() { planarFrom = saved }()
	planarFrom = 1
	if webpPlanes(image.NewGray(image.Rect(0, 0, 8, 8))) != nil {
		t.Error("a gray picture went as planes")
	}
}

// rgbaOf returns m as a premultiplied RGBA picture.
func rgbaOf(m *image.NRGBA) *image.RGBA {
	out := image.NewRGBA(m.Bounds())
	for y := m.Rect.Min.Y; y < m.Rect.Max.Y; y++ {
		for x := m.Rect.Min.X; x < m.Rect.Max.X; x++ {
			out.Set(x, y, m.At(x, y))
		}
	}
	return out
}

// meanDiff is the mean absolute difference of two pictures' 8-bit samples.
func meanDiff(a, b image.Image) float64 {
	var sum, n float64
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			ca := color.NRGBAModel.Convert(a.At(x, y)).(color.NRGBA)
			cb := color.NRGBAModel.Convert(b.At(x, y)).(color.NRGBA)
			for _, p := range [][2]uint8{{ca.R, cb.R}, {ca.G, cb.G}, {ca.B, cb.B}, {ca.A, cb.A}} {
				d := float64(p[0]) - float64(p[1])
				if d < 0 {
					d = -d
				}
				sum += d
				n++
			}
		}
	}
	return sum / n
}
