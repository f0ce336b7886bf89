package pngcodec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/shareddata"
)

// decodeCase is a file for the decoders to agree on, and whether libpng should get it.
type decodeCase struct {
	name   string
	s      spec
	simple bool
}

// decodeCases covers every colour type and bit depth, interlaced or not, with
// transparency, gamma chunks and sizes that leave partial bytes and empty Adam7 passes.
func decodeCases() []decodeCase {
	plte := func(n int) []byte {
		p := make([]byte, 3*n)
		for i := range p {
			p[i] = byte(i * 37)
		}
		return p
	}
	var cases []decodeCase
	add := func(name string, s spec, simple bool) {
		for _, il := range []bool{false, true} {
			for _, size := range [][2]int{{1, 1}, {7, 5}, {33, 17}} {
				s := s
				s.w, s.h, s.interlaced, s.seed = size[0], size[1], il, uint64(len(cases))
				n := fmt.Sprintf("%s/%dx%d", name, s.w, s.h)
				if il {
					n += "/interlaced"
				}
				cases = append(cases, decodeCase{n, s, simple})
			}
		}
	}
	for _, d := range []int{1, 2, 4, 8} {
		add(fmt.Sprintf("gray%d", d), spec{depth: d, colour: colourGray}, true)
	}
	add("gray16", spec{depth: 16, colour: colourGray}, false)
	add("gray8-trns", spec{depth: 8, colour: colourGray, trns: []byte{0, 9}}, true)
	add("gray1-trns", spec{depth: 1, colour: colourGray, trns: []byte{0, 1}}, true)
	add("rgb8", spec{depth: 8, colour: colourRGB}, true)
	add("rgb8-trns", spec{depth: 8, colour: colourRGB, trns: []byte{0, 3, 0, 1, 0, 2}}, true)
	add("rgb16", spec{depth: 16, colour: colourRGB}, false)
	add("gray-alpha8", spec{depth: 8, colour: colourGrayAlpha}, true)
	add("gray-alpha16", spec{depth: 16, colour: colourGrayAlpha}, false)
	add("rgba8", spec{depth: 8, colour: colourRGBA}, true)
	add("rgba16", spec{depth: 16, colour: colourRGBA}, false)
	for _, d := range []int{1, 2, 4, 8} {
		add(fmt.Sprintf("paletted%d", d), spec{depth: d, colour: colourPaletted,
			plte: plte(1 << min(d, 6))}, false)
	}
	add("paletted8-trns", spec{depth: 8, colour: colourPaletted, plte: plte(40),
		trns: []byte{0, 128, 255}}, false)

	// Chunks around the image data: gamma that is sRGB's, gamma that is not, text,
	// EXIF and a private ancillary chunk.
	add("rgb8-gamma-srgb", spec{depth: 8, colour: colourRGB,
		before: []chunk{gamma(45455)}}, true)
	add("rgba8-gamma-srgb-chunk", spec{depth: 8, colour: colourRGBA,
		before: []chunk{gamma(45455), {"sRGB", []byte{0}}}}, true)
	add("rgb8-gamma-linear", spec{depth: 8, colour: colourRGB,
		before: []chunk{gamma(100000)}}, false)
	add("gray8-gamma-0.5", spec{depth: 8, colour: colourGray,
		before: []chunk{gamma(50000)}}, false)
	add("rgb8-metadata", spec{depth: 8, colour: colourRGB, before: []chunk{
		{"tEXt", []byte("Comment\x00made by a provider")},
		{"eXIf", []byte("MM\x00\x2a\x00\x00\x00\x08\x00\x00")},
		{"prVt", []byte{1, 2, 3}}}}, true)
	return cases
}

// TestDecodeMatchesImagePNG decodes every case with both decoders and requires
// image/png's pixels and image type, so that nothing downstream can tell them apart; it
// also requires that libpng got exactly the files it should.
func TestDecodeMatchesImagePNG(t *testing.T) {
	for _, c := range decodeCases() {
		data := makePNG(t, c.s)
		want, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: image/png: %v", c.name, err)
		}
		h, err := readHeader(data)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if h.simple() != c.simple {
			t.Errorf("%s: simple() = %v, want %v", c.name, h.simple(), c.simple)
		}

		withLibrary(t, func(t *testing.T) {
			got, err := Decode(data, 0)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			samePixels(t, c.name, got, want)
			if reflect.TypeOf(got) != reflect.TypeOf(want) {
				t.Errorf("%s: decoded to %T, image/png gives %T", c.name, got, want)
			}
		})

		// Decode would hide a libpng failure behind image/png: ask libpng itself.
		if c.simple && Library() == nil {
			got, err := decodeLib(data, h)
			if err != nil {
				t.Fatalf("%s: libpng: %v", c.name, err)
			}
			samePixels(t, c.name+" (libpng)", got, want)
		}
	}
}

// TestDecodePhoto compares the decoders on a provider-sized photo, as image/png and this
// package's encoder write it.
func TestDecodePhoto(t *testing.T) {
	photo := photo1024(t)
	var ours, theirs bytes.Buffer
	if err := png.Encode(&theirs, photo); err != nil {
		t.Fatal(err)
	}
	if err := Encode(&ours, photo); err != nil {
		t.Fatal(err)
	}
	withLibrary(t, func(t *testing.T) {
		for name, data := range map[string][]byte{"image/png's file": theirs.Bytes(),
			"our file": ours.Bytes()} {
			got, err := Decode(data, 0)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			samePixels(t, name, got, photo)
		}
	})
}

// TestDecodeLimit refuses a file over the pixel limit before reading its pixels.
func TestDecodeLimit(t *testing.T) {
	data := makePNG(t, spec{w: 40, h: 30, depth: 8, colour: colourRGB})
	withLibrary(t, func(t *testing.T) {
		if _, err := Decode(data, 1199); !errors.Is(err, ErrTooLarge) {
			t.Errorf("40x30 under a limit of 1199 pixels: %v, want ErrTooLarge", err)
		}
		if _, err := Decode(data, 1200); err != nil {
			t.Errorf("40x30 under a limit of 1200 pixels: %v", err)
		}
	})
}

// TestDecodeNotPNG refuses other files and a missing header.
func TestDecodeNotPNG(t *testing.T) {
	valid := makePNG(t, spec{w: 2, h: 2, depth: 8, colour: colourRGB})
	for name, data := range map[string][]byte{
		"empty":          nil,
		"jpeg":           {0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 'J', 'F', 'I', 'F'},
		"signature only": valid[:8],
		"short header":   valid[:20],
		"no IHDR first":  append([]byte(signature), valid[33:]...),
	} {
		withLibrary(t, func(t *testing.T) {
			if img, err := Decode(data, 0); err == nil {
				t.Errorf("%s: decoded to %v", name, img.Bounds())
			}
		})
	}
}

// damaged returns files made from valid ones by truncation, by changed bytes in the image
// data (with the CRCs made right again, so that the decoders reach the damage) and by a
// header that claims more rows than there are.
func damaged(t *testing.T) map[string][]byte {
	out := map[string][]byte{}
	for _, s := range []spec{
		{w: 33, h: 17, depth: 8, colour: colourRGB},
		{w: 33, h: 17, depth: 8, colour: colourRGBA, interlaced: true},
		{w: 9, h: 9, depth: 1, colour: colourGray},
		{w: 20, h: 11, depth: 8, colour: colourGrayAlpha, interlaced: true},
	} {
		data := makePNG(t, s)
		base := fmt.Sprintf("%d-%d-%v", s.colour, s.depth, s.interlaced)
		for n := 0; n < len(data)-12; n += 3 {
			out[fmt.Sprintf("%s/truncated-%d", base, n)] = data[:n]
		}
		start, end := idatRange(data)
		for i := start; i < end; i++ {
			for _, v := range []byte{0x00, 0xff, data[i] ^ 0x55} {
				d := bytes.Clone(data)
				d[i] = v
				out[fmt.Sprintf("%s/byte-%d-%02x", base, i, v)] = fixCRCs(d)
			}
		}
		tall := bytes.Clone(data)
		binary.BigEndian.PutUint32(tall[8+8+4:], uint32(s.h*4))
		out[base+"/taller-than-its-data"] = fixCRCs(tall)
	}
	return out
}

// idatRange returns where the data of the first IDAT chunk starts and ends.
func idatRange(data []byte) (int, int) {
	i := 8
	for i+8 <= len(data) {
		n := int(binary.BigEndian.Uint32(data[i:]))
		if string(data[i+4:i+8]) == "IDAT" {
			return i + 8, i + 8 + n
		}
		i += 12 + n
	}
	return 0, 0
}

// fixCRCs recomputes the CRC of every whole chunk.
func fixCRCs(data []byte) []byte {
	for i := 8; i+12 <= len(data); {
		n := int(binary.BigEndian.Uint32(data[i:]))
		if i+12+n > len(data) {
			break
		}
		binary.BigEndian.PutUint32(data[i+8+n:], crc32.ChecksumIEEE(data[i+4:i+8+n]))
		i += 12 + n
	}
	return data
}

// TestDecodeDamaged requires an error or a whole picture, never a panic or a crash, from
// both decoders and from libpng on its own; a file cut before the end of its image data
// must be an error.
func TestDecodeDamaged(t *testing.T) {
	for name, data := range damaged(t) {
		_, end := idatRange(data)
		// A cut before the CRC of the image data leaves the picture incomplete.
		cut := strings.Contains(name, "truncated") && (end == 0 || len(data) < end+4)
		withLibrary(t, func(t *testing.T) {
			img, err := Decode(data, 1<<20)
			checkDamaged(t, name, data, img, err, cut)
		})
		if h, err := readHeader(data); err == nil && h.simple() && Library() == nil {
			img, err := decodeLib(data, h)
			checkDamaged(t, name+" (libpng)", data, img, err, cut)
		}
	}
}

func checkDamaged(t *testing.T, name string, data []byte, img image.Image, err error,
	mustFail bool) {
	t.Helper()
	if err != nil {
		return
	}
	if mustFail {
		t.Errorf("%s: a file cut inside its image data was decoded", name)
	}
	h, _ := readHeader(data)
	if b := img.Bounds(); b.Dx() != int(h.width) || b.Dy() != int(h.height) {
		t.Errorf("%s: decoded %v, the header says %dx%d", name, b, h.width, h.height)
	}
}

// TestAttackFiles reads every PNG among the shared attack files in the media package's
// order, dimensions first: the bombs are refused without allocating their pixels, the
// others decoded or refused.
func TestAttackFiles(t *testing.T) {
	paths := shareddata.Files(t, "attacks", "*")
	const maxPixels = 40_000_000 // media's default limit
	pngs := 0
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(data, []byte(signature)) {
			continue
		}
		pngs++
		name := filepath.Base(path)
		cfg, cfgErr := png.DecodeConfig(bytes.NewReader(data))
		bomb := cfgErr == nil && int64(cfg.Width)*int64(cfg.Height) > maxPixels
		withLibrary(t, func(t *testing.T) {
			var img image.Image
			var err error
			alloc := allocated(func() { img, err = Decode(data, maxPixels) })
			switch {
			case bomb && !errors.Is(err, ErrTooLarge):
				t.Errorf("%s (%dx%d): %v, want ErrTooLarge", name, cfg.Width, cfg.Height, err)
			case bomb && alloc > 1<<20:
				t.Errorf("%s: refusing it allocated %d bytes", name, alloc)
			case err == nil && img.Bounds().Dx() != cfg.Width:
				t.Errorf("%s: decoded %v, header %dx%d", name, img.Bounds(), cfg.Width,
					cfg.Height)
			case err == nil && alloc > 64<<20:
				t.Errorf("%s: decoding allocated %d bytes", name, alloc)
			}
			if strings.Contains(name, "truncated") && err == nil {
				t.Errorf("%s was decoded", name)
			}
			if name == "valid_tiny.png" && err != nil {
				t.Errorf("%s: %v", name, err)
			}
		})
	}
	if pngs == 0 {
		t.Fatal("no PNG among the attack files")
	}
}

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestDecodeConcurrently decodes different files on several goroutines at once, for the
// race detector and for libpng's state, which is per call.
func TestDecodeConcurrently(t *testing.T) {
	cases := decodeCases()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := g; i < len(cases); i += 8 {
				data := makePNG(t, cases[i].s)
				want, err := png.Decode(bytes.NewReader(data))
				if err != nil {
					t.Error(err)
					return
				}
				got, err := Decode(data, 0)
				if err != nil {
					t.Errorf("%s: %v", cases[i].name, err)
					return
				}
				samePixels(t, cases[i].name, got, want)
			}
		})
	}
	wg.Wait()
}

// FuzzDecode requires that no input makes either decoder panic or crash, and that when
// libpng and image/png both accept a file they agree on every pixel. The CRCs are made
// right before decoding, so that changed bytes reach the decompression and the filters.
func FuzzDecode(f *testing.F) {
	for _, c := range decodeCases() {
		if c.s.w == 7 {
			f.Add(makePNG(f, c.s))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		data = fixCRCs(bytes.Clone(data))
		img, err := Decode(data, 1<<16)
		h, herr := readHeader(data)
		if err == nil && (herr != nil || img.Bounds().Dx() != int(h.width)) {
			t.Fatalf("decoded %v from a header of %dx%d (%v)", img.Bounds(), h.width,
				h.height, herr)
		}
		if herr != nil || !h.simple() || Library() != nil ||
			int64(h.width)*int64(h.height) > 1<<16 {
			return
		}
		got, err := decodeLib(data, h)
		want, werr := png.Decode(bytes.NewReader(data))
		if err == nil && werr == nil {
			samePixels(t, "fuzzed", got, want)
		}
	})
}
