package pngcodec

import (
	"encoding/binary"
	"errors"
)

// signature opens every PNG file.
const signature = "\x89PNG\r\n\x1a\n"

// ihdrLen is the length of the whole IHDR chunk: length, type, 13 bytes of data and CRC.
const ihdrLen = 4 + 4 + 13 + 4

// errNotPNG is the error of data that does not start like a PNG file.
var errNotPNG = errors.New("png: not a PNG file")

// Colour types of the IHDR chunk.
const (
	colourGray      = 0
	colourRGB       = 2
	colourPaletted  = 3
	colourGrayAlpha = 4
	colourRGBA      = 6
)

// gAMA values (gamma times 100,000) that libpng treats as sRGB's own and so leaves alone.
// Encoders write 1/2.2 as 45455, some as 45454; 45000 to 46000 is well inside libpng's
// tolerance of 5%.
const (
	minSRGBGamma = 45000
	maxSRGBGamma = 46000
)

// header is what decoding needs to know before the pixels: the IHDR chunk, and whether a
// gAMA chunk before the image data asks for a gamma other than sRGB's.
type header struct {
	width, height uint32
	depth, colour byte
	otherGamma    bool
}

// readHeader reads the IHDR chunk and looks through the chunks before the first IDAT for
// a gamma. Only a missing signature or IHDR is an error; anything wrong further on is left
// to the decoder to report.
func readHeader(data []byte) (header, error) {
	var h header
	if len(data) < len(signature) || string(data[:len(signature)]) != signature {
		return h, errNotPNG
	}
	rest := data[len(signature):]
	if len(rest) < ihdrLen || binary.BigEndian.Uint32(rest) != 13 || string(rest[4:8]) != "IHDR" {
		return h, errors.New("png: the file does not start with its header")
	}
	ihdr := rest[8 : 8+13]
	h.width, h.height = binary.BigEndian.Uint32(ihdr), binary.BigEndian.Uint32(ihdr[4:])
	h.depth, h.colour = ihdr[8], ihdr[9]
	h.otherGamma = otherGamma(rest[ihdrLen:])
	return h, nil
}

// otherGamma walks the chunks from the one after IHDR up to the image data and reports
// whether a gAMA chunk among them is not sRGB's gamma.
func otherGamma(chunks []byte) bool {
	for len(chunks) >= 8 {
		n := uint64(binary.BigEndian.Uint32(chunks))
		typ := string(chunks[4:8])
		if typ == "IDAT" || typ == "IEND" || n+12 > uint64(len(chunks)) {
			return false
		}
		if typ == "gAMA" {
			if n != 4 {
				return true
			}
			g := binary.BigEndian.Uint32(chunks[8:])
			if g < minSRGBGamma || g > maxSRGBGamma {
				return true
			}
		}
		chunks = chunks[12+n:]
	}
	return false
}

// simple reports whether libpng and image/png decode the file to the same pixels: 8-bit
// colour, or gray of 8 bits or fewer, not colour-mapped, in sRGB's gamma, and with a size
// whose pixel buffer fits in memory. 16-bit files would be converted to 8 bits or to
// linear light by libpng's simplified API.
func (h header) simple() bool {
	switch {
	case h.width == 0 || h.height == 0 || h.width > 1<<24 || h.height > 1<<24:
		return false
	case h.otherGamma:
		return false
	case h.colour == colourGray:
		return h.depth == 1 || h.depth == 2 || h.depth == 4 || h.depth == 8
	case h.colour == colourRGB || h.colour == colourGrayAlpha || h.colour == colourRGBA:
		return h.depth == 8
	}
	return false
}

// fast reports whether decodeFast may take the file: a simple one (see simple) of 8-bit
// RGB or RGBA, what providers send.
func (h header) fast() bool {
	return h.simple() && h.depth == 8 && (h.colour == colourRGB || h.colour == colourRGBA)
}
