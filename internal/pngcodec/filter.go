package pngcodec

import (
	"encoding/binary"
	"fmt"
)

// Filter types of a row (PNG specification, section 9.2) besides filterUp, 2, which the
// encoder uses.
const (
	filterNone    = 0
	filterSub     = 1
	filterAverage = 3
	filterPaeth   = 4
)

// unfilterInto reverses the filters of the rows of raw, each a filter type byte and then
// w pixels of bpp bytes, and writes them to pix as the four-byte pixels of an image of
// width w, an opaque alpha after each RGB pixel. raw may be the tail of pix's own array:
// row y is read whole into a scratch row before row y of pix is written, and row y of
// pix ends no later than row y+1 of raw begins when raw ends where pix's array does.
func unfilterInto(pix, raw []byte, w, bpp int) error {
	n := w * bpp
	rowLen := 1 + n
	scratch := make([]byte, 2*n)
	prev, out := scratch[:n], scratch[n:] // the row above the first is zeros
	for y := 0; (y+1)*rowLen <= len(raw); y++ {
		cur := raw[y*rowLen+1 : (y+1)*rowLen]
		switch f := raw[y*rowLen]; f {
		case filterNone:
			copy(out, cur)
		case filterSub:
			unSub(out, cur, bpp)
		case filterUp:
			unUp(out, cur, prev)
		case filterAverage:
			unAverage(out, cur, prev, bpp)
		case filterPaeth:
			unPaeth(out, cur, prev, bpp)
		default:
			return fmt.Errorf("png: row %d has the unknown filter type %d", y, f)
		}

		dst := pix[y*4*w : (y+1)*4*w]
		if bpp == 4 {
			copy(dst, out)
		} else {
			expandRow(dst, out)
		}
		prev, out = out, prev
	}
	return nil
}

// unSub reverses the Sub filter: each byte was less the one a pixel to its left.
func unSub(out, cur []byte, bpp int) {
	cur = cur[:len(out)]
	copy(out[:bpp], cur)
	for i := bpp; i < len(out); i++ {
		out[i] = cur[i] + out[i-bpp]
	}
}

// unUp reverses the Up filter, eight bytes at a time.
func unUp(out, cur, prev []byte) {
	cur, prev = cur[:len(out)], prev[:len(out)]
	i := 0
	for ; i+8 <= len(out); i += 8 {
		sum := addBytes(binary.LittleEndian.Uint64(cur[i:]), binary.LittleEndian.Uint64(prev[i:]))
		binary.LittleEndian.PutUint64(out[i:], sum)
	}
	for ; i < len(out); i++ {
		out[i] = cur[i] + prev[i]
	}
}

// addBytes adds the eight bytes of x to those of y, each sum modulo 256: the low seven
// bits of each byte are added without carrying into the next, then the top bits.
func addBytes(x, y uint64) uint64 {
	const top = 0x8080808080808080
	return ((x &^ top) + (y &^ top)) ^ ((x ^ y) & top)
}

// unAverage reverses the Average filter: each byte was less the mean, rounded down, of
// the byte a pixel to its left and the byte above it.
func unAverage(out, cur, prev []byte, bpp int) {
	cur, prev = cur[:len(out)], prev[:len(out)]
	for i := range bpp {
		out[i] = cur[i] + prev[i]>>1
	}
	for i := bpp; i < len(out); i++ {
		out[i] = cur[i] + byte((uint(out[i-bpp])+uint(prev[i]))>>1)
	}
}

// unPaeth reverses the Paeth filter. Consecutive bytes belong to different channels and
// do not depend on each other, so the processor works on a pixel's side by side.
func unPaeth(out, cur, prev []byte, bpp int) {
	cur, prev = cur[:len(out)], prev[:len(out)]
	for i := range bpp {
		out[i] = cur[i] + prev[i] // with no left neighbour, Paeth predicts the one above
	}

	// Slices of one length, the bytes from the second pixel on and their neighbours,
	// spare the loop its bounds checks.
	n := len(out) - bpp
	dst, src, up := out[bpp:], cur[bpp:bpp+n], prev[bpp:bpp+n]
	left, upLeft := out[:n], prev[:n]
	for i := range dst {
		dst[i] = src[i] + byte(paeth(int(left[i]), int(up[i]), int(upLeft[i])))
	}
}

// paeth returns the Paeth predictor (section 9.4) of a byte whose left, upper and
// upper-left neighbours are a, b and c: the one nearest a+b-c, preferring a, then b. It
// chooses without branches, which the noise of photographs would mispredict.
func paeth(a, b, c int) int {
	da, db := b-c, a-c // p-a and p-b for p = a+b-c
	pa, pb, pc := max(da, -da), max(db, -db), max(da+db, -da-db)
	pred, best := c, pc
	if pb <= best {
		pred, best = b, pb
	}
	if pa <= best {
		pred = a
	}
	return pred
}

// expandRow writes the RGB pixels of src to dst as opaque four-byte pixels.
func expandRow(dst, src []byte) {
	for len(src) >= 3 && len(dst) >= 4 {
		dst[0], dst[1], dst[2], dst[3] = src[0], src[1], src[2], 0xff
		src, dst = src[3:], dst[4:]
	}
}
