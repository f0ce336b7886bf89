package media

import (
	"image"
	"image/draw"
	"math"
)

// resample scales src to a tw by th RGBA picture with a Catmull-Rom filter (the cubic with
// B = 0 and C = 0.5, stretched over more source pixels when reducing), working on
// premultiplied colour. It filters each source row across once, keeping only the few
// filtered rows the current output row needs, so its working memory is a handful of output
// rows. golang.org/x/image/draw's scaler instead holds the whole source height filtered
// across in float64, 72 MB for a 768-pixel preview of a 2900-pixel square, which was the
// largest allocation of an upload (issue 8, bench/results.md).
func resample(src image.Image, tw, th int) *image.RGBA {
	b := src.Bounds()
	across := newTaps(tw, b.Dx())
	down := newTaps(th, b.Dy())
	rows := newRowReader(src)

	// ring holds the filtered rows [next-len(ring), next) by their index modulo its length;
	// each output row's window starts and ends no earlier than the previous one's.
	ring := make([][]float32, down.n)
	for i := range ring {
		ring[i] = make([]float32, 4*tw)
	}
	dst := image.NewRGBA(image.Rect(0, 0, tw, th))
	acc := make([]float32, 4*tw)
	next := 0
	for y := 0; y < th; y++ {
		first := int(down.first[y])
		for ; next < first+down.n; next++ {
			across.filterRow(ring[next%down.n], rows.row(next))
		}

		clear(acc)
		for k, wt := range down.weights(y) {
			if wt == 0 {
				continue
			}
			for i, v := range ring[(first+k)%down.n] {
				acc[i] += wt * v
			}
		}
		toBytes(dst.Pix[y*dst.Stride:y*dst.Stride+4*tw], acc)
	}
	return dst
}

// taps say how each output column (or row) is made from the source: n weights per output,
// for the consecutive source pixels from first. Outputs near an edge have fewer real
// weights and are padded with zeros, so every output reads exactly n pixels.
type taps struct {
	first []int32
	w     []float32
	n     int
}

// newTaps computes the Catmull-Rom weights for scaling srcLen pixels to dstLen. Each
// output pixel's centre is mapped into the source, the kernel is widened by the reduction
// factor so that it also filters out detail the output cannot show, source pixels beyond
// an edge are left out, and the weights are normalised to sum to one.
func newTaps(dstLen, srcLen int) taps {
	scale := float64(srcLen) / float64(dstLen)
	stretch := max(scale, 1)
	half := 2 * stretch // Catmull-Rom reaches two pixels either side
	n := min(int(math.Ceil(2*half))+1, srcLen)
	t := taps{first: make([]int32, dstLen), w: make([]float32, dstLen*n), n: n}

	weights := make([]float64, n)
	for x := range dstLen {
		centre := (float64(x)+0.5)*scale - 0.5
		lo := max(int(math.Ceil(centre-half)), 0)
		hi := min(int(math.Floor(centre+half)), srcLen-1)
		first := min(lo, srcLen-n)

		clear(weights)
		total := 0.0
		for i := lo; i <= hi; i++ {
			k := catmullRom(math.Abs(centre-float64(i)) / stretch)
			weights[i-first] = k
			total += k
		}
		t.first[x] = int32(first)
		for i, k := range weights {
			t.w[x*n+i] = float32(k / total)
		}
	}
	return t
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
func (t *taps) weights(i int) []float32 { return t.w[i*t.n : (i+1)*t.n] }

// filterRow filters one row of premultiplied RGBA bytes across into out, four floats per
// output pixel.
func (t *taps) filterRow(out []float32, row []byte) {
	for x := range t.first {
		p := row[4*int(t.first[x]):]
		var r, g, b, a float32
		for k, wt := range t.weights(x) {
			q := p[4*k : 4*k+4 : 4*k+4]
			r += wt * float32(q[0])
			g += wt * float32(q[1])
			b += wt * float32(q[2])
			a += wt * float32(q[3])
		}
		o := out[4*x : 4*x+4 : 4*x+4]
		o[0], o[1], o[2], o[3] = r, g, b, a
	}
}

// toBytes rounds filtered premultiplied pixels to bytes. The filter's negative lobes can
// overshoot on sharp edges: values are clamped to 0-255, and colour to its alpha, so the
// result stays a valid premultiplied pixel.
func toBytes(dst []byte, acc []float32) {
	for i := 0; i+3 < len(acc); i += 4 {
		a := clampByte(acc[i+3])
		dst[i+3] = a
		for c := range 3 {
			dst[i+c] = min(clampByte(acc[i+c]), a)
		}
	}
}

func clampByte(v float32) uint8 {
	switch {
	case v <= 0:
		return 0
	case v >= 255:
		return 255
	}
	return uint8(v + 0.5)
}

// rowReader hands out the rows of a picture as premultiplied RGBA bytes, converting one
// row at a time for pictures held in another form (NRGBA, YCbCr, grey...).
type rowReader struct {
	src  image.Image
	b    image.Rectangle
	rgba *image.RGBA // src itself when it is RGBA
	one  *image.RGBA // one converted row otherwise
}

func newRowReader(src image.Image) *rowReader {
	r := &rowReader{src: src, b: src.Bounds()}
	if m, ok := src.(*image.RGBA); ok {
		r.rgba = m
	} else {
		r.one = image.NewRGBA(image.Rect(0, 0, r.b.Dx(), 1))
	}
	return r
}

// row returns row y, counted from the top of the picture. The slice of a converted row is
// overwritten by the next call.
func (r *rowReader) row(y int) []byte {
	if r.rgba != nil {
		i := r.rgba.PixOffset(r.b.Min.X, r.b.Min.Y+y)
		return r.rgba.Pix[i : i+4*r.b.Dx()]
	}
	draw.Draw(r.one, r.one.Rect, r.src, image.Pt(r.b.Min.X, r.b.Min.Y+y), draw.Src)
	return r.one.Pix
}
