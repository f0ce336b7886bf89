package pngcodec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/png"
	"testing"
)

// translucentRGBA returns random premultiplied pixels with every kind of alpha.
func translucentRGBA(w, h int, seed uint64) *image.RGBA {
	src := noise(w, h, true, seed)
	m := image.NewRGBA(src.Rect)
	for y := range h {
		for x := range w {
			m.Set(x, y, src.At(x, y))
		}
	}
	m.Pix[3], m.Pix[7] = 0, 0xff // a transparent and an opaque pixel for certain
	return m
}

// ycbcr returns a random YCbCr picture with the given subsampling.
func ycbcr(w, h int, ratio image.YCbCrSubsampleRatio, seed uint64) *image.YCbCr {
	m := image.NewYCbCr(image.Rect(0, 0, w, h), ratio)
	n := noise(len(m.Y)+2*len(m.Cb), 1, false, seed)
	copy(m.Y, n.Pix)
	copy(m.Cb, n.Pix[len(m.Y):])
	copy(m.Cr, n.Pix[len(m.Y)+len(m.Cb):])
	return m
}

// encodeCases are pictures of every type, odd sizes and sub-images among them.
func encodeCases() map[string]image.Image {
	gray := image.NewGray(image.Rect(0, 0, 37, 21))
	copy(gray.Pix, noise(37*21, 1, false, 3).Pix)
	pal := image.NewPaletted(image.Rect(0, 0, 9, 9), color.Palette{color.Black,
		color.White, color.NRGBA{200, 10, 10, 128}})
	pal.Pix[4], pal.Pix[5] = 1, 2
	rgba64 := image.NewRGBA64(image.Rect(0, 0, 5, 3))
	rgba64.Set(1, 1, color.RGBA64{0x1234, 0x5678, 0x9abc, 0xffff})

	return map[string]image.Image{
		"nrgba opaque":          noise(37, 21, false, 1),
		"nrgba translucent":     noise(37, 21, true, 2),
		"nrgba sub-image":       noise(40, 30, true, 4).SubImage(image.Rect(3, 5, 38, 29)),
		"rgba opaque":           photoLike(64, 48),
		"rgba translucent":      translucentRGBA(37, 21, 5),
		"rgba sub-image":        translucentRGBA(40, 30, 6).SubImage(image.Rect(1, 2, 39, 27)),
		"rgba opaque sub-image": photoLike(64, 48).SubImage(image.Rect(7, 3, 50, 44)),
		"gray":                  gray,
		"gray sub-image":        gray.SubImage(image.Rect(2, 3, 30, 20)),
		"1x1":                   noise(1, 1, true, 7),
		"ycbcr 420":             ycbcr(37, 21, image.YCbCrSubsampleRatio420, 8),
		"ycbcr 444":             ycbcr(16, 9, image.YCbCrSubsampleRatio444, 9),
		"ycbcr 422 sub-image": ycbcr(40, 30, image.YCbCrSubsampleRatio422, 10).
			SubImage(image.Rect(3, 1, 37, 28)),
		"paletted (image/png)": pal,
		"rgba64 (image/png)":   rgba64,
	}
}

// photoLike returns opaque RGBA pixels with smooth gradients and noise.
func photoLike(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	n := noise(w, h, false, 11)
	for i := 0; i < len(m.Pix); i += 4 {
		x, y := i/4%w, i/4/w
		m.Pix[i], m.Pix[i+1], m.Pix[i+2] = byte(x*4)+n.Pix[i]%8, byte(y*5), n.Pix[i+2]
		m.Pix[i+3] = 0xff
	}
	return m
}

// TestEncodeRoundTrip requires that what Encode writes decodes, with image/png and with
// libpng, to the pixels image/png's own encoder keeps.
func TestEncodeRoundTrip(t *testing.T) {
	for name, img := range encodeCases() {
		var ours, theirs bytes.Buffer
		if err := Encode(&ours, img); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := png.Encode(&theirs, img); err != nil {
			t.Fatal(err)
		}
		want, err := png.Decode(&theirs)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := img.(*image.YCbCr); ok {
			// image/png writes YCbCr at 16 bits; the fast encoder at the 8 bits the
			// JPEG decoder produced.
			want = to8Bit(img)
		}

		got, err := png.Decode(bytes.NewReader(ours.Bytes()))
		if err != nil {
			t.Fatalf("%s: image/png cannot read the file: %v", name, err)
		}
		samePixels(t, name, shift(got), shift(want))
		withLibrary(t, func(t *testing.T) {
			got, err := Decode(ours.Bytes(), 0)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			samePixels(t, name, shift(got), shift(want))
		})
	}
}

// to8Bit converts img to 8-bit NRGBA, the samples an 8-bit PNG file holds.
func to8Bit(img image.Image) image.Image {
	b := img.Bounds()
	m := image.NewNRGBA(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			m.Set(x, y, color.NRGBAModel.Convert(img.At(x, y)))
		}
	}
	return m
}

// shift moves a picture to the origin, where a decoded file always is.
func shift(img image.Image) image.Image {
	b := img.Bounds()
	m := image.NewNRGBA64(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := range b.Dy() {
		for x := range b.Dx() {
			m.Set(x, y, img.At(b.Min.X+x, b.Min.Y+y))
		}
	}
	return m
}

// TestEncodeChunks checks the file's structure: the colour type image/png would choose,
// no chunk besides IHDR, IDAT and IEND (so no metadata of any kind), and image data split
// into chunks of at most idatSize bytes.
func TestEncodeChunks(t *testing.T) {
	for name, c := range map[string]struct {
		img    image.Image
		colour byte
	}{
		"opaque":      {photoLike(640, 480), colourRGB},
		"translucent": {noise(300, 300, true, 1), colourRGBA},
		"gray":        {image.NewGray(image.Rect(0, 0, 3, 3)), colourGray},
	} {
		var buf bytes.Buffer
		if err := Encode(&buf, c.img); err != nil {
			t.Fatal(err)
		}
		data := buf.Bytes()
		if got := data[8+8+9]; got != c.colour {
			t.Errorf("%s: colour type %d, want %d", name, got, c.colour)
		}
		var types []string
		for i := 8; i < len(data); {
			n := int(binary.BigEndian.Uint32(data[i:]))
			typ := string(data[i+4 : i+8])
			if typ == "IDAT" && n > idatSize {
				t.Errorf("%s: an IDAT chunk of %d bytes", name, n)
			}
			if len(types) == 0 || types[len(types)-1] != typ {
				types = append(types, typ)
			}
			i += 12 + n
		}
		if got := types; len(got) != 3 || got[0] != "IHDR" || got[1] != "IDAT" ||
			got[2] != "IEND" {
			t.Errorf("%s: chunks %v, want IHDR, IDAT..., IEND", name, got)
		}
	}
}

// TestEncodeSize keeps the fast encoder's files within a few percent of image/png's at
// its fastest level, on a photo and on a flat drawing.
func TestEncodeSize(t *testing.T) {
	flat := image.NewRGBA(image.Rect(0, 0, 512, 512))
	for i := 0; i < len(flat.Pix); i += 4 {
		x, y := i/4%512, i/4/512
		flat.Pix[i], flat.Pix[i+1], flat.Pix[i+2], flat.Pix[i+3] = byte(x/64*30),
			byte(y/50*20), 200, 0xff
	}
	for name, img := range map[string]image.Image{"photo": photo1024(t), "flat": flat} {
		var ours, theirs bytes.Buffer
		if err := Encode(&ours, img); err != nil {
			t.Fatal(err)
		}
		if err := fallback.Encode(&theirs, img); err != nil {
			t.Fatal(err)
		}
		if r := float64(ours.Len()) / float64(theirs.Len()); r > 1.05 {
			t.Errorf("%s: %d bytes, image/png %d (%.2fx)", name, ours.Len(), theirs.Len(), r)
		}
	}
}

// failingWriter accepts n bytes, then fails.
type failingWriter struct{ n int }

var errWrite = errors.New("disk full")

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		return 0, errWrite
	}
	w.n -= len(p)
	return len(p), nil
}

// TestEncodeWriteError returns the writer's error wherever it fails.
func TestEncodeWriteError(t *testing.T) {
	img := noise(300, 200, true, 1)
	for _, n := range []int{0, 8, 30, 1000, 70000, 150000} {
		if err := Encode(&failingWriter{n}, img); !errors.Is(err, errWrite) {
			t.Errorf("writer failing after %d bytes: %v", n, err)
		}
	}
}

// TestEncodeEmpty refuses an empty picture as image/png does.
func TestEncodeEmpty(t *testing.T) {
	if err := Encode(&bytes.Buffer{}, image.NewRGBA(image.Rect(0, 0, 0, 5))); err == nil {
		t.Error("an empty picture was encoded")
	}
}

// TestBytewiseArithmetic requires subBytes and addBytes, which the Up filter and its
// reversal use, to match subtraction and addition of each byte alone, on every pair of
// byte values in every lane.
func TestBytewiseArithmetic(t *testing.T) {
	for a := range 256 {
		for b := range 256 {
			for lane := range 8 {
				// The other lanes hold values that borrow and carry the most.
				x := uint64(0xff00ff00ff00ff00)&^(0xff<<(8*lane)) | uint64(a)<<(8*lane)
				y := uint64(0x00ff00ff00ff00ff)&^(0xff<<(8*lane)) | uint64(b)<<(8*lane)
				diff, sum := subBytes(x, y), addBytes(x, y)
				for k := range 8 {
					xb, yb := byte(x>>(8*k)), byte(y>>(8*k))
					if got := byte(diff >> (8 * k)); got != xb-yb {
						t.Fatalf("subBytes(%#x, %#x) byte %d = %d, want %d", x, y, k, got, xb-yb)
					}
					if got := byte(sum >> (8 * k)); got != xb+yb {
						t.Fatalf("addBytes(%#x, %#x) byte %d = %d, want %d", x, y, k, got, xb+yb)
					}
				}
			}
		}
	}
}
