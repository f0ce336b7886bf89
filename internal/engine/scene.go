package engine

import (
	"math"
	"sort"
)

// scene is a picture ready to be rasterised: layers painted in order, then a finish.
type scene struct {
	w, h   int
	layers []layer
	fx     effects
}

// builder assembles a scene from the prompt, style and seed.
type builder struct {
	w, h, m float64 // width, height and the shorter side
	r       *rng
	info    promptInfo
	spec    styleSpec
	look    look
	pal     palette
	seed    uint32
	horizon float64 // where motifs stand, when the scene has a horizon
	layers  []depthLayer
}

// depthLayer orders layers: lower depth is painted first.
type depthLayer struct {
	depth float64
	l     layer
}

var white = rgb{1, 1, 1}

// buildScene turns validated parameters into a scene. Everything random comes from one
// generator seeded by the prompt words, the style and the seed.
func buildScene(p Params, spec styleSpec, info promptInfo) *scene {
	seed := info.hash ^ mix64(uint64(p.Seed)<<8|0x5a) ^ fnv64(p.Style)
	r := newRNG(seed)
	b := &builder{
		w: float64(p.Width), h: float64(p.Height), m: float64(min(p.Width, p.Height)),
		r: r, info: info, spec: spec, look: spec.look, seed: uint32(seed >> 32),
	}
	b.pal = newPalette(info, spec, p.Seed, r)

	motifs := b.pickMotifs()
	switch {
	case spec.look.natural:
		b.landscape(motifs)
	case spec.look.neon:
		b.neonScene(motifs)
	default:
		b.background()
		// Motifs paint in a fixed order, so that ridges, which cover everything below
		// them, come last as the ground of the picture.
		for _, m := range motifs {
			b.motif(m, float64(m))
		}
		if b.look.density > 2 && !hasMotif(motifs, motifOrbs) {
			b.orbs(-.5) // busy styles always scatter overlapping shapes
		}
	}

	return b.finishScene(p)
}

// finishScene sorts the layers by depth and sets up the per-pixel finish.
func (b *builder) finishScene(p Params) *scene {
	sort.SliceStable(b.layers, func(i, j int) bool { return b.layers[i].depth < b.layers[j].depth })
	s := &scene{w: p.Width, h: p.Height}
	for _, dl := range b.layers {
		s.layers = append(s.layers, dl.l)
	}

	s.fx = newEffects(b.spec.fx, p.Width, p.Height, b.seed)
	return s
}

// add queues a layer at a depth.
func (b *builder) add(depth float64, l layer) {
	b.layers = append(b.layers, depthLayer{depth, l})
}

// pickMotifs ranks motifs by a random score plus the prompt's keywords and keeps the best.
func (b *builder) pickMotifs() []motif {
	scores := make([]float64, numMotifs)
	order := make([]motif, numMotifs)
	for m := range scores {
		scores[m] = b.r.float() + b.info.boost[m]
		order[m] = motif(m)
	}
	sort.SliceStable(order, func(i, j int) bool { return scores[order[i]] > scores[order[j]] })

	n := b.r.span(b.spec.motifs[0], b.spec.motifs[1])
	return order[:n]
}

// motif adds one motif in the style's look.
func (b *builder) motif(m motif, depth float64) {
	ground := func(lo, hi float64) float64 {
		if b.horizon > 0 {
			return b.horizon + b.h*(lo-.5)*.2
		}
		return b.h * b.r.between(lo, hi)
	}

	switch m {
	case motifOrbs:
		b.orbs(depth)
	case motifWaves:
		b.waves(depth, ground(.4, .6))
	case motifStripes:
		b.stripes(depth)
	case motifMosaic:
		b.mosaic(depth)
	case motifClouds:
		b.clouds(depth, 0, b.h)
	case motifRings:
		b.rings(depth)
	case motifHills:
		b.hills(depth, ground(.4, .55))
	case motifCity:
		b.city(depth, ground(.62, .78))
	case motifForest:
		b.forest(depth, ground(.58, .72))
	}
}

// background adds the style's ground for the non-landscape styles.
func (b *builder) background() {
	bg := b.pal.bg
	switch {
	case b.look.flat:
		b.add(-1, b.linear(math.Pi/2, bg[0], bg[1]))
	case b.look.shaded && b.spec.fx.warm > 0:
		cx, cy := b.w*b.r.between(.3, .7), b.h*b.r.between(.25, .5)
		ramp := newRamp(mix(bg[0], white, .1), bg[0], bg[1], bg[1].scale(.7))
		b.add(-1, &radialBG{ramp: ramp, cx: float32(cx), cy: float32(cy),
			ir: float32(1 / math.Hypot(b.w, b.h))})
	case b.look.density > 2:
		b.add(-1, b.linear(b.r.angle(), bg[0], mix(bg[1], b.accent(), .5), bg[1]))
	default:
		b.add(-1, b.linear(b.r.angle(), bg[0], bg[1]))
	}
}

// linear builds a gradient along angle spanning the whole canvas.
func (b *builder) linear(angle float64, stops ...rgb) *linearBG {
	dx, dy := math.Cos(angle), math.Sin(angle)

	// Project the corners on the direction so that t runs from 0 to 1 across the canvas.
	lo, hi := math.Inf(1), math.Inf(-1)
	var ox, oy float64
	for _, c := range [][2]float64{{0, 0}, {b.w, 0}, {0, b.h}, {b.w, b.h}} {
		t := c[0]*dx + c[1]*dy
		if t < lo {
			lo, ox, oy = t, c[0], c[1]
		}
		hi = math.Max(hi, t)
	}

	k := 1 / (hi - lo)
	return &linearBG{ramp: newRamp(stops...), ox: float32(ox), oy: float32(oy),
		dx: float32(dx * k), dy: float32(dy * k)}
}

// accent picks one of the palette's accent colours.
func (b *builder) accent() rgb {
	return b.pal.accents[b.r.intn(len(b.pal.accents))]
}

// soft and alpha pick an edge softness and an opacity from the style's ranges.
func (b *builder) soft() float64  { return b.r.between(b.look.soft[0], b.look.soft[1]) }
func (b *builder) alpha() float64 { return b.r.between(b.look.alpha[0], b.look.alpha[1]) }

// count scales a random count by the style's density.
func (b *builder) count(lo, hi int) int {
	n := float64(b.r.span(lo, hi)) * b.look.density
	return max(1, int(n+.5))
}

// place picks a point: on a rule-of-thirds spot for flat styles, anywhere otherwise.
func (b *builder) place() (float64, float64) {
	if b.look.flat {
		x := []float64{1. / 3, 2. / 3}[b.r.intn(2)] + b.r.between(-.05, .05)
		y := []float64{1. / 3, 2. / 3}[b.r.intn(2)] + b.r.between(-.05, .05)
		return x * b.w, y * b.h
	}
	return b.w * b.r.between(.08, .92), b.h * b.r.between(.08, .92)
}
