package pngcodec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"math"
)

// maxInflation is the most a deflate stream expands: 258 bytes for every two bits.
const maxInflation = 1032

// maxGather is the most image data, split over several IDAT chunks, that imageData
// copies into one buffer for libdeflate, which inflates only whole buffers. A provider's
// picture has a few megabytes; a large upload goes to libpng, which reads it as a stream,
// rather than hold its compressed data twice.
var maxGather = 8 << 20

// Stages of imageData's walk through the chunks.
const (
	beforeIHDR = iota
	afterIHDR
	afterPLTE
	inIDAT
	afterIDAT
)

// errTruncated is the error of a file that ends before its IEND chunk.
var errTruncated = errors.New("png: the file ends before its IEND chunk")

// decodeFast decodes a file whose header is fast (see header.fast) to the image type and
// pixels image/png gives: an opaque image.RGBA for RGB, an image.NRGBA for RGBA. Only the
// inflation is libdeflate's; the chunks, filters and pixels are handled here. Whatever it
// does not expect (see imageData) is an error, leaving the file to the other decoders.
func decodeFast(data []byte, h header) (image.Image, error) {
	z, err := imageData(data)
	if err != nil {
		return nil, err
	}

	w, bpp := int(h.width), 3
	if h.colour == colourRGBA {
		bpp = 4
	}
	rowLen := 1 + w*bpp
	// A header claiming more than its data can inflate to is refused before allocating;
	// the header's bounds (see simple) keep the sizes within an int on 64-bit platforms,
	// the second test on 32-bit ones.
	size := uint64(h.height) * uint64(rowLen)
	if size > uint64(len(z))*maxInflation || size > math.MaxInt/2 {
		return nil, fmt.Errorf("png: %d bytes of image data cannot hold %dx%d pixels",
			len(z), h.width, h.height)
	}
	// The pixels are inflated into the tail of the buffer that becomes the image, and
	// each row is unfiltered into a scratch row before it is written near the head: the
	// picture is held once, not twice, which matters for uploads of 16 megapixels.
	hgt := int(h.height)
	pixLen := 4 * w * hgt
	buf := make([]byte, max(pixLen, int(size)))
	raw := buf[len(buf)-int(size):]
	if err := inflate(raw, z); err != nil {
		return nil, err
	}
	if err := unfilterInto(buf[:pixLen], raw, w, bpp); err != nil {
		return nil, err
	}

	r := image.Rect(0, 0, w, hgt)
	if bpp == 4 {
		return &image.NRGBA{Pix: buf[:pixLen:pixLen], Stride: 4 * w, Rect: r}, nil
	}
	return &image.RGBA{Pix: buf[:pixLen:pixLen], Stride: 4 * w, Rect: r}, nil
}

// imageData walks the chunks of a file from its signature to IEND, checking each length
// and CRC, and returns the data of its IDAT chunks. So that the fast path reads only what
// image/png reads, and the same way, it refuses the rest: a header other than 8-bit RGB
// or RGBA without interlacing, chunks out of image/png's order, IDAT chunks apart,
// transparency (a tRNS chunk), and critical chunks it does not know.
func imageData(data []byte) ([]byte, error) {
	if len(data) < len(signature) || string(data[:len(signature)]) != signature {
		return nil, errNotPNG
	}
	rest := data[len(signature):]
	var idat []byte
	copied := false
	for stage := beforeIHDR; ; {
		typ, body, next, err := splitChunk(rest)
		if err != nil {
			return nil, err
		}

		switch {
		case stage == beforeIHDR:
			if typ != "IHDR" || !fastIHDR(body) {
				return nil, errors.New("png: the header is not one for the fast path")
			}
			stage = afterIHDR
		case typ == "IEND":
			if stage < inIDAT || len(body) != 0 {
				return nil, errors.New("png: misplaced or non-empty IEND chunk")
			}
			return idat, nil
		case typ == "IDAT" && stage < inIDAT:
			idat, stage = body, inIDAT
		case typ == "IDAT" && stage == inIDAT:
			// The data of several IDAT chunks is copied into one buffer, as large as
			// what is left of the file.
			if !copied {
				if len(idat)+len(rest) > maxGather {
					return nil, errors.New("png: too much image data to gather for the fast path")
				}
				idat, copied = append(make([]byte, 0, len(idat)+len(rest)), idat...), true
			}
			idat = append(idat, body...)
		case typ == "IDAT":
			return nil, errors.New("png: IDAT chunks apart")
		case typ == "PLTE" && stage == afterIHDR && validPLTE(body):
			// An RGB or RGBA file may suggest a palette, which image/png ignores.
			stage = afterPLTE
		case typ == "tRNS" || typ[0] >= 'A' && typ[0] <= 'Z':
			return nil, fmt.Errorf("png: a %q chunk here is not for the fast path", typ)
		case stage == inIDAT:
			stage = afterIDAT
		}
		rest = next
	}
}

// splitChunk splits the chunk at the start of b, with its type and data, from the chunks
// after it, checking its length and CRC.
func splitChunk(b []byte) (typ string, body, rest []byte, err error) {
	if len(b) < 12 {
		return "", nil, nil, errTruncated
	}
	n := binary.BigEndian.Uint32(b)
	if n > math.MaxInt32 || uint64(n) > uint64(len(b)-12) {
		return "", nil, nil, errTruncated
	}
	end := 8 + int(n)
	if crc32.ChecksumIEEE(b[4:end]) != binary.BigEndian.Uint32(b[end:]) {
		return "", nil, nil, fmt.Errorf("png: bad CRC in a %q chunk", b[4:8])
	}
	return string(b[4:8]), b[8:end], b[end+4:], nil
}

// fastIHDR reports whether the data of an IHDR chunk is that of an 8-bit RGB or RGBA
// picture with the only compression and filter methods and without interlacing.
func fastIHDR(b []byte) bool {
	return len(b) == 13 && b[8] == 8 && (b[9] == colourRGB || b[9] == colourRGBA) &&
		b[10] == 0 && b[11] == 0 && b[12] == 0
}

// validPLTE reports whether b is a palette image/png accepts: 1 to 256 colours.
func validPLTE(b []byte) bool {
	return len(b) > 0 && len(b) <= 3*256 && len(b)%3 == 0
}
