package pngcodec

import (
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"io"
	"sync"
)

// filterUp is PNG's "Up" filter: each byte less the one above it. image/png tries all
// five filters on every row and keeps the smallest, which took two thirds of its time
// on a 1024x1024 photo (issue 8). With its fastest compression, one Up filter made files
// within 0.2% of that size, for photos and flat drawings alike.
const filterUp = 2

// zlibWriters keeps compressors between pictures: each holds about a megabyte of tables.
var zlibWriters sync.Pool

// idatSize is the most image data one IDAT chunk holds.
const idatSize = 64 << 10

// rows is a picture as rows of 8-bit samples, in one of the PNG colour types the fast
// encoder writes: gray, RGB or RGBA with straight (not premultiplied) alpha.
type rows struct {
	colour   byte // colourGray, colourRGB or colourRGBA
	channels int
	row      func(dst []byte, y int) // writes row y, counted from 0, into dst
}

// rowsOf returns img's rows in the colour type image/png would choose: gray, RGB when
// every pixel is opaque, RGBA otherwise. It reports false for the types left to image/png
// (paletted, 16-bit and the rest) and for empty pictures.
func rowsOf(img image.Image) (rows, bool) {
	if img.Bounds().Empty() {
		return rows{}, false
	}
	switch m := img.(type) {
	case *image.Gray:
		return rows{colourGray, 1, func(dst []byte, y int) {
			copy(dst, m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y+y):])
		}}, true
	case *image.NRGBA:
		if m.Opaque() {
			return rows{colourRGB, 3, func(dst []byte, y int) {
				dropAlpha(dst, m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y+y):])
			}}, true
		}
		return rows{colourRGBA, 4, func(dst []byte, y int) {
			copy(dst, m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y+y):])
		}}, true
	case *image.RGBA:
		if m.Opaque() {
			return rows{colourRGB, 3, func(dst []byte, y int) {
				dropAlpha(dst, m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y+y):])
			}}, true
		}
		return rows{colourRGBA, 4, func(dst []byte, y int) {
			unpremultiply(dst, m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y+y):])
		}}, true
	case *image.YCbCr:
		return rows{colourRGB, 3, func(dst []byte, y int) { ycbcrRow(dst, m, y) }}, true
	}
	return rows{}, false
}

// dropAlpha copies the colour of opaque 4-byte pixels from src into 3-byte ones in dst.
func dropAlpha(dst, src []byte) {
	for i, j := 0, 0; j+2 < len(dst); i, j = i+4, j+3 {
		dst[j], dst[j+1], dst[j+2] = src[i], src[i+1], src[i+2]
	}
}

// unpremultiply copies premultiplied RGBA pixels from src into straight alpha in dst with
// the arithmetic of color.NRGBAModel, which image/png uses, so that both encoders store
// the same samples.
func unpremultiply(dst, src []byte) {
	for i := 0; i+3 < len(dst); i += 4 {
		switch a := src[i+3]; a {
		case 0:
			dst[i], dst[i+1], dst[i+2], dst[i+3] = 0, 0, 0, 0
		case 0xff:
			copy(dst[i:i+4], src[i:i+4])
		default:
			const mul = 0x101 * 0xffff
			a16 := uint32(a) * 0x101
			dst[i] = uint8(uint32(src[i]) * mul / a16 >> 8)
			dst[i+1] = uint8(uint32(src[i+1]) * mul / a16 >> 8)
			dst[i+2] = uint8(uint32(src[i+2]) * mul / a16 >> 8)
			dst[i+3] = a
		}
	}
}

// ycbcrRow converts row y of a YCbCr picture, what the JPEG decoder makes, to 8-bit RGB.
func ycbcrRow(dst []byte, m *image.YCbCr, y int) {
	r := m.Rect
	for x := range r.Dx() {
		yi := m.YOffset(r.Min.X+x, r.Min.Y+y)
		ci := m.COffset(r.Min.X+x, r.Min.Y+y)
		dst[3*x], dst[3*x+1], dst[3*x+2] = color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
	}
}

// encodeFast writes a w by h picture given by rs as an 8-bit, non-interlaced PNG file with
// no ancillary chunk: the Up filter on every row, compressed at zlib's best speed.
func encodeFast(out io.Writer, w, h int, rs rows) error {
	cw := &chunkWriter{w: out}
	cw.header(w, h, rs.colour)

	zw, _ := zlibWriters.Get().(*zlib.Writer)
	if zw == nil {
		zw, _ = zlib.NewWriterLevel(cw, zlib.BestSpeed) // a valid level: no error
	} else {
		zw.Reset(cw)
	}
	defer zlibWriters.Put(zw)
	n := w * rs.channels
	cur, prev, line := make([]byte, n), make([]byte, n), make([]byte, 1+n)
	line[0] = filterUp
	for y := range h {
		rs.row(cur, y)
		filterRowUp(line[1:], cur, prev)
		if _, err := zw.Write(line); err != nil {
			return err
		}
		cur, prev = prev, cur
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return cw.end()
}

// filterRowUp writes the Up filter of the row cur, whose row above is prev, to out, eight
// bytes at a time: a byte-by-byte loop was a sixth of the encoder's time.
func filterRowUp(out, cur, prev []byte) {
	cur, prev = cur[:len(out)], prev[:len(out)]
	i := 0
	for ; i+8 <= len(out); i += 8 {
		d := subBytes(binary.LittleEndian.Uint64(cur[i:]), binary.LittleEndian.Uint64(prev[i:]))
		binary.LittleEndian.PutUint64(out[i:], d)
	}
	for ; i < len(out); i++ {
		out[i] = cur[i] - prev[i]
	}
}

// subBytes subtracts the eight bytes of y from those of x, each difference modulo 256:
// setting each byte's top bit of x and clearing y's keeps a borrow from crossing into the
// next byte, and the top bits are then put right.
func subBytes(x, y uint64) uint64 {
	const top = 0x8080808080808080
	return ((x | top) - (y &^ top)) ^ ((x ^ ^y) & top)
}

// chunkWriter writes PNG chunks to w: the compressed image data it is given as IDAT
// chunks of up to idatSize bytes, and the first error it meets.
type chunkWriter struct {
	w   io.Writer
	buf []byte
	err error
}

// header writes the signature and the IHDR chunk.
func (c *chunkWriter) header(w, h int, colour byte) {
	c.err = write(c.w, []byte(signature))
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, 8, colour, 0, 0, 0) // depth, colour, deflate, filters, no interlace
	c.chunk("IHDR", ihdr)
}

// Write buffers compressed image data, writing each full IDAT chunk.
func (c *chunkWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && c.err == nil {
		if c.buf == nil {
			c.buf = make([]byte, 0, idatSize)
		}
		k := min(len(p), idatSize-len(c.buf))
		c.buf, p = append(c.buf, p[:k]...), p[k:]
		if len(c.buf) == idatSize {
			c.chunk("IDAT", c.buf)
			c.buf = c.buf[:0]
		}
	}
	if c.err != nil {
		return 0, c.err
	}
	return n, nil
}

// end writes the last IDAT chunk and IEND.
func (c *chunkWriter) end() error {
	if len(c.buf) > 0 {
		c.chunk("IDAT", c.buf)
	}
	c.chunk("IEND", nil)
	return c.err
}

// chunk writes one chunk: length, type, data and the CRC of type and data.
func (c *chunkWriter) chunk(typ string, data []byte) {
	if c.err != nil {
		return
	}
	var head [8]byte
	binary.BigEndian.PutUint32(head[:], uint32(len(data)))
	copy(head[4:], typ)
	crc := crc32.NewIEEE()
	crc.Write(head[4:])
	crc.Write(data)
	var tail [4]byte
	binary.BigEndian.PutUint32(tail[:], crc.Sum32())
	if c.err = write(c.w, head[:]); c.err == nil {
		if c.err = write(c.w, data); c.err == nil {
			c.err = write(c.w, tail[:])
		}
	}
}

func write(w io.Writer, p []byte) error {
	_, err := w.Write(p)
	return err
}
