package engine

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"sort"
)

// Profile is a learned style: the palette and look of a person's own photos. Render uses it
// to recolour a picture towards the palette and to match its contrast, saturation and
// texture. Values outside their ranges are clamped.
type Profile struct {
	Palette    []color.NRGBA // 5 to 8 dominant colours, most common first
	Contrast   float64       // standard deviation of brightness, 0 to 1
	Saturation float64       // mean colour saturation, 0 to 1
	Texture    float64       // mean brightness change between neighbouring pixels, 0 to 1
}

// learnSide is the longest side of the copies LearnProfile measures, so that big photos cost
// no more than small ones.
const learnSide = 96

// maxClusterPixels bounds the k-means work however many photos are given.
const maxClusterPixels = 40000

// LearnProfile measures a set of images: a k-means palette of 5 to 8 colours (with a
// deterministic start, so the same images give the same profile), their mean contrast,
// saturation and texture. Each image is measured on a downscaled copy.
func LearnProfile(imgs []image.Image) (*Profile, error) {
	if len(imgs) == 0 {
		return nil, errors.New("no images to learn a style from")
	}

	var pixels []rgb
	var contrast, saturation, texture float64
	for i, img := range imgs {
		if img == nil || img.Bounds().Empty() {
			return nil, fmt.Errorf("image %d is empty", i+1)
		}
		g := shrink(img, learnSide)
		contrast += g.contrast()
		saturation += g.saturation()
		texture += g.texture()
		pixels = append(pixels, g.px...)
	}

	n := float64(len(imgs))
	return &Profile{
		Palette:  toNRGBA(clusters(pixels, 8, 5)),
		Contrast: contrast / n, Saturation: saturation / n, Texture: texture / n,
	}, nil
}

// PaletteDistance is the mean distance from the pixels of img to the nearest colour of
// palette, with channels scaled to [0, 1]; 0 means every pixel is a palette colour. Large
// images are sampled on a grid. It returns +Inf for an empty image or palette.
func PaletteDistance(img image.Image, palette []color.NRGBA) float64 {
	if img == nil || img.Bounds().Empty() || len(palette) == 0 {
		return math.Inf(1)
	}
	pal := fromNRGBA(palette)

	g := shrink(img, 256)
	var sum float64
	for _, c := range g.px {
		_, d := nearest(pal, c)
		sum += math.Sqrt(float64(d))
	}
	return sum / float64(len(g.px))
}

// grid is a small copy of an image.
type grid struct {
	w, h int
	px   []rgb
}

// shrink averages img into a grid whose longer side is at most side, sampling at most 4x4
// points per cell so that huge images stay cheap.
func shrink(img image.Image, side int) grid {
	b := img.Bounds()
	f := max(1, (max(b.Dx(), b.Dy())+side-1)/side)
	g := grid{w: (b.Dx() + f - 1) / f, h: (b.Dy() + f - 1) / f}
	g.px = make([]rgb, 0, g.w*g.h)
	step := max(1, f/4)

	for gy := 0; gy < g.h; gy++ {
		for gx := 0; gx < g.w; gx++ {
			g.px = append(g.px, cellMean(img, b.Min.X+gx*f, b.Min.Y+gy*f, f, step, b))
		}
	}
	return g
}

// cellMean averages the sampled pixels of the f×f cell at (x0, y0).
func cellMean(img image.Image, x0, y0, f, step int, b image.Rectangle) rgb {
	var sr, sg, sb float64
	n := 0
	for y := y0; y < min(y0+f, b.Max.Y); y += step {
		for x := x0; x < min(x0+f, b.Max.X); x += step {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			sr, sg, sb = sr+float64(c.R), sg+float64(c.G), sb+float64(c.B)
			n++
		}
	}
	k := 1 / (255 * float64(n))
	return rgb{float32(sr * k), float32(sg * k), float32(sb * k)}
}

// contrast is the standard deviation of the grid's brightness.
func (g grid) contrast() float64 {
	var sum, sq float64
	for _, c := range g.px {
		l := float64(c.luma())
		sum += l
		sq += l * l
	}
	n := float64(len(g.px))
	mean := sum / n
	return math.Sqrt(math.Max(sq/n-mean*mean, 0))
}

// saturation is the mean HSV saturation of the grid.
func (g grid) saturation() float64 {
	var sum float64
	for _, c := range g.px {
		sum += float64(hsvSat(c))
	}
	return sum / float64(len(g.px))
}

// texture is the mean magnitude of the brightness gradient of the grid.
func (g grid) texture() float64 {
	if g.w < 2 || g.h < 2 {
		return 0
	}

	var sum float64
	for y := 0; y < g.h-1; y++ {
		for x := 0; x < g.w-1; x++ {
			l := g.px[y*g.w+x].luma()
			dx := g.px[y*g.w+x+1].luma() - l
			dy := g.px[(y+1)*g.w+x].luma() - l
			sum += math.Sqrt(float64(dx*dx + dy*dy))
		}
	}
	return sum / float64((g.w-1)*(g.h-1))
}

func hsvSat(c rgb) float32 {
	hi := max(c.r, c.g, c.b)
	if hi <= 0 {
		return 0
	}
	return (hi - min(c.r, c.g, c.b)) / hi
}

// clusters runs k-means on the pixels and returns between least and k centres, most
// populous first. The start is deterministic: the mean colour, then repeatedly the pixel
// farthest from every centre so far.
func clusters(pixels []rgb, k, least int) []rgb {
	if stride := (len(pixels) + maxClusterPixels - 1) / maxClusterPixels; stride > 1 {
		sub := make([]rgb, 0, maxClusterPixels)
		for i := 0; i < len(pixels); i += stride {
			sub = append(sub, pixels[i])
		}
		pixels = sub
	}

	centres := farthestStart(pixels, k)
	weights := make([]float64, k)
	for iter := 0; iter < 20; iter++ {
		var moved bool
		centres, weights, moved = lloyd(pixels, centres)
		if !moved {
			break
		}
	}
	return prune(centres, weights, least)
}

// farthestStart picks k starting centres deterministically.
func farthestStart(pixels []rgb, k int) []rgb {
	var mean [3]float64
	for _, c := range pixels {
		mean[0], mean[1], mean[2] = mean[0]+float64(c.r), mean[1]+float64(c.g), mean[2]+float64(c.b)
	}
	n := float64(len(pixels))
	centres := []rgb{{float32(mean[0] / n), float32(mean[1] / n), float32(mean[2] / n)}}

	dist := make([]float32, len(pixels))
	for i := range dist {
		dist[i] = float32(math.Inf(1))
	}
	for len(centres) < k {
		last, far := centres[len(centres)-1], 0
		for i, c := range pixels {
			dist[i] = min(dist[i], dist2(c, last))
			if dist[i] > dist[far] {
				far = i
			}
		}
		centres = append(centres, pixels[far])
	}
	return centres
}

// lloyd does one k-means step: assign every pixel to its nearest centre, then move each
// centre to the mean of its pixels. Empty clusters keep their centre.
func lloyd(pixels []rgb, centres []rgb) ([]rgb, []float64, bool) {
	sums := make([][3]float64, len(centres))
	weights := make([]float64, len(centres))
	for _, c := range pixels {
		i, _ := nearest(centres, c)
		sums[i][0], sums[i][1], sums[i][2] = sums[i][0]+float64(c.r), sums[i][1]+float64(c.g),
			sums[i][2]+float64(c.b)
		weights[i]++
	}

	next := make([]rgb, len(centres))
	moved := false
	for i, s := range sums {
		next[i] = centres[i]
		if weights[i] > 0 {
			next[i] = rgb{float32(s[0] / weights[i]), float32(s[1] / weights[i]),
				float32(s[2] / weights[i])}
		}
		moved = moved || dist2(next[i], centres[i]) > 1e-10
	}
	return next, weights, moved
}

// prune sorts centres by weight and drops tiny or near-duplicate ones, keeping at least
// least of them.
func prune(centres []rgb, weights []float64, least int) []rgb {
	idx := make([]int, len(centres))
	total := 0.0
	for i := range idx {
		idx[i] = i
		total += weights[i]
	}
	sort.SliceStable(idx, func(a, b int) bool { return weights[idx[a]] > weights[idx[b]] })

	out := make([]rgb, 0, len(centres))
	for n, i := range idx {
		left := len(idx) - n
		if len(out)+left > least && (weights[i] < total*.01 || nearDuplicate(out, centres[i])) {
			continue
		}
		out = append(out, centres[i])
	}
	return out
}

func nearDuplicate(kept []rgb, c rgb) bool {
	_, d := nearest(kept, c)
	return len(kept) > 0 && d < .04*.04
}

// nearest returns the index of the colour of pal closest to c and the squared distance.
func nearest(pal []rgb, c rgb) (int, float32) {
	best, bd := 0, float32(math.Inf(1))
	for i, p := range pal {
		if d := dist2(p, c); d < bd {
			best, bd = i, d
		}
	}
	return best, bd
}

func toNRGBA(pal []rgb) []color.NRGBA {
	out := make([]color.NRGBA, len(pal))
	for i, c := range pal {
		out[i] = color.NRGBA{quant(c.r), quant(c.g), quant(c.b), 255}
	}
	return out
}

func fromNRGBA(pal []color.NRGBA) []rgb {
	out := make([]rgb, len(pal))
	for i, c := range pal {
		out[i] = rgb{float32(c.R) / 255, float32(c.G) / 255, float32(c.B) / 255}
	}
	return out
}
