package pngcodec

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"image"
	"image/png"
	"io"
	"reflect"
	"testing"
)

// requireFast skips the test when libdeflate, and so the fast path, is not loaded.
func requireFast(t testing.TB) {
	t.Helper()
	if err := fastLibrary(); err != nil {
		t.Skip(err)
	}
}

// sameImage fails the test unless got has want's image type and pixels.
func sameImage(t testing.TB, name string, got, want image.Image) {
	t.Helper()
	if reflect.TypeOf(got) != reflect.TypeOf(want) {
		t.Fatalf("%s: decoded to %T, image/png gives %T", name, got, want)
	}
	samePixels(t, name, got, want)
}

// gradient returns a smooth picture, which image/png's encoder filters otherwise than
// noise, with a translucent alpha ramp when asked.
func gradient(w, h int, translucent bool) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			a := byte(0xff)
			if translucent {
				a = byte(255 * (x + y) / (w + h))
			}
			i := m.PixOffset(x, y)
			copy(m.Pix[i:], []byte{byte(x * 3), byte(y * 5), byte(x + y), a})
		}
	}
	return m
}

// rgbFile writes a PNG file of an 8-bit RGB (bpp 3) or RGBA (bpp 4) picture: the
// signature, IHDR, then chunks.
func rgbFile(w, h, bpp int, chunks ...chunk) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, 8, map[int]byte{3: colourRGB, 4: colourRGBA}[bpp], 0, 0, 0)
	out := appendChunk([]byte(signature), "IHDR", ihdr)
	for _, c := range chunks {
		out = appendChunk(out, c.typ, c.data)
	}
	return out
}

// compress returns raw as a zlib stream.
func compress(raw []byte) []byte {
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(raw)
	zw.Close()
	return z.Bytes()
}

// filterRows filters the rows of pix, w pixels of bpp bytes each, with the filter types
// filterOf gives, following the specification's own description of each filter, and
// returns the image data before compression.
func filterRows(pix []byte, w, bpp int, filterOf func(y int) byte) []byte {
	n := w * bpp
	prev := make([]byte, n)
	var raw []byte
	for y := 0; (y+1)*n <= len(pix); y++ {
		row := pix[y*n : (y+1)*n]
		f := filterOf(y)
		raw = append(raw, f)
		for i, x := range row {
			var a, c int
			if i >= bpp {
				a, c = int(row[i-bpp]), int(prev[i-bpp])
			}
			b := int(prev[i])
			pred := [5]int{0, a, b, (a + b) / 2, paethSpec(a, b, c)}[f]
			raw = append(raw, x-byte(pred))
		}
		prev = row
	}
	return raw
}

// paethSpec is the Paeth predictor as the PNG specification's sample code writes it.
func paethSpec(a, b, c int) int {
	p := a + b - c
	pa, pb, pc := max(p-a, a-p), max(p-b, b-p), max(p-c, c-p)
	if pa <= pb && pa <= pc {
		return a
	}
	if pb <= pc {
		return b
	}
	return c
}

// filterTypes returns the filter type of every row of a file's image data.
func filterTypes(t *testing.T, data []byte, w, bpp int) []byte {
	t.Helper()
	var z []byte
	for rest := data[len(signature):]; len(rest) >= 12; {
		n := int(binary.BigEndian.Uint32(rest))
		if string(rest[4:8]) == "IDAT" {
			z = append(z, rest[8:8+n]...)
		}
		rest = rest[12+n:]
	}
	zr, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	var types []byte
	for i := 0; i < len(raw); i += 1 + w*bpp {
		types = append(types, raw[i])
	}
	return types
}

// TestFastMatchesImagePNG decodes noise and gradients of many sizes, opaque and not, as
// image/png writes them at each compression level, through the fast path alone, and
// requires image/png's image type and pixels. The files must use all five filter types.
func TestFastMatchesImagePNG(t *testing.T) {
	requireFast(t)
	levels := []png.CompressionLevel{png.DefaultCompression, png.NoCompression,
		png.BestSpeed, png.BestCompression}
	var used [5]int
	for _, w := range []int{1, 2, 3, 7, 64, 257} {
		for h := 1; h <= 40; h++ {
			for _, alpha := range []bool{false, true} {
				pictures := map[string]image.Image{
					"noise":    noise(w, h, alpha, uint64(w*100+h)),
					"gradient": gradient(w, h, alpha),
				}
				for kind, m := range pictures {
					for _, level := range levels {
						name := fmt.Sprintf("%s/%dx%d/alpha=%v/level=%d", kind, w, h, alpha,
							level)
						data := encodeWith(t, m, level)
						bpp := map[byte]int{colourRGB: 3, colourRGBA: 4}[data[25]]
						if want := map[bool]int{false: 3, true: 4}[alpha]; bpp != want {
							t.Fatalf("%s: colour type %d", name, data[25])
						}
						for _, f := range filterTypes(t, data, w, bpp) {
							used[f]++
						}
						checkFast(t, name, data)
					}
				}
			}
		}
	}
	for f, n := range used {
		if n == 0 {
			t.Errorf("no row used filter type %d", f)
		}
	}
}

// encodeWith writes m with image/png's encoder at level.
func encodeWith(t *testing.T, m image.Image, level png.CompressionLevel) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: level}).Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// checkFast requires the fast path to decode data to image/png's image type and pixels.
func checkFast(t *testing.T, name string, data []byte) {
	t.Helper()
	want, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: image/png: %v", name, err)
	}
	h, err := readHeader(data)
	if err != nil || !h.fast() {
		t.Fatalf("%s: header %+v (%v) is not for the fast path", name, h, err)
	}
	got, err := decodeFast(data, h)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	sameImage(t, name, got, want)
}

// TestFastFilters writes files whose rows use each filter type, and all five in turn,
// with this test's own filters, and requires image/png's pixels from the fast path.
func TestFastFilters(t *testing.T) {
	requireFast(t)
	choices := map[string]func(y int) byte{"in turn": func(y int) byte { return byte(y % 5) }}
	for f := range byte(5) {
		choices[fmt.Sprint(f)] = func(int) byte { return f }
	}
	for name, filterOf := range choices {
		for _, bpp := range []int{3, 4} {
			for _, w := range []int{1, 2, 3, 7, 64, 257} {
				for _, h := range []int{1, 2, 5, 40} {
					for kind, m := range map[string]*image.NRGBA{
						"noise":    noise(w, h, true, uint64(w+h)),
						"gradient": gradient(w, h, true),
					} {
						pix := pixelBytes(m, bpp)
						raw := filterRows(pix, w, bpp, filterOf)
						data := rgbFile(w, h, bpp, chunk{"IDAT", compress(raw)}, chunk{"IEND", nil})
						checkFast(t, fmt.Sprintf("filter %s/%s/%d/%dx%d", name, kind, bpp, w,
							h), data)
					}
				}
			}
		}
	}
}

// pixelBytes returns m's pixels with 3 or 4 bytes a pixel, dropping the alpha for 3.
func pixelBytes(m *image.NRGBA, bpp int) []byte {
	if bpp == 4 {
		return m.Pix
	}
	var out []byte
	for i := 0; i < len(m.Pix); i += 4 {
		out = append(out, m.Pix[i:i+3]...)
	}
	return out
}

// unusualCase is a file for the fast path, and whether the fast path must refuse it.
type unusualCase struct {
	name    string
	data    []byte
	refused bool
}

// unusualFiles returns files of a 33x17 picture with their chunks split, reordered,
// damaged or added to, cut short at every third byte, and with image data that is damaged
// or of the wrong size.
func unusualFiles(t testing.TB) []unusualCase {
	var cases []unusualCase
	for _, bpp := range []int{3, 4} {
		const w, h = 33, 17
		pix := pixelBytes(noise(w, h, true, uint64(bpp)), bpp)
		raw := filterRows(pix, w, bpp, func(y int) byte { return byte(y % 5) })
		z := compress(raw)
		idat, iend := chunk{"IDAT", z}, chunk{"IEND", nil}
		text := chunk{"tEXt", []byte("Comment\x00hello")}
		file := func(chunks ...chunk) []byte { return rgbFile(w, h, bpp, chunks...) }
		add := func(name string, refused bool, data []byte) {
			cases = append(cases, unusualCase{fmt.Sprintf("%d/%s", bpp, name), data, refused})
		}
		zWith := func(f func(raw []byte) []byte) chunk {
			return chunk{"IDAT", compress(f(bytes.Clone(raw)))}
		}

		plain := file(idat, iend)
		add("plain", false, plain)
		add("bytes after IEND", false, append(bytes.Clone(plain), "junk"...))
		add("IDAT in 1-byte chunks", false, file(append(split(z, 1), iend)...))
		add("IDAT in 100-byte chunks and an empty one", false,
			file(append(append([]chunk{{"IDAT", nil}}, split(z, 100)...), iend)...))
		add("palette", false, file(chunk{"PLTE", make([]byte, 30)}, idat, iend))
		add("text around the data", false, file(text, idat, text, iend))
		add("sRGB gamma", false, file(gamma(45455), idat, iend))

		for i, name := range []string{"IHDR", "IDAT", "IEND"} {
			bad := bytes.Clone(plain)
			at := []int{8 + 8 + 13, len(plain) - 12 - 4, len(plain) - 4}[i]
			bad[at] ^= 1
			add("bad CRC of "+name, true, bad)
		}
		badText := file(text, idat, iend)
		badText[8+25+8] ^= 1 // the first byte of the text, under its old CRC
		add("bad CRC of tEXt", true, badText)
		for n := 0; n < len(plain); n += 3 {
			add(fmt.Sprintf("cut at %d", n), true, plain[:n])
		}

		add("filter type 5", true, file(zWith(func(r []byte) []byte {
			r[3*(1+w*bpp)] = 5
			return r
		}), iend))
		add("a byte short", true, file(zWith(func(r []byte) []byte { return r[:len(r)-1] }),
			iend))
		add("a row short", true, file(zWith(func(r []byte) []byte { return r[:len(r)-1-w*bpp] }),
			iend))
		add("a byte too long", true, file(zWith(func(r []byte) []byte { return append(r, 0) }),
			iend))
		add("a row too long", true, file(zWith(func(r []byte) []byte {
			return append(r, r[:1+w*bpp]...)
		}), iend))
		adler := bytes.Clone(z)
		adler[len(adler)-1] ^= 1
		add("bad Adler-32", true, file(chunk{"IDAT", adler}, iend))
		add("bytes after the zlib stream", true, file(chunk{"IDAT", append(z, 0, 0, 0)},
			iend))
		add("IDAT chunks apart", true, file(chunk{"IDAT", z[:len(z)/2]}, text,
			chunk{"IDAT", z[len(z)/2:]}, iend))
		add("a stray IDAT after text", true, file(idat, text, chunk{"IDAT", []byte("junk")},
			iend))
		add("unknown critical chunk", true, file(chunk{"CRIT", []byte{1}}, idat, iend))
		add("transparency", true, file(chunk{"tRNS", make([]byte, 6)}, idat, iend))
		add("two palettes", true, file(chunk{"PLTE", make([]byte, 3)},
			chunk{"PLTE", make([]byte, 3)}, idat, iend))
		add("palette after the data", true, file(idat, chunk{"PLTE", make([]byte, 3)}, iend))
		add("palette of 4 bytes", true, file(chunk{"PLTE", make([]byte, 4)}, idat, iend))
		add("two headers", true, file(chunk{"IHDR", plain[16 : 16+13]}, idat, iend))
		add("no IDAT", true, file(iend))
		add("no IEND", true, file(idat))
		add("IEND with data", true, file(idat, chunk{"IEND", []byte{0}}))

		for name, at := range map[string]int{"16-bit": 24, "interlaced": 28,
			"compression method 1": 26, "filter method 1": 27} {
			d := bytes.Clone(plain)
			d[at]++
			add(name, true, fixCRCs(d))
		}
		taller := bytes.Clone(plain)
		binary.BigEndian.PutUint32(taller[20:], h+1)
		add("taller than its data", true, fixCRCs(taller))
	}
	return cases
}

// split cuts z into IDAT chunks of n bytes.
func split(z []byte, n int) []chunk {
	var out []chunk
	for len(z) > 0 {
		k := min(n, len(z))
		out = append(out, chunk{"IDAT", z[:k]})
		z = z[k:]
	}
	return out
}

// TestFastUnusualFiles requires the fast path to decode the usual variations of a file to
// image/png's pixels and to refuse the others, and Decode to read every file image/png
// reads to the same pixels.
func TestFastUnusualFiles(t *testing.T) {
	requireFast(t)
	for _, c := range unusualFiles(t) {
		want, werr := png.Decode(bytes.NewReader(c.data))
		h, err := readHeader(c.data)
		if err != nil {
			if !c.refused {
				t.Fatalf("%s: %v", c.name, err)
			}
			continue
		}
		got, err := decodeFast(c.data, h)
		switch {
		case err == nil && c.refused:
			t.Errorf("%s: the fast path decoded it", c.name)
		case err != nil && !c.refused:
			t.Errorf("%s: %v", c.name, err)
		case err == nil && werr != nil:
			t.Errorf("%s: the fast path decoded what image/png refuses: %v", c.name, werr)
		case err == nil:
			sameImage(t, c.name, got, want)
		}
		if werr == nil {
			got, err := Decode(c.data, 0)
			if err != nil {
				t.Fatalf("%s: image/png reads it, Decode: %v", c.name, err)
			}
			sameImage(t, c.name+" (Decode)", got, want)
		}
	}
}

// FuzzDecodeFast requires that the fast path decode only what image/png decodes, to the
// same pixels, and that Decode read every 8-bit RGB or RGBA file image/png reads to the
// same pixels. The CRCs are made right before decoding, so that changed bytes reach the
// chunk order, the decompression and the filters.
func FuzzDecodeFast(f *testing.F) {
	for _, c := range unusualFiles(f) {
		f.Add(c.data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		data = fixCRCs(bytes.Clone(data))
		h, err := readHeader(data)
		if err != nil || !h.fast() || int64(h.width)*int64(h.height) > 1<<16 {
			return
		}
		want, werr := png.Decode(bytes.NewReader(data))
		if fastLibrary() == nil {
			got, err := decodeFast(data, h)
			if err == nil && werr != nil {
				t.Fatalf("the fast path decoded what image/png refuses: %v", werr)
			}
			if err == nil {
				sameImage(t, "fast path", got, want)
			}
		}
		if werr == nil {
			got, err := Decode(data, 1<<16)
			if err != nil {
				t.Fatalf("image/png reads it, Decode: %v", err)
			}
			sameImage(t, "Decode", got, want)
		}
	})
}

// TestFastGathersLittle requires the fast path to refuse image data split over chunks
// that would take more than maxGather to copy together, and Decode to read the file all
// the same, and to decode the same data in one chunk, which needs no copy.
func TestFastGathersLittle(t *testing.T) {
	requireFast(t)
	defer func(n int) { maxGather = n }(maxGather)
	maxGather = 1 << 10

	pic := noise(64, 64, false, 7)
	rgb := make([]byte, 0, 64*64*3)
	for i := 0; i < len(pic.Pix); i += 4 {
		rgb = append(rgb, pic.Pix[i:i+3]...)
	}
	z := compress(filterRows(rgb, 64, 3, func(int) byte { return filterNone }))
	if len(z) <= maxGather {
		t.Fatalf("the image data is %d bytes, not more than %d", len(z), maxGather)
	}
	whole := rgbFile(64, 64, 3, chunk{"IDAT", z}, chunk{"IEND", nil})
	parts := rgbFile(64, 64, 3, append(split(z, 512), chunk{"IEND", nil})...)

	h, err := readHeader(parts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decodeFast(parts, h); err == nil {
		t.Error("the fast path gathered more than maxGather bytes of image data")
	}
	want, err := png.Decode(bytes.NewReader(parts))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(parts, 0)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	sameImage(t, "split", got, want)

	got, err = decodeFast(whole, h)
	if err != nil {
		t.Fatalf("one chunk: %v", err)
	}
	sameImage(t, "one chunk", got, want)
}
