package pngcodec

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"math/rand/v2"
	"testing"
)

// spec describes a PNG file for makePNG to write, so that tests reach every colour type,
// bit depth and interlacing, which image/png's encoder does not all write.
type spec struct {
	w, h       int
	depth      int    // bits a sample: 1, 2, 4, 8 or 16
	colour     byte   // IHDR colour type
	interlaced bool   // Adam7
	trns       []byte // a tRNS chunk's data, if any
	plte       []byte // a PLTE chunk's data, for colour type 3
	before     []chunk
	seed       uint64
}

// chunk is an extra chunk written between IHDR and the image data.
type chunk struct {
	typ  string
	data []byte
}

// channels is the number of samples a pixel of colour type c has.
func channels(c byte) int {
	return map[byte]int{0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[c]
}

// makePNG writes a PNG file of random samples as s describes, with filter type 0 on
// every row.
func makePNG(t testing.TB, s spec) []byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(s.seed, 7))
	n := channels(s.colour)
	max := 1<<s.depth - 1
	if s.colour == colourPaletted {
		max = len(s.plte)/3 - 1
	}
	samples := make([]int, s.w*s.h*n)
	for i := range samples {
		samples[i] = rng.IntN(max + 1)
	}

	var raw bytes.Buffer
	for _, p := range passes(s.interlaced) {
		for y := p.y0; y < s.h; y += p.dy {
			var xs []int
			for x := p.x0; x < s.w; x += p.dx {
				xs = append(xs, x)
			}
			if len(xs) == 0 {
				break
			}
			raw.WriteByte(0)
			raw.Write(packRow(samples[y*s.w*n:(y+1)*s.w*n], xs, n, s.depth))
		}
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(raw.Bytes())
	zw.Close()

	ihdr := binary.BigEndian.AppendUint32(nil, uint32(s.w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(s.h))
	interlace := byte(0)
	if s.interlaced {
		interlace = 1
	}
	ihdr = append(ihdr, byte(s.depth), s.colour, 0, 0, interlace)
	out := appendChunk([]byte(signature), "IHDR", ihdr)
	for _, c := range s.before {
		out = appendChunk(out, c.typ, c.data)
	}
	if s.plte != nil {
		out = appendChunk(out, "PLTE", s.plte)
	}
	if s.trns != nil {
		out = appendChunk(out, "tRNS", s.trns)
	}
	out = appendChunk(out, "IDAT", z.Bytes())
	return appendChunk(out, "IEND", nil)
}

// pass is one of Adam7's seven passes, or the whole picture.
type pass struct{ x0, y0, dx, dy int }

func passes(interlaced bool) []pass {
	if !interlaced {
		return []pass{{0, 0, 1, 1}}
	}
	return []pass{{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4},
		{1, 0, 2, 2}, {0, 1, 1, 2}}
}

// packRow packs the samples of the pixels at xs of one row, most significant bits first.
func packRow(row []int, xs []int, n, depth int) []byte {
	var out []byte
	var acc, bits int
	for _, x := range xs {
		for c := range n {
			v := row[x*n+c]
			switch {
			case depth == 16:
				out = append(out, byte(v>>8), byte(v))
			case depth == 8:
				out = append(out, byte(v))
			default:
				acc, bits = acc<<depth|v, bits+depth
				if bits == 8 {
					out, acc, bits = append(out, byte(acc)), 0, 0
				}
			}
		}
	}
	if bits > 0 {
		out = append(out, byte(acc<<(8-bits)))
	}
	return out
}

// appendChunk appends a chunk with its length and CRC.
func appendChunk(out []byte, typ string, data []byte) []byte {
	out = binary.BigEndian.AppendUint32(out, uint32(len(data)))
	start := len(out)
	out = append(out, typ...)
	out = append(out, data...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out[start:]))
}

// gamma is a gAMA chunk of g/100,000.
func gamma(g uint32) chunk {
	return chunk{"gAMA", binary.BigEndian.AppendUint32(nil, g)}
}

// samePixels fails the test unless a and b have the same bounds and colours, compared
// at 16 bits with straight alpha so that no rounding hides a difference.
func samePixels(t testing.TB, name string, got, want image.Image) {
	t.Helper()
	if got.Bounds() != want.Bounds() {
		t.Fatalf("%s: bounds %v, want %v", name, got.Bounds(), want.Bounds())
	}
	b := got.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			g := color.NRGBA64Model.Convert(got.At(x, y))
			w := color.NRGBA64Model.Convert(want.At(x, y))
			if g != w {
				t.Fatalf("%s: pixel (%d, %d) is %v, want %v", name, x, y, g, w)
			}
		}
	}
}

// noise returns a picture of random colours and, when translucent, random alpha.
func noise(w, h int, translucent bool, seed uint64) *image.NRGBA {
	rng := rand.New(rand.NewPCG(seed, 1))
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range m.Pix {
		m.Pix[i] = byte(rng.UintN(256))
		if i%4 == 3 && !translucent {
			m.Pix[i] = 0xff
		}
	}
	return m
}

// decoderPath is one way this package may decode a file, with how to make a test take it.
type decoderPath struct {
	name   string
	choose func() (undo func())
}

// decoderPaths returns the decoders this machine has: image/png always, libpng when it is
// loaded, and the fast path when libdeflate is.
func decoderPaths(tb testing.TB) []decoderPath {
	paths := []decoderPath{{"image-png", func() func() {
		forceStdlib = true
		return func() { forceStdlib = false }
	}}}
	if err := Library(); err != nil {
		tb.Logf("libpng is not loaded: %v", err)
	} else {
		paths = append(paths, decoderPath{"libpng", func() func() {
			skipDeflate = true
			return func() { skipDeflate = false }
		}})
	}
	if err := fastLibrary(); err != nil {
		tb.Logf("libdeflate is not loaded: %v", err)
	} else {
		paths = append(paths, decoderPath{"libdeflate", func() func() { return func() {} }})
	}
	return paths
}

// withLibrary runs f once with each decoder this machine has.
func withLibrary(t *testing.T, f func(t *testing.T)) {
	for _, p := range decoderPaths(t) {
		t.Run(p.name, func(t *testing.T) {
			defer p.choose()()
			f(t)
		})
	}
}
