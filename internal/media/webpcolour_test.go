package media

import (
	"bytes"
	"image"
	"image/color"
	"testing"
)

func TestVideoRangeConversion(t *testing.T) {
	cases := []struct {
		y, cb, cr uint8
		want      color.NRGBA
	}{
		{16, 128, 128, color.NRGBA{0, 0, 0, 255}},
		{235, 128, 128, color.NRGBA{255, 255, 255, 255}},
		{126, 128, 128, color.NRGBA{128, 128, 128, 255}},
		{81, 90, 240, color.NRGBA{255, 0, 0, 255}},
		{145, 54, 34, color.NRGBA{0, 255, 0, 255}},
		{41, 240, 110, color.NRGBA{0, 0, 255, 255}},
		{0, 0, 0, color.NRGBA{0, 136, 0, 255}},
		{255, 255, 255, color.NRGBA{255, 125, 255, 255}},
	}
	for _, tc := range cases {
		m := image.NewYCbCr(image.Rect(0, 0, 1, 1), image.YCbCrSubsampleRatio444)
		m.Y[0], m.Cb[0], m.Cr[0] = tc.y, tc.cb, tc.cr
		got := videoRangeToNRGBA(m).(*image.NRGBA).NRGBAAt(0, 0)
		if !near(got, tc.want, 2) {
			t.Errorf("Y'CbCr %d,%d,%d: %v, want %v", tc.y, tc.cb, tc.cr, got, tc.want)
		}
	}
}

func near(a, b color.NRGBA, tol int) bool {
	d := func(x, y uint8) bool { return int(x)-int(y) <= tol && int(y)-int(x) <= tol }
	return d(a.R, b.R) && d(a.G, b.G) && d(a.B, b.B) && a.A == b.A
}

func TestVideoRangeKeepsAlphaAndOrigin(t *testing.T) {
	m := image.NewNYCbCrA(image.Rect(10, 20, 14, 22), image.YCbCrSubsampleRatio420)
	for i := range m.Y {
		m.Y[i] = 235
	}
	for i := range m.Cb {
		m.Cb[i], m.Cr[i] = 128, 128
	}
	m.A[m.AOffset(13, 21)] = 77

	got := videoRangeToNRGBA(m).(*image.NRGBA)
	if got.Rect != image.Rect(0, 0, 4, 2) || got.NRGBAAt(3, 1) != (color.NRGBA{255, 255, 255, 77}) {
		t.Fatalf("%v %v", got.Rect, got.NRGBAAt(3, 1))
	}
	if img := image.NewGray(image.Rect(0, 0, 1, 1)); videoRangeToNRGBA(img) != image.Image(img) {
		t.Fatal("an image that is not Y'CbCr was converted")
	}
}

// TestWebPUploadsDoNotFade cleans the same WebP picture again and again: with the colour
// range read wrongly, each round would lift the blacks and dim the whites.
func TestWebPUploadsDoNotFade(t *testing.T) {
	src := pattern(96, 64)
	var buf bytes.Buffer
	if err := Encode(&buf, src, WebP, 95); err != nil {
		t.Fatal(err)
	}

	data := buf.Bytes()
	for round := 0; round < 5; round++ {
		c, err := Clean(bytes.NewReader(data), "again.webp", Limits{})
		if err != nil {
			t.Fatal(err)
		}
		data = c.Bytes
	}

	img := decodeAs(t, WebP, data)
	if d := coarseDiff(img, src); d > 3 {
		t.Fatalf("after five rounds the picture differs by %.1f", d)
	}
}
