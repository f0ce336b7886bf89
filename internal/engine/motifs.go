package engine

import "math"

// orbs adds soft discs and blobs; flat styles get one or two crisp circles, neon styles
// glowing rings.
func (b *builder) orbs(depth float64) {
	n := b.count(3, 7)
	if b.look.flat {
		n = 1 + b.r.intn(2)
	}

	for i := 0; i < n; i++ {
		rad := b.m * b.r.between(.05, .26)
		if b.look.flat {
			rad = b.m * b.r.between(.1, .22) / float64(i+1)
		}
		cx, cy := b.place()
		col := b.accent()

		if !b.look.flat && !b.look.neon && b.r.chance(.35) {
			b.blob(depth, cx, cy, rad, col)
			continue
		}
		b.add(depth, b.disc(cx, cy, rad, col))
	}
}

// disc builds one circle in the style's look.
func (b *builder) disc(cx, cy, rad float64, col rgb) *ellipse {
	ry := rad * b.r.between(.9, 1.1)
	if b.look.flat {
		ry = rad
	}
	e := newEllipse(cx, cy, rad, ry, b.r.angle(), col, b.alpha(), b.soft())

	switch {
	case b.look.neon:
		e.ring = float32(b.m * b.r.between(.002, .005) / rad)
		e.glow = float32(b.m * .008)
		e.mode = blendAdd
	case b.look.shaded:
		e.shaded = true
		e.light = mix(col, white, .55)
	}
	e.finish()
	return e
}

// blob is a cluster of overlapping soft discs of one colour, an organic shape.
func (b *builder) blob(depth, cx, cy, rad float64, col rgb) {
	alpha, soft := b.alpha(), b.soft()+.15
	for k := 0; k < 3+b.r.intn(3); k++ {
		a := b.r.angle()
		d := rad * b.r.between(.2, .6)
		r := rad * b.r.between(.45, .75)
		e := newEllipse(cx+d*math.Cos(a), cy+d*math.Sin(a), r, r*b.r.between(.7, 1.2),
			b.r.angle(), col, alpha, soft)
		b.add(depth, e)
	}
}

// waves adds stacked wave bands below y0, lighter far away and darker near.
func (b *builder) waves(depth, y0 float64) {
	n := b.ridgeCount(3, 5)
	if b.look.flat {
		n = 1 + b.r.intn(2)
	}
	far, near := b.accent(), b.accent().scale(.7)

	for i := 0; i < n; i++ {
		t := float64(i) / float64(max(n-1, 1))
		base := y0 + (b.h*.92-y0)*t
		amp := b.m * b.r.between(.015, .045) * (1 + t)
		top := waveTop(int(b.w), base, amp, b.r.between(.6, 2.5), b.r.angle(), b.r.float())

		col := mix(far, near, float32(t))
		l := b.ridge(top, col, col.scale(.8), b.h*.3)
		l.crest, l.crestA = mix(col, white, .5), .35
		if b.look.flat {
			l.crestA = 0
		}
		b.add(depth+t*.01, l)
	}
}

// ridge builds a filled region in the style's look: neon styles draw a dark fill under a
// glowing crest.
func (b *builder) ridge(top []float32, upper, lower rgb, depth float64) *ridge {
	l := &ridge{top: top, minTop: minOf(top), upper: upper, lower: lower,
		depth: float32(depth), alpha: float32(b.alpha()), edge: float32(1 + b.soft()*b.m*.1)}
	if b.look.flat {
		l.lower = upper
	}
	if b.look.neon {
		l.crest, l.crestA = upper, 1
		l.upper, l.lower = b.pal.bg[0].scale(.6), b.pal.bg[0].scale(.3)
		l.alpha = .95
	}
	return l
}

// waveTop is a boundary made of two sine waves.
func waveTop(w int, base, amp, cycles, phase, second float64) []float32 {
	top := make([]float32, w)
	k := 2 * math.Pi * cycles / float64(w)
	for x := range top {
		fx := float64(x) * k
		v := math.Sin(fx+phase) + .35*second*math.Sin(2.7*fx+phase*1.3)
		top[x] = float32(base + amp*v)
	}
	return top
}

// stripes adds one or two fields of parallel bands clipped to circles or rectangles.
func (b *builder) stripes(depth float64) {
	n := b.count(1, 2)
	if b.look.flat {
		n = 1
	}

	for i := 0; i < n; i++ {
		angles := []float64{0, 90, 45, -45, 30, b.r.between(0, 180)}
		angle := angles[b.r.intn(len(angles))] * math.Pi / 180
		period := b.m * b.r.between(.025, .08)
		if b.look.flat {
			period = b.m * b.r.between(.045, .08)
		}
		l := &stripes{
			clip: b.region(), phase: float32(b.r.float()), duty: float32(b.r.between(.3, .6)),
			aa: float32(1 / period), alpha: float32(b.alpha()), seed: b.seed + uint32(i),
			nx: float32(math.Cos(angle) / period), ny: float32(math.Sin(angle) / period),
		}
		l.cols = []rgb{b.accent(), b.accent(), b.accent()}

		switch {
		case b.look.flat:
			l.duty, l.cols = float32(b.r.between(.1, .2)), l.cols[:1]
		case b.look.neon:
			l.duty, l.mode, l.alpha = .08, blendAdd, .5
		}
		b.add(depth, l)
	}
}

// region picks a circle or rectangle to clip a pattern to.
func (b *builder) region() clip {
	cx, cy := b.place()
	scale := 1.
	if b.look.flat {
		scale = .6 // keep empty space around the pattern
	}
	if b.r.chance(.5) {
		r := b.m * b.r.between(.15, .38) * scale
		return clip{circle: true, cx: float32(cx), cy: float32(cy), r: float32(r),
			x0: float32(cx - r), x1: float32(cx + r), y0: float32(cy - r), y1: float32(cy + r)}
	}

	hw, hh := b.w*b.r.between(.12, .35)*scale, b.h*b.r.between(.12, .35)*scale
	return clip{x0: float32(cx - hw), x1: float32(cx + hw), y0: float32(cy - hh),
		y1: float32(cy + hh)}
}

// mosaic adds a grid of tiles, triangles or dots over a region.
func (b *builder) mosaic(depth float64) {
	cell := max(4, int(b.m*b.r.between(.04, .1)))
	l := &mosaic{cell: cell, gap: max(1, cell/12), alpha: float32(b.alpha()),
		fill: uint32(256 * b.r.between(.45, .95)), seed: b.seed ^ 0x6d6f73}
	l.cols = []rgb{b.accent(), b.accent(), b.accent(), b.pal.bg[1]}

	switch b.r.intn(3) {
	case 0:
		l.tri = true
	case 1:
		l.dots = true
	}
	if b.look.neon {
		l.tri, l.dots, l.dotScale, l.mode, l.alpha = false, true, .3, blendAdd, .8
	}

	cols, rows := int(b.w)/cell+1, int(b.h)/cell+1
	cx, cy, nx, ny := 0, 0, cols, rows
	if b.look.density <= 2 && (b.look.flat || b.r.chance(.7)) {
		nx, ny = max(2, cols*b.r.span(3, 6)/10), max(2, rows*b.r.span(3, 6)/10)
		if b.look.flat {
			nx, ny, l.cell = 3+b.r.intn(3), 3+b.r.intn(3), cell*2/3+2
			l.cols, l.fill, l.tri = l.cols[:1], 256, false
		}
		px, py := b.place()
		cx, cy = int(px)/l.cell-nx/2, int(py)/l.cell-ny/2
	}
	l.x0, l.y0 = cx*l.cell, cy*l.cell
	l.x1, l.y1 = l.x0+nx*l.cell, l.y0+ny*l.cell
	b.add(depth, l)
}

// clouds adds soft noise clouds between heights y0 and y1.
func (b *builder) clouds(depth, y0, y1 float64) {
	n := b.count(1, 2)
	if b.look.flat {
		n = 1
	}

	for i := 0; i < n; i++ {
		lo := b.r.between(.45, .6)
		l := &clouds{
			noise: fbm{seed: b.seed + uint32(i)*77, cell: float32(b.w * b.r.between(.15, .35)),
				octaves: 4},
			col: mix(b.accent(), white, float32(b.r.between(.3, .8))), alpha: float32(b.alpha()),
			lo: float32(lo), hi: float32(lo + b.r.between(.08, .25)),
			y0: float32(y0), y1: float32(y1),
		}
		switch {
		case b.look.flat:
			top := b.h * b.r.between(.15, .55)
			l.col, l.lo, l.hi, l.y0, l.y1 = b.accent(), .6, .61, float32(top),
				float32(top+b.h*.3)
		case b.look.neon:
			l.col, l.mode, l.alpha, l.lo, l.hi = b.accent(), blendAdd, .3, .4, .9
		}
		b.add(depth, l)
	}
}

// rings adds one or two sets of concentric rings.
func (b *builder) rings(depth float64) {
	groups := b.count(1, 2)
	if b.look.flat {
		groups = 1
	}

	for g := 0; g < groups; g++ {
		cx, cy := b.place()
		n := b.r.span(3, 7)
		switch {
		case b.look.flat:
			n = b.r.span(2, 3)
		case b.look.neon:
			n = b.r.span(2, 4)
		}
		rad, step := b.m*b.r.between(.04, .08), b.m*b.r.between(.03, .07)
		width := b.m * b.r.between(.006, .02)
		if b.look.neon {
			width = b.m * b.r.between(.002, .005)
		}
		cols := []rgb{b.accent(), b.accent()}

		for i := 0; i < n; i++ {
			e := b.disc(cx, cy, rad, cols[i%2])
			e.ry, e.cos, e.sin = e.rx, 1, 0
			e.ring = float32(width / rad)
			e.finish()
			b.add(depth, e)
			rad += step
		}
	}
}

// hills adds ranges of hills below y0, paler with distance like real air.
func (b *builder) hills(depth, y0 float64) {
	n := b.ridgeCount(2, 3)
	haze := mix(b.pal.bg[0], white, .2)

	for i := 0; i < n; i++ {
		t := float64(i) / float64(max(n-1, 1))
		base := y0 + b.h*.14*float64(i)
		amp := b.h * b.r.between(.06, .16) / (1 + float64(i)*.4)
		top := ridgeTop(int(b.w), base, amp, b.r.between(1, 3), b.r, b.look.flat)

		col := mix(haze, b.accent().scale(.75), float32(.35+.65*t))
		b.add(depth+t*.01, b.ridge(top, col, col.scale(.75), b.h*.5))
	}
}

// ridgeTop is a mountain-like boundary: sharp peaks from a sum of folded sines.
func ridgeTop(w int, base, amp, cycles float64, r *rng, smooth bool) []float32 {
	top := make([]float32, w)
	phases := []float64{r.angle(), r.angle(), r.angle()}
	k := 2 * math.Pi * cycles / float64(w)
	for x := range top {
		fx := float64(x) * k
		v := math.Sin(fx + phases[0])
		if !smooth {
			v = 1 - 2*math.Pow(math.Abs(math.Sin(fx*.5+phases[0])), 1.3)
			v += .3*math.Sin(2.3*fx+phases[1]) + .12*math.Sin(5.1*fx+phases[2]) +
				.05*math.Sin(11.7*fx+phases[1]*2)
		}
		top[x] = float32(base - amp*v)
	}
	return top
}

// city adds one or two skylines standing on y0; the nearest has lit windows.
func (b *builder) city(depth, y0 float64) {
	n := b.ridgeCount(1, 2)
	lit := mix(b.accent(), rgb{1, .85, .45}, .7)

	for i := 0; i < n; i++ {
		t := float64(i) / float64(max(n-1, 1))
		top := b.skyline(y0+b.h*.05*float64(i), 1-.3*t)
		col := mix(mix(b.pal.bg[0], white, .15), b.accent().scale(.45), float32(.5+.5*t))
		l := b.ridge(top, col, col.scale(.85), b.h)
		if i == n-1 && !b.look.flat {
			cell := max(4, int(b.m*.02))
			l.windows = &windows{cell: cell, size: max(2, cell*11/20), col: lit,
				seed: b.seed + 99, share: 90}
		}
		b.add(depth+t*.01, l)
	}
}

// skyline is a boundary of rectangular building tops.
func (b *builder) skyline(base, scale float64) []float32 {
	top := make([]float32, int(b.w))
	for x := 0; x < len(top); {
		width := int(b.m * b.r.between(.04, .11))
		height := b.h * b.r.between(.12, .42) * scale
		for k := x; k < min(x+max(width, 2), len(top)); k++ {
			top[k] = float32(base - height)
		}
		x += max(width, 2)
	}
	return top
}

// forest adds rows of pine trees standing on y0, paler with distance.
func (b *builder) forest(depth, y0 float64) {
	n := b.ridgeCount(2, 3)
	// Trees stay green, only tinted by the palette.
	green := mix(hsl(b.r.between(100, 150), .45, .3), b.accent(), .3)

	for i := 0; i < n; i++ {
		t := float64(i) / float64(max(n-1, 1))
		size := 1 + .3*float64(i)
		top := b.pines(y0+b.h*.08*float64(i), size)
		col := mix(mix(b.pal.bg[0], white, .25), green.scale(.7), float32(.35+.65*t))
		b.add(depth+t*.01, b.ridge(top, col, col.scale(.8), b.h*.4))
	}
}

// pines is a boundary of triangular tree tops along base.
func (b *builder) pines(base, size float64) []float32 {
	top := make([]float32, int(b.w))
	for x := range top {
		top[x] = float32(base)
	}

	for x := -b.m * .05; x < b.w+b.m*.05; x += b.m * b.r.between(.025, .06) {
		half := b.m * b.r.between(.025, .05) * size
		height := b.m * b.r.between(.12, .28) * size
		for k := max(0, int(x-half)); k < min(len(top), int(x+half)+1); k++ {
			y := float32(base - height*(1-math.Abs(float64(k)-x)/half))
			top[k] = min(top[k], y)
		}
	}
	return top
}

// ridgeCount picks how many stacked ridges a motif gets. Each one covers everything below
// it, so busy styles get only one more rather than a multiple.
func (b *builder) ridgeCount(lo, hi int) int {
	switch {
	case b.look.flat:
		return 1
	case b.look.density > 2:
		return b.r.span(lo, hi) + 1
	}
	return b.r.span(lo, hi)
}

// minOf returns the smallest value of v.
func minOf(v []float32) float32 {
	m := float32(math.Inf(1))
	for _, x := range v {
		m = min(m, x)
	}
	return m
}
