package media

import (
	"encoding/binary"
	"image"
	"image/draw"
	"math"
)

// Fixed-point scales of the filter. Weights are in units of 1/2^weightBits; the rows
// filtered across, between the two passes, keep midBits bits below a level. With these,
// every sum stays inside the 32 bits a lane holds (see pair) as long as the magnitudes of
// an output's weights add up to less than 5 (filtering across: 1020, a sum of four bytes,
// times 2^14 times 5; down: 255 times 2^4 times 5, times 2^14 times 5). Catmull-Rom's add
// up to about 1.1.
const (
	weightBits = 14
	midBits    = 4
)

// pair holds a pixel's four premultiplied channels two to a word, red and blue in rb,
// green and alpha in ga, each in a 32-bit lane: rb = r + b<<32. Multiplying a pair by a
// weight and adding pairs works on both lanes at once, with lanes holding signed values in
// two's complement, as long as each lane's true sum stays within 32 bits signed. It halves
// the multiplications of the filter, which is what its time goes on.
type pair struct{ rb, ga uint64 }

// lanes splits a word of two signed 32-bit lanes into its low and high values.
func lanes(v uint64) (lo, hi int32) {
	return int32(v), int32((v + 1<<31) >> 32)
}

// join is the inverse of lanes.
func join(lo, hi int32) uint64 { return uint64(int64(lo)) + uint64(int64(hi))<<32 }

// resample scales src to a tw by th RGBA picture with a Catmull-Rom filter (the cubic with
// B = 0 and C = 0.5, stretched over more source pixels when reducing), working on
// premultiplied colour.
func resample(src image.Image, tw, th int) *image.RGBA {
	return resampleHalved(src, 0, tw, th)
}

// resampleHalved averages 2x2 blocks of src the given number of times (see
// halvings), then scales the result to tw by th with Catmull-Rom. It works a row
// at a time: each source row is read once, halved with its neighbour and filtered across,
// and only the few filtered rows the current output row needs are kept, so its working
// memory is a handful of rows whatever the source's size. golang.org/x/image/draw's
// scaler instead holds the whole source height filtered across in float64, 72 MB for a
// 768-pixel preview of a 2900-pixel square, which was the largest allocation of an upload
// (issue 8, bench/results.md). The arithmetic is in fixed point, two channels to a word.
func resampleHalved(src image.Image, halvings, tw, th int) *image.RGBA {
	rows := newPairReader(src, halvings)
	across := newTaps(tw, rows.w)
	down := newTaps(th, rows.h)

	// ring holds the filtered rows [next-len(ring), next) by their index modulo its length;
	// each output row's window starts and ends no earlier than the previous one's.
	ring := make([][]pair, down.n)
	for i := range ring {
		ring[i] = make([]pair, tw)
	}
	dst := image.NewRGBA(image.Rect(0, 0, tw, th))
	acc := make([]pair, tw)
	next := 0
	for y := 0; y < th; y++ {
		first := int(down.first[y])
		for ; next < first+down.n; next++ {
			across.filterRow(ring[next%down.n], rows.row(next))
		}
		filterDown(acc, ring, first, down.weights(y))
		toBytes(dst.Pix[y*dst.Stride:y*dst.Stride+4*tw], acc)
	}
	return dst
}

// filterDown sums the filtered rows from first, by the weights, into acc. It takes the
// rows four at a time, so that each sum is loaded and stored once for four of them.
func filterDown(acc []pair, ring [][]pair, first int, weights []uint64) {
	const bias = 1 << (weightBits + midBits - 1) * (1 + 1<<32) // rounds both lanes
	for i := range acc {
		acc[i] = pair{bias, bias}
	}
	row := func(k int) []pair { return ring[(first+k)%len(ring)][:len(acc)] }
	k := 0
	for ; k+4 <= len(weights); k += 4 {
		w0, w1, w2, w3 := weights[k], weights[k+1], weights[k+2], weights[k+3]
		r0, r1, r2, r3 := row(k), row(k+1), row(k+2), row(k+3)
		for i := range acc {
			a := &acc[i]
			a.rb += w0*r0[i].rb + w1*r1[i].rb + w2*r2[i].rb + w3*r3[i].rb
			a.ga += w0*r0[i].ga + w1*r1[i].ga + w2*r2[i].ga + w3*r3[i].ga
		}
	}
	for ; k < len(weights); k++ {
		wt, r := weights[k], row(k)
		if wt == 0 {
			continue
		}
		for i := range acc {
			a := &acc[i]
			a.rb += wt * r[i].rb
			a.ga += wt * r[i].ga
		}
	}
}

// taps say how each output column (or row) is made from the source: n weights per output,
// for the consecutive source pixels from first. Outputs near an edge have fewer real
// weights and are padded with zeros, so every output reads exactly n pixels. Weights are
// integers in units of 1/2^weightBits, stored as the two's complement a multiplication of
// a pair takes.
type taps struct {
	first []int32
	w     []uint64
	n     int
}

// newTaps computes the Catmull-Rom weights for scaling srcLen pixels to dstLen. Each
// output pixel's centre is mapped into the source, the kernel is widened by the reduction
// factor so that it also filters out detail the output cannot show, source pixels beyond
// an edge are left out, and the weights are normalised to sum to one exactly, so that a
// flat area stays flat.
func newTaps(dstLen, srcLen int) taps {
	scale := float64(srcLen) / float64(dstLen)
	stretch := max(scale, 1)
	half := 2 * stretch // Catmull-Rom reaches two pixels either side
	span := func(x int) (centre float64, lo, hi int) {
		centre = (float64(x)+0.5)*scale - 0.5
		lo = max(int(math.Ceil(centre-half)), 0)
		hi = min(int(math.Floor(centre+half)), srcLen-1)
		return centre, lo, hi
	}
	n := 1
	for x := range dstLen {
		_, lo, hi := span(x)
		n = max(n, hi-lo+1)
	}
	t := taps{first: make([]int32, dstLen), w: make([]uint64, dstLen*n), n: n}

	weights := make([]float64, n)
	ints := make([]int64, n)
	for x := range dstLen {
		centre, lo, hi := span(x)
		first := min(lo, srcLen-n)

		clear(weights)
		total := 0.0
		for i := lo; i <= hi; i++ {
			k := catmullRom(math.Abs(centre-float64(i)) / stretch)
			weights[i-first] = k
			total += k
		}
		t.first[x] = int32(first)
		quantize(t.w[x*n:(x+1)*n], ints, weights, total)
	}
	return t
}

// quantize rounds weights/total to units of 1/2^weightBits, in ints, and gives what
// rounding lost or gained to the largest weight, so that the integers add up to exactly
// one.
func quantize(dst []uint64, ints []int64, weights []float64, total float64) {
	sum, largest := int64(0), 0
	for i, k := range weights {
		ints[i] = int64(math.Round(k / total * (1 << weightBits)))
		sum += ints[i]
		if ints[i] > ints[largest] {
			largest = i
		}
	}
	ints[largest] += 1<<weightBits - sum
	for i, v := range ints {
		dst[i] = uint64(v)
	}
}

// catmullRom is the kernel's value at distance d from a pixel's centre.
func catmullRom(d float64) float64 {
	switch {
	case d < 1:
		return (1.5*d-2.5)*d*d + 1
	case d < 2:
		return ((-0.5*d+2.5)*d-4)*d + 2
	}
	return 0
}

// weights returns the n weights of output i.
func (t *taps) weights(i int) []uint64 { return t.w[i*t.n : (i+1)*t.n] }

// filterRow filters one row of pairs, in units of a quarter of a level, across into out,
// whose values are then in units of 1/2^midBits of a level. Eight taps, halving after
// Pillow's reducing_gap, is the common case, and worth its own loop without one.
func (t *taps) filterRow(out, row []pair) {
	const shift = weightBits + 2 - midBits
	const bias = 1 << (shift - 1) * (1 + 1<<32)
	n := t.n
	out = out[:len(t.first)]
	for x, first := range t.first {
		var rb, ga uint64
		if n == 8 {
			w, p := (*[8]uint64)(t.w[8*x:]), (*[8]pair)(row[first:])
			rb = w[0]*p[0].rb + w[1]*p[1].rb + w[2]*p[2].rb + w[3]*p[3].rb +
				w[4]*p[4].rb + w[5]*p[5].rb + w[6]*p[6].rb + w[7]*p[7].rb
			ga = w[0]*p[0].ga + w[1]*p[1].ga + w[2]*p[2].ga + w[3]*p[3].ga +
				w[4]*p[4].ga + w[5]*p[5].ga + w[6]*p[6].ga + w[7]*p[7].ga
		} else {
			rb, ga = dot(t.w[x*n:x*n+n], row[first:int(first)+n])
		}
		r, b := lanes(rb + bias)
		g, a := lanes(ga + bias)
		out[x] = pair{join(r>>shift, b>>shift), join(g>>shift, a>>shift)}
	}
}

// dot sums the pairs p by the weights ws, four at a time.
func dot(ws []uint64, p []pair) (rb, ga uint64) {
	p = p[:len(ws)]
	for len(ws) >= 4 {
		w, q := (*[4]uint64)(ws), (*[4]pair)(p)
		rb += w[0]*q[0].rb + w[1]*q[1].rb + w[2]*q[2].rb + w[3]*q[3].rb
		ga += w[0]*q[0].ga + w[1]*q[1].ga + w[2]*q[2].ga + w[3]*q[3].ga
		ws, p = ws[4:], p[4:]
	}
	for k, wt := range ws {
		rb += wt * p[k].rb
		ga += wt * p[k].ga
	}
	return rb, ga
}

// toBytes rounds filtered premultiplied pixels to bytes. The filter's negative lobes can
// overshoot on sharp edges: values are clamped to 0-255, and colour to its alpha, so the
// result stays a valid premultiplied pixel. acc is in units of 1/2^(weightBits+midBits)
// of a level, rounding included.
func toBytes(dst []byte, acc []pair) {
	const shift = weightBits + midBits
	dst = dst[:4*len(acc)]
	for i, p := range acc {
		r, b := lanes(p.rb)
		g, a := lanes(p.ga)
		alpha := clampByte(a >> shift)
		o := dst[4*i : 4*i+4 : 4*i+4]
		o[0] = min(clampByte(r>>shift), alpha)
		o[1] = min(clampByte(g>>shift), alpha)
		o[2] = min(clampByte(b>>shift), alpha)
		o[3] = alpha
	}
}

func clampByte(v int32) uint8 {
	return uint8(min(max(v, 0), 255))
}

// pairReader hands out the rows of a picture, halved a given number of times, as pairs,
// in order from the top. Halving averages each 2x2 block of premultiplied pixels; an odd
// last row or column is left out, less than a pixel of the result.
type pairReader struct {
	w, h   int      // the size of the rows handed out
	halved bool     // whether the last halving is done here, into sums of four
	src    byteRows // the rows of the last level before the pairs
	out    []pair
}

func newPairReader(img image.Image, halvings int) *pairReader {
	var src byteRows = newSourceRows(img)
	for range max(halvings-1, 0) {
		src = newHalvedRows(src)
	}
	r := &pairReader{w: src.width(), h: src.height(), src: src}
	if halvings > 0 {
		r.w, r.h, r.halved = r.w/2, r.h/2, true
	}
	r.out = make([]pair, r.w)
	return r
}

// row returns row y, which is overwritten by the next call.
func (r *pairReader) row(y int) []pair {
	if r.halved {
		sum4(r.out, r.src.row(2*y), r.src.row(2*y+1))
	} else {
		spread(r.out, r.src.row(y))
	}
	return r.out
}

// spread turns a row of RGBA bytes into pairs, in units of a quarter of a level as the
// sums of four of halving are.
func spread(out []pair, row []byte) {
	row = row[:4*len(out)]
	for x := range out {
		p := row[4*x : 4*x+4 : 4*x+4]
		out[x] = pair{uint64(p[0])<<2 | uint64(p[2])<<34, uint64(p[1])<<2 | uint64(p[3])<<34}
	}
}

// evenBytes picks the even bytes of a word, each into a 16-bit lane.
const evenBytes = 0x00FF00FF00FF00FF

// sum4 adds up each 2x2 block of two rows of RGBA bytes into a pair. It reads two pixels
// of a row as one word, adds the rows' words in 16-bit lanes (red, blue, red, blue and
// green, alpha, green, alpha), then each word's halves.
func sum4(out []pair, top, bottom []byte) {
	top, bottom = top[:8*len(out)], bottom[:8*len(out)]
	for x := range out {
		t := binary.LittleEndian.Uint64(top[8*x:])
		b := binary.LittleEndian.Uint64(bottom[8*x:])
		rb := t&evenBytes + b&evenBytes
		ga := (t>>8)&evenBytes + (b>>8)&evenBytes
		rb += rb >> 32
		ga += ga >> 32
		out[x] = pair{rb&0xFFFF | (rb&0xFFFF0000)<<16, ga&0xFFFF | (ga&0xFFFF0000)<<16}
	}
}

// byteRows hands out the rows of a picture as premultiplied RGBA bytes, in order from the
// top. A row stays valid until the next-but-one call, so that rows can be halved in
// pairs.
type byteRows interface {
	width() int
	height() int
	row(y int) []byte
}

// halvedRows averages 2x2 blocks of the rows of src.
type halvedRows struct {
	src  byteRows
	w, h int
	buf  [2][]byte
}

func newHalvedRows(src byteRows) *halvedRows {
	r := &halvedRows{src: src, w: src.width() / 2, h: src.height() / 2}
	r.buf = [2][]byte{make([]byte, 4*r.w), make([]byte, 4*r.w)}
	return r
}

func (r *halvedRows) width() int  { return r.w }
func (r *halvedRows) height() int { return r.h }

func (r *halvedRows) row(y int) []byte {
	out := r.buf[y&1]
	top, bottom := r.src.row(2*y), r.src.row(2*y+1)
	top, bottom = top[:2*len(out)], bottom[:2*len(out)]
	for x := 0; x < len(out); x += 4 {
		halvePixel(out[x:x+4:x+4], top[2*x:2*x+8], bottom[2*x:2*x+8])
	}
	return out
}

// halvePixel averages two pixels of top and two of bottom into out, with rounding.
func halvePixel(out, top, bottom []byte) {
	t := binary.LittleEndian.Uint64(top)
	b := binary.LittleEndian.Uint64(bottom)
	rb := t&evenBytes + b&evenBytes
	ga := (t>>8)&evenBytes + (b>>8)&evenBytes
	// The two low lanes now hold sums of four, at most 1022 with the rounding, so the
	// bytes wanted are bits 2-9 and 18-25.
	rb = (rb + rb>>32 + 2*(1+1<<16)) >> 2
	ga = (ga + ga>>32 + 2*(1+1<<16)) >> 2
	out[0], out[1], out[2], out[3] = byte(rb), byte(ga), byte(rb>>16), byte(ga>>16)
}

// sourceRows reads the rows of a decoded picture. RGBA rows are handed out as they are,
// NRGBA rows premultiplied (as they are when opaque), others converted by image/draw.
type sourceRows struct {
	src  image.Image
	b    image.Rectangle
	rgba *image.RGBA
	nrgb *image.NRGBA
	buf  [2]*image.RGBA
}

func newSourceRows(src image.Image) *sourceRows {
	r := &sourceRows{src: src, b: src.Bounds()}
	switch m := src.(type) {
	case *image.RGBA:
		r.rgba = m
		return r
	case *image.NRGBA:
		r.nrgb = m
	}
	for i := range r.buf {
		r.buf[i] = image.NewRGBA(image.Rect(0, 0, r.b.Dx(), 1))
	}
	return r
}

func (r *sourceRows) width() int  { return r.b.Dx() }
func (r *sourceRows) height() int { return r.b.Dy() }

func (r *sourceRows) row(y int) []byte {
	n := 4 * r.b.Dx()
	switch {
	case r.rgba != nil:
		i := r.rgba.PixOffset(r.b.Min.X, r.b.Min.Y+y)
		return r.rgba.Pix[i : i+n : i+n]
	case r.nrgb != nil:
		i := r.nrgb.PixOffset(r.b.Min.X, r.b.Min.Y+y)
		pix := r.nrgb.Pix[i : i+n : i+n]
		if opaque(pix) {
			return pix
		}
		out := r.buf[y&1].Pix
		premultiply(out, pix)
		return out
	}
	out := r.buf[y&1]
	draw.Draw(out, out.Rect, r.src, image.Pt(r.b.Min.X, r.b.Min.Y+y), draw.Src)
	return out.Pix
}

// opaque reports whether every pixel of a row of RGBA or NRGBA bytes has alpha 255,
// looking at two pixels at a time.
func opaque(pix []byte) bool {
	const alphas = 0xFF000000FF000000
	i := 0
	for ; i+8 <= len(pix); i += 8 {
		if binary.LittleEndian.Uint64(pix[i:])&alphas != alphas {
			return false
		}
	}
	for i += 3; i < len(pix); i += 4 {
		if pix[i] != 255 {
			return false
		}
	}
	return true
}

// premultiply converts a row of NRGBA bytes to RGBA, rounding.
func premultiply(out, pix []byte) {
	out = out[:len(pix)]
	for i := 0; i+3 < len(pix); i += 4 {
		a := uint32(pix[i+3])
		out[i] = uint8((uint32(pix[i])*a + 127) / 255)
		out[i+1] = uint8((uint32(pix[i+1])*a + 127) / 255)
		out[i+2] = uint8((uint32(pix[i+2])*a + 127) / 255)
		out[i+3] = uint8(a)
	}
}
