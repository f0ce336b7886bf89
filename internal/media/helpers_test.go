package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"testing"
)

// asError returns err as an *Error or fails the test.
func asError(t testing.TB, err error) *Error {
	t.Helper()
	var me *Error
	if !errors.As(err, &me) {
		t.Fatalf("error %v (%T) is not a *media.Error", err, err)
	}
	return me
}

// pattern returns a w×h image that looks different under every rotation and mirroring:
// a gradient with a distinct colour in each quarter.
func pattern(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			q := uint8(0)
			if x >= w/2 {
				q++
			}
			if y >= h/2 {
				q += 2
			}
			img.SetNRGBA(x, y, color.NRGBA{uint8(x * 255 / w), uint8(y * 255 / h), q * 80, 255})
		}
	}
	return img
}

// noise returns a w×h image of deterministic pseudo-random pixels, hard to compress.
func noise(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	s := uint32(1)
	for i := range img.Pix {
		s = s*1664525 + 1013904223
		img.Pix[i] = uint8(s >> 24)
		if i%4 == 3 {
			img.Pix[i] = 255
		}
	}
	return img
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// tiffWithOrientation returns a minimal big-endian TIFF block holding one orientation tag.
func tiffWithOrientation(o uint16) []byte {
	b := []byte("MM\x00*\x00\x00\x00\x08\x00\x01")
	entry := make([]byte, 12)
	binary.BigEndian.PutUint16(entry[0:], orientationTag)
	binary.BigEndian.PutUint16(entry[2:], 3)
	binary.BigEndian.PutUint32(entry[4:], 1)
	binary.BigEndian.PutUint16(entry[8:], o)
	return append(append(b, entry...), 0, 0, 0, 0)
}

// withPNGChunk inserts a chunk right after the IHDR chunk of a PNG file.
func withPNGChunk(file []byte, typ string, data []byte) []byte {
	const afterIHDR = 8 + 8 + 13 + 4
	chunk := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	chunk = append(chunk, typ...)
	chunk = append(chunk, data...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))

	out := append([]byte(nil), file[:afterIHDR]...)
	out = append(out, chunk...)
	return append(out, file[afterIHDR:]...)
}

// withJPEGSegment inserts an APP1 segment holding data right after the SOI marker.
func withJPEGSegment(file []byte, data []byte) []byte {
	seg := []byte{0xff, 0xe1}
	seg = binary.BigEndian.AppendUint16(seg, uint16(len(data)+2))
	seg = append(seg, data...)
	out := append([]byte(nil), file[:2]...)
	out = append(out, seg...)
	return append(out, file[2:]...)
}

// asExtendedWebP wraps a simple WebP file into the extended format with an EXIF chunk.
func asExtendedWebP(t testing.TB, file []byte, exif []byte, w, h int) []byte {
	t.Helper()
	if string(file[12:16]) == "VP8X" {
		t.Fatal("already extended")
	}
	vp8x := []byte("VP8X\x0a\x00\x00\x00\x08\x00\x00\x00")
	vp8x = append(vp8x, byte(w-1), byte((w-1)>>8), byte((w-1)>>16))
	vp8x = append(vp8x, byte(h-1), byte((h-1)>>8), byte((h-1)>>16))

	body := append([]byte("WEBP"), vp8x...)
	body = append(body, file[12:]...)
	body = append(body, "EXIF"...)
	body = binary.LittleEndian.AppendUint32(body, uint32(len(exif)))
	body = append(body, exif...)
	if len(exif)%2 == 1 {
		body = append(body, 0)
	}

	out := append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...)
	return append(out, body...)
}

// countingReader yields a prefix (a PNG signature unless set) followed by zeros, forever,
// counting what is read.
type countingReader struct {
	prefix string
	n      int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	sig := []byte("\x89PNG\r\n\x1a\n")
	if r.prefix != "" {
		sig = []byte(r.prefix)
	}
	for i := range p {
		if r.n+int64(i) < int64(len(sig)) {
			p[i] = sig[r.n+int64(i)]
		} else {
			p[i] = 0
		}
	}
	r.n += int64(len(p))
	return len(p), nil
}

// metadataMarkers are byte strings that betray metadata in a file.
var metadataMarkers = []string{"Exif", "http://ns.adobe.com/xap", "<x:xmpmeta", "GPS",
	"eXIf", "iTXt", "tEXt", "XMP ", "ICC_PROFILE", "iCCP"}

func assertNoMetadata(t testing.TB, name string, data []byte) {
	t.Helper()
	for _, m := range metadataMarkers {
		if bytes.Contains(data, []byte(m)) {
			t.Errorf("%s: cleaned bytes still contain %q", name, m)
		}
	}
}
