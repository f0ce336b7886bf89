package media

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"math"
	"testing"
)

func TestEncodeRoundTrip(t *testing.T) {
	src := pattern(64, 48)
	for _, f := range []Format{PNG, JPEG, WebP} {
		for _, q := range []int{0, 50, 100, 500} {
			var buf bytes.Buffer
			if err := Encode(&buf, src, f, q); err != nil {
				t.Fatalf("%s q%d: %v", f, q, err)
			}
			if got, err := Sniff(buf.Bytes()); got != f {
				t.Fatalf("%s q%d: output sniffs as %q (%v)", f, q, got, err)
			}

			img := decodeAs(t, f, buf.Bytes())
			if img.Bounds().Size() != src.Bounds().Size() {
				t.Fatalf("%s: size %v", f, img.Bounds())
			}
			if d := coarseDiff(img, src); d > 6 {
				t.Errorf("%s q%d: decoded picture differs by %.1f", f, q, d)
			}
		}
	}
}

func TestEncodeQualityMatters(t *testing.T) {
	src := noise(128, 128)
	for _, f := range []Format{JPEG, WebP} {
		var low, high bytes.Buffer
		if err := Encode(&low, src, f, 20); err != nil {
			t.Fatal(err)
		}
		if err := Encode(&high, src, f, 95); err != nil {
			t.Fatal(err)
		}
		if low.Len() >= high.Len() {
			t.Errorf("%s: quality 20 gives %d bytes, quality 95 %d", f, low.Len(), high.Len())
		}
	}
}

func TestEncodeUnknownFormat(t *testing.T) {
	err := Encode(&bytes.Buffer{}, pattern(4, 4), Format("gif"), 0)
	if me := asError(t, err); me.Status != StatusBadRequest || !errors.Is(err, ErrUnsupported) {
		t.Fatalf("%d %v", me.Status, err)
	}
}

func TestEncodeKeepsTransparency(t *testing.T) {
	src := image.NewNRGBA(image.Rect(0, 0, 16, 16))
	src.SetNRGBA(3, 3, color.NRGBA{255, 0, 0, 255})
	for _, f := range []Format{PNG, WebP} {
		var buf bytes.Buffer
		if err := Encode(&buf, src, f, 0); err != nil {
			t.Fatal(err)
		}
		img := decodeAs(t, f, buf.Bytes())
		if _, _, _, a := img.At(10, 10).RGBA(); a != 0 {
			t.Errorf("%s: a transparent pixel came back with alpha %d", f, a)
		}
	}
}

func TestThumbnail(t *testing.T) {
	cases := []struct {
		w, h, max int
		want      image.Point
	}{
		{2000, 1000, 256, image.Pt(256, 128)},
		{1000, 2000, 256, image.Pt(128, 256)},
		{1000, 1000, 256, image.Pt(256, 256)},
		{333, 1000, 100, image.Pt(33, 100)},
		{5000, 2, 100, image.Pt(100, 1)},
		{300, 200, 0, image.Pt(1, 1)},
	}
	for _, tc := range cases {
		got := Thumbnail(image.NewRGBA(image.Rect(0, 0, tc.w, tc.h)), tc.max)
		if got.Bounds().Size() != tc.want {
			t.Errorf("%dx%d in %d: %v, want %v", tc.w, tc.h, tc.max, got.Bounds().Size(), tc.want)
		}
	}
}

func TestThumbnailNeverEnlarges(t *testing.T) {
	src := pattern(100, 50)
	if got := Thumbnail(src, 256); got != image.Image(src) {
		t.Fatal("a small image was not returned as it is")
	}
	if got := Thumbnail(src, 100); got != image.Image(src) {
		t.Fatal("an image that just fits was resampled")
	}
}

func TestThumbnailFiltersDetail(t *testing.T) {
	// A one-pixel checkerboard must average to grey, not alias into stripes or moiré.
	src := image.NewGray(image.Rect(0, 0, 1024, 768))
	for i := range src.Pix {
		if (i%1024+i/1024)%2 == 0 {
			src.Pix[i] = 255
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
}

func TestOptimize(t *testing.T) {
	cases := []struct {
		name string
		img  image.Image
		want image.Point
	}{
		{"large", pattern(3000, 2000), image.Pt(1536, 1024)},
		{"tall", pattern(500, 2500), image.Pt(307, 1536)},
		{"small", pattern(300, 200), image.Pt(300, 200)},
		{"incompressible", noise(2048, 2048), image.Pt(1536, 1536)},
	}
	for _, tc := range cases {
		data, f, err := Optimize(tc.img)
		if err != nil || f != JPEG {
			t.Fatalf("%s: %q %v", tc.name, f, err)
		}
		if len(data) >= OptimizeMaxBytes {
			t.Errorf("%s: %d bytes", tc.name, len(data))
		}
		img, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if img.Bounds().Size() != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, img.Bounds().Size(), tc.want)
		}
	}
}

func TestOptimizeLowersQualityUntilSmallEnough(t *testing.T) {
	// Noise at quality 90 is over 4 MB at 1536x1536; the answer must come from a lower step.
	src := noise(1536, 1536)
	var q90 bytes.Buffer
	if err := jpeg.Encode(&q90, src, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	if q90.Len() < OptimizeMaxBytes {
		t.Skipf("noise encodes to only %d bytes at quality 90", q90.Len())
	}

	data, _, err := Optimize(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) >= OptimizeMaxBytes || len(data) >= q90.Len() {
		t.Fatalf("%d bytes, quality 90 gave %d", len(data), q90.Len())
	}
}

func TestOptimizeFlattensOntoWhite(t *testing.T) {
	src := image.NewNRGBA(image.Rect(0, 0, 32, 32))
	draw.Draw(src, image.Rect(0, 0, 16, 32), image.NewUniform(color.NRGBA{0, 0, 255, 255}),
		image.Point{}, draw.Src)

	data, _, err := Optimize(src)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := jpeg.Decode(bytes.NewReader(data))
	if r, g, b, _ := img.At(28, 16).RGBA(); r>>8 < 240 || g>>8 < 240 || b>>8 < 240 {
		t.Fatalf("a transparent area became %d,%d,%d, want white", r>>8, g>>8, b>>8)
	}
}
