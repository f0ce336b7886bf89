package media

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"runtime"
	"testing"
)

// sixteenBit returns w x h pictures of each 16-bit kind image/png decodes to, with
// samples whose high and low bytes differ.
func sixteenBit(w, h int) []image.Image {
	nrgba := image.NewNRGBA64(image.Rect(0, 0, w, h))
	rgba := image.NewRGBA64(image.Rect(0, 0, w, h))
	gray := image.NewGray16(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			r, g, b := uint16(x*977+y), uint16(y*1531+x), uint16((x+y)*4099)
			nrgba.SetNRGBA64(x, y, color.NRGBA64{r, g, b, uint16(x*263 + 1000)})
			rgba.SetRGBA64(x, y, color.RGBA64{r, g, b, 0xffff})
			gray.SetGray16(x, y, color.Gray16{r})
		}
	}
	return []image.Image{nrgba, rgba, gray}
}

// TestCleanNarrowsSixteenBitPictures cleans 16-bit PNGs: the cleaned file is 8-bit and
// each sample is the original's high byte.
func TestCleanNarrowsSixteenBitPictures(t *testing.T) {
	for _, src := range sixteenBit(67, 31) {
		var in bytes.Buffer
		if err := png.Encode(&in, src); err != nil {
			t.Fatal(err)
		}
		c, err := Clean(bytes.NewReader(in.Bytes()), "deep.png", Limits{})
		if err != nil {
			t.Fatalf("%T: %v", src, err)
		}
		out := decodeAs(t, PNG, c.Bytes)
		for y := 0; y < 31; y++ {
			for x := 0; x < 67; x++ {
				want := color.NRGBAModel.Convert(src.At(x, y)).(color.NRGBA)
				if _, ok := src.(*image.Gray16); ok {
					v := color.GrayModel.Convert(src.At(x, y)).(color.Gray).Y
					want = color.NRGBA{v, v, v, 0xff}
				}
				got := color.NRGBAModel.Convert(out.At(x, y)).(color.NRGBA)
				if d := maxDiff(got, want); d > 1 {
					t.Fatalf("%T at %d,%d: %v, want %v", src, x, y, got, want)
				}
			}
		}
		switch out.(type) {
		case *image.NRGBA64, *image.RGBA64, *image.Gray16:
			t.Errorf("%T was cleaned into a 16-bit %T", src, out)
		}
	}
}

// maxDiff is the largest difference between two colours' samples.
func maxDiff(a, b color.NRGBA) int {
	d := 0
	for _, p := range [][2]uint8{{a.R, b.R}, {a.G, b.G}, {a.B, b.B}, {a.A, b.A}} {
		d = max(d, int(p[0])-int(p[1]), int(p[1])-int(p[0]))
	}
	return d
}

// TestEightBitOfASubImage narrows a sub-image, whose rows are not packed, without
// disturbing the picture it is part of.
func TestEightBitOfASubImage(t *testing.T) {
	whole := sixteenBit(40, 20)[0].(*image.NRGBA64)
	before := bytes.Clone(whole.Pix)
	sub := whole.SubImage(image.Rect(5, 3, 33, 17)).(*image.NRGBA64)
	got := eightBit(sub).(*image.NRGBA)
	if !bytes.Equal(whole.Pix, before) {
		t.Fatal("narrowing a sub-image changed the whole picture")
	}
	for y := 3; y < 17; y++ {
		for x := 5; x < 33; x++ {
			c := whole.NRGBA64At(x, y)
			want := color.NRGBA{uint8(c.R >> 8), uint8(c.G >> 8), uint8(c.B >> 8),
				uint8(c.A >> 8)}
			if g := got.NRGBAAt(x, y); g != want {
				t.Fatalf("at %d,%d: %v, want %v", x, y, g, want)
			}
		}
	}
}

// TestCleaningSixteenBitsAllocatesLittle cleans a 16-bit PNG of 1000x1000 pixels (8 MB
// decoded): besides the decoded picture, cleaning allocates under half as much again.
// image/png's generic encoder allocated for each pixel it read, twice the picture.
func TestCleaningSixteenBitsAllocatesLittle(t *testing.T) {
	var in bytes.Buffer
	if err := png.Encode(&in, sixteenBit(1000, 1000)[0]); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := CleanTo(new(bytes.Buffer), bytes.NewReader(in.Bytes()), "deep.png",
		Limits{}); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	const decoded = 8 << 20
	if got := after.TotalAlloc - before.TotalAlloc; got > decoded*3/2+uint64(2*in.Len()) {
		t.Errorf("cleaning allocated %d MB for a picture of %d MB", got>>20, decoded>>20)
	}
}
