package media

import (
	"image"
	"image/color"
	"testing"
)

// TestOrientPlanesMatchesTheGeneralPath turns JPEG-shaped pictures (gray, YCbCr 4:4:4 and
// 4:2:0) by every orientation, by their planes, and requires the very pixels the general
// four-byte path gives; 4:2:0 pictures with an odd side, and other subsamplings, must take
// the general path.
func TestOrientPlanesMatchesTheGeneralPath(t *testing.T) {
	pictures := map[string]image.Image{"gray": image.NewGray(image.Rect(0, 0, 6, 4))}
	for name, r := range map[string]image.YCbCrSubsampleRatio{
		"444": image.YCbCrSubsampleRatio444, "420": image.YCbCrSubsampleRatio420} {
		pictures[name] = image.NewYCbCr(image.Rect(0, 0, 6, 4), r)
	}
	for _, m := range pictures {
		fill(m)
	}
	for name, m := range pictures {
		for o := 2; o <= 8; o++ {
			got := orientPlanes(m, o)
			if got == nil {
				t.Fatalf("%s, orientation %d: took the general path", name, o)
			}
			pix, stride, b, _ := fourByte(m)
			want := orient(&image.RGBA{Pix: pix, Stride: stride, Rect: b}, o)
			if got.Bounds() != want.Bounds() {
				t.Fatalf("%s, orientation %d: %v, want %v", name, o, got.Bounds(), want.Bounds())
			}
			for y := 0; y < want.Bounds().Dy(); y++ {
				for x := 0; x < want.Bounds().Dx(); x++ {
					g, w := color.RGBAModel.Convert(got.At(x, y)),
						color.RGBAModel.Convert(want.At(x, y))
					if g != w {
						t.Fatalf("%s, orientation %d, (%d,%d): %v, want %v", name, o, x, y,
							g, w)
					}
				}
			}
		}
	}

	odd := image.NewYCbCr(image.Rect(0, 0, 5, 4), image.YCbCrSubsampleRatio420)
	other := image.NewYCbCr(image.Rect(0, 0, 6, 4), image.YCbCrSubsampleRatio422)
	for name, m := range map[string]image.Image{"4:2:0 with an odd side": odd,
		"4:2:2": other} {
		if orientPlanes(m, 6) != nil {
			t.Errorf("%s was turned by its planes", name)
		}
		if b := orient(m, 6).Bounds(); b.Dx() != 4 || b.Dy() != m.Bounds().Dx() {
			t.Errorf("%s: turned to %v", name, b)
		}
	}
}

// fill gives every sample of a gray or YCbCr picture a different value.
func fill(m image.Image) {
	switch m := m.(type) {
	case *image.Gray:
		for i := range m.Pix {
			m.Pix[i] = uint8(i*37 + 11)
		}
	case *image.YCbCr:
		for i := range m.Y {
			m.Y[i] = uint8(i*37 + 11)
		}
		for i := range m.Cb {
			m.Cb[i], m.Cr[i] = uint8(i*53+90), uint8(200-i*29)
		}
	}
}
