package engine

import "math"

// row is one line of the picture being painted, with a channel per slice so that layers
// can run tight loops over it. Each worker owns one row, so painting needs no locks.
type row struct {
	y       int
	w       int
	r, g, b []float32
	tmp     []float32
}

func newRow(w int) *row {
	return &row{
		w: w,
		r: make([]float32, w), g: make([]float32, w), b: make([]float32, w),
		tmp: make([]float32, w),
	}
}

// blend says how a layer's colour combines with what lies beneath.
type blend int

const (
	blendOver blend = iota // paint: the usual alpha compositing
	blendAdd               // light: adds, for glows and neon
)

// put combines colour c with coverage a into pixel x.
func (rw *row) put(x int, c rgb, a float32, mode blend) {
	if mode == blendAdd {
		rw.r[x] += c.r * a
		rw.g[x] += c.g * a
		rw.b[x] += c.b * a
		return
	}
	rw.r[x] += (c.r - rw.r[x]) * a
	rw.g[x] += (c.g - rw.g[x]) * a
	rw.b[x] += (c.b - rw.b[x]) * a
}

// layer is one element of a scene; paint draws its part of one row.
type layer interface {
	paint(rw *row)
}

// span clips [x0, x1) to the row.
func (rw *row) span(x0, x1 float32) (int, int) {
	lo, hi := int(math.Floor(float64(x0))), int(math.Ceil(float64(x1)))
	if lo < 0 {
		lo = 0
	}
	if hi > rw.w {
		hi = rw.w
	}
	return lo, hi
}

// linearBG fills the row with a gradient along a direction.
type linearBG struct {
	ramp           *ramp
	ox, oy, dx, dy float32 // t = (p - o) · d
}

func (l *linearBG) paint(rw *row) {
	t := (0.5-l.ox)*l.dx + (float32(rw.y)+0.5-l.oy)*l.dy
	for x := 0; x < rw.w; x++ {
		c := l.ramp.at(t)
		rw.r[x], rw.g[x], rw.b[x] = c.r, c.g, c.b
		t += l.dx
	}
}

// radialBG fills the row with a gradient around a centre.
type radialBG struct {
	ramp       *ramp
	cx, cy, ir float32 // ir is 1 / radius
}

func (l *radialBG) paint(rw *row) {
	dy := (float32(rw.y) + 0.5 - l.cy) * l.ir
	for x := 0; x < rw.w; x++ {
		dx := (float32(x) + 0.5 - l.cx) * l.ir
		c := l.ramp.at(sqrt32(dx*dx + dy*dy))
		rw.r[x], rw.g[x], rw.b[x] = c.r, c.g, c.b
	}
}

// horizonBG is a sky above a horizon line and ground below it; each row is one colour.
type horizonBG struct {
	sky, ground *ramp
	horizon     float32
	h           float32
}

func (l *horizonBG) paint(rw *row) {
	y := float32(rw.y) + 0.5
	var c rgb
	if y < l.horizon {
		c = l.sky.at(y / l.horizon)
	} else {
		c = l.ground.at((y - l.horizon) / (l.h - l.horizon))
	}
	for x := 0; x < rw.w; x++ {
		rw.r[x], rw.g[x], rw.b[x] = c.r, c.g, c.b
	}
}

// ellipse is a disc, ring or glow, optionally rotated and shaded like a lit sphere.
type ellipse struct {
	cx, cy, rx, ry float32
	cos, sin       float32
	col, light     rgb     // light is the highlight colour when shaded
	shaded         bool    // a sphere lit from the upper left
	alpha          float32 // peak coverage
	soft           float32 // width of the soft edge, in radii
	ring           float32 // half-width of a ring in radii; 0 for a filled disc
	glow           float32 // halo width in pixels; 0 for none
	mode           blend
	extent         float32 // bounding radius in pixels
}

// newEllipse sets up a filled disc; callers adjust the returned value.
func newEllipse(cx, cy, rx, ry, angle float64, col rgb, alpha, soft float64) *ellipse {
	e := &ellipse{
		cx: float32(cx), cy: float32(cy), rx: float32(rx), ry: float32(ry),
		cos: float32(math.Cos(angle)), sin: float32(math.Sin(angle)),
		col: col, alpha: float32(alpha), soft: float32(soft),
	}
	e.finish()
	return e
}

// finish derives the anti-aliasing width and bounding radius from the other fields.
func (e *ellipse) finish() {
	aa := 1.5 / min(e.rx, e.ry)
	if e.soft < aa {
		e.soft = aa
	}

	reach := float32(1) + e.ring + e.soft
	e.extent = max(e.rx, e.ry)*reach + 1
	if e.glow > 0 {
		e.extent = max(e.rx, e.ry)*(1+e.ring) + 9*e.glow
	}
}

func (e *ellipse) paint(rw *row) {
	dy := float32(rw.y) + 0.5 - e.cy
	if dy >= e.extent || dy <= -e.extent {
		return
	}

	half := sqrt32(e.extent*e.extent - dy*dy)
	x0, x1 := rw.span(e.cx-half, e.cx+half)
	irx, iry := 1/e.rx, 1/e.ry
	for x := x0; x < x1; x++ {
		dx := float32(x) + 0.5 - e.cx
		u := (dx*e.cos + dy*e.sin) * irx
		v := (dy*e.cos - dx*e.sin) * iry
		d := sqrt32(u*u + v*v)

		a := e.coverage(d)
		if a <= 0 {
			continue
		}
		c := e.col
		if e.shaded {
			c = e.shade(u, v, d)
		}
		rw.put(x, c, a*e.alpha, e.mode)
	}
}

// coverage is how much of the pixel at normalised distance d the shape covers.
func (e *ellipse) coverage(d float32) float32 {
	edge := d - 1
	if e.ring > 0 {
		edge = abs32(d-1) - e.ring
	}

	core := smooth01(clamp01(-edge / e.soft))
	if e.glow <= 0 {
		return core
	}

	px := max(edge, 0) * e.rx / e.glow
	return max(core, 1/(1+px*px*2))
}

// shade lights a sphere from the upper left, darkening towards the far rim.
func (e *ellipse) shade(u, v, d float32) rgb {
	hu, hv := u+0.4, v+0.45
	t := clamp01(sqrt32(hu*hu+hv*hv) / 1.5)
	c := mix(e.light, e.col, smooth01(t))
	rim := 1 - 0.25*smoothstep(0.7, 1, d)
	return c.scale(rim)
}

// ridge is a region below a wavy boundary line: a wave, a hill, a skyline or a row of pines.
type ridge struct {
	top          []float32 // boundary y for every column
	minTop       float32
	upper, lower rgb // colours at the boundary and at depth
	depth        float32
	alpha        float32
	crest        rgb
	crestA       float32 // strength of a bright line along the boundary
	windows      *windows
	edge         float32
	fadeEnd      float32 // when above zero, alpha fades to zero by that depth
}

// windows lights a grid of small windows inside a skyline.
type windows struct {
	cell, size int
	col        rgb
	seed       uint32
	share      uint32 // lit windows out of 256
}

func (l *ridge) paint(rw *row) {
	y := float32(rw.y) + 0.5
	if y < l.minTop-l.edge {
		return
	}

	for x := 0; x < rw.w; x++ {
		depth := y - l.top[x]
		if depth < -l.edge {
			continue
		}
		a := clamp01(depth/l.edge+0.5) * l.alpha
		if l.fadeEnd > 0 {
			a *= 1 - smoothstep(0, l.fadeEnd, depth)
		}
		c := mix(l.upper, l.lower, clamp01(depth/l.depth))
		if l.windows != nil {
			c = l.windows.light(c, x, rw.y, depth)
		}
		rw.put(x, c, a, blendOver)
		if l.crestA > 0 && depth > -3 && depth < 3 {
			rw.put(x, l.crest, l.crestA*(1-abs32(depth)/3), blendOver)
		}
	}
}

// light returns the colour of a lit window at (x, y), or c where there is none.
func (w *windows) light(c rgb, x, y int, depth float32) rgb {
	if depth < float32(w.cell) {
		return c
	}
	if x%w.cell >= w.size || y%w.cell >= w.size {
		return c
	}
	if hash2(int32(x/w.cell), int32(y/w.cell), w.seed)&255 >= w.share {
		return c
	}
	return w.col
}

// clip limits a layer to a rectangle or a circle.
type clip struct {
	circle         bool
	x0, y0, x1, y1 float32 // the rectangle, or the circle's bounding box
	cx, cy, r      float32
}

// rowSpan returns the columns of row y inside the clip.
func (c *clip) rowSpan(rw *row) (int, int, bool) {
	y := float32(rw.y) + 0.5
	if y < c.y0 || y >= c.y1 {
		return 0, 0, false
	}
	if !c.circle {
		x0, x1 := rw.span(c.x0, c.x1)
		return x0, x1, x0 < x1
	}

	dy := y - c.cy
	half := sqrt32(max(c.r*c.r-dy*dy, 0))
	x0, x1 := rw.span(c.cx-half, c.cx+half)
	return x0, x1, x0 < x1
}

// edge is the coverage of pixel x by a circular clip, for a smooth rim.
func (c *clip) edge(x int, y float32) float32 {
	if !c.circle {
		return 1
	}
	dx, dy := float32(x)+0.5-c.cx, y-c.cy
	return clamp01(c.r - sqrt32(dx*dx+dy*dy))
}

// stripes paints parallel bands inside a clip, each band a palette colour.
type stripes struct {
	clip   clip
	nx, ny float32 // direction divided by the period
	phase  float32
	duty   float32
	aa     float32 // anti-aliasing width in periods
	cols   []rgb
	alpha  float32
	seed   uint32
	mode   blend
}

func (l *stripes) paint(rw *row) {
	x0, x1, ok := l.clip.rowSpan(rw)
	if !ok {
		return
	}

	y := float32(rw.y) + 0.5
	for x := x0; x < x1; x++ {
		t := (float32(x)+0.5)*l.nx + y*l.ny + l.phase
		i := float32(math.Floor(float64(t)))
		a := band(t-i, l.duty, l.aa) * l.clip.edge(x, y)
		if a <= 0 {
			continue
		}
		c := l.cols[hash2(int32(i), 7, l.seed)%uint32(len(l.cols))]
		rw.put(x, c, a*l.alpha, l.mode)
	}
}

// band is the coverage of a stripe occupying [0, duty) of each period at position f.
func band(f, duty, aa float32) float32 {
	if f < duty {
		return clamp01(min(f, duty-f)/aa + 0.5)
	}
	return clamp01(0.5 - min(f-duty, 1-f)/aa)
}

// mosaic paints a grid of square or triangular tiles, or round dots, in palette colours.
type mosaic struct {
	x0, y0, x1, y1 int
	cell, gap      int
	cols           []rgb
	fill           uint32 // filled tiles out of 256
	alpha          float32
	tri, dots      bool
	dotScale       float32 // dot radius as a share of half a cell; 0 for large dots
	mode           blend
	seed           uint32
}

func (l *mosaic) paint(rw *row) {
	if rw.y < l.y0 || rw.y >= l.y1 {
		return
	}

	cy := (rw.y - l.y0) / l.cell
	fy := (rw.y - l.y0) % l.cell
	x0, x1 := max(l.x0, 0), min(l.x1, rw.w)
	for x := x0; x < x1; x++ {
		cx, fx := (x-l.x0)/l.cell, (x-l.x0)%l.cell
		h := hash2(int32(cx), int32(cy), l.seed)
		if h&255 >= l.fill {
			continue
		}
		a := l.cover(fx, fy, h)
		if a <= 0 {
			continue
		}
		c := l.cols[(h>>8)%uint32(len(l.cols))]
		if l.tri && fx > fy {
			c = l.cols[(h>>16)%uint32(len(l.cols))]
		}
		rw.put(x, c, a*l.alpha, l.mode)
	}
}

// cover is the coverage of position (fx, fy) inside a tile with hash h.
func (l *mosaic) cover(fx, fy int, h uint32) float32 {
	if !l.dots {
		if fx < l.gap || fy < l.gap {
			return 0
		}
		return 1
	}

	half := float32(l.cell) / 2
	r := half * (0.35 + 0.6*unit(h>>4))
	if l.dotScale > 0 {
		r = half * l.dotScale * (0.5 + unit(h>>4))
	}
	dx, dy := float32(fx)+0.5-half, float32(fy)+0.5-half
	return clamp01(r - sqrt32(dx*dx+dy*dy) + 0.5)
}

// clouds paints soft noise shapes, fading out between two heights.
type clouds struct {
	noise  fbm
	col    rgb
	alpha  float32
	lo, hi float32 // the noise range that turns into cloud
	y0, y1 float32 // the band where clouds live; they fade at its ends
	mode   blend
}

func (l *clouds) paint(rw *row) {
	y := float32(rw.y) + 0.5
	if y < l.y0 || y >= l.y1 {
		return
	}

	// Towards the ends of the band the clouds thin out: the threshold rises, so edges stay
	// as crisp or as soft as elsewhere.
	band := l.y1 - l.y0
	fade := smoothstep(0, 0.25, (y-l.y0)/band) * smoothstep(0, 0.25, (l.y1-y)/band)
	lift := (1 - fade) * .4
	l.noise.row(rw.y, rw.tmp)
	for x := 0; x < rw.w; x++ {
		a := smoothstep(l.lo, l.hi, rw.tmp[x]-lift) * l.alpha
		if a > 0 {
			rw.put(x, l.col, a, l.mode)
		}
	}
}

// neonGrid draws glowing grid lines: flat over the picture, or in perspective below a
// horizon like a floor running into the distance.
type neonGrid struct {
	perspective bool
	horizon     float32
	cx          float32
	spacing     float32 // pixels between lines (flat), or between floor lines at the bottom
	depth       float32 // how far apart floor lines run in depth
	width       float32 // glow width in pixels
	col         rgb
	alpha       float32
	h           float32
}

func (l *neonGrid) paint(rw *row) {
	if l.perspective {
		l.paintFloor(rw)
		return
	}

	y := float32(rw.y) + 0.5
	gy := glowLine(y, l.spacing, l.width)
	for x := 0; x < rw.w; x++ {
		g := max(gy, glowLine(float32(x)+0.5, l.spacing, l.width))
		rw.put(x, l.col, g*l.alpha, blendAdd)
	}
}

// paintFloor draws the perspective floor: lines across get closer towards the horizon, and
// lines into the distance meet at a vanishing point.
func (l *neonGrid) paintFloor(rw *row) {
	dz := float32(rw.y) + 0.5 - l.horizon
	if dz <= 0.5 {
		return
	}

	// Depth z = h/dz; a line across sits at every whole multiple of depth, and one pixel of
	// screen covers h/dz² of depth.
	z := (l.h / dz) * l.depth
	f := z - float32(math.Floor(float64(z)))
	px := min(f, 1-f) / (l.depth * l.h / (dz * dz))
	across := 1 / (1 + (px/l.width)*(px/l.width))
	across *= across
	fade := smoothstep(0, l.h*0.12, dz)

	unitPx := dz / (l.h - l.horizon) * l.spacing
	for x := 0; x < rw.w; x++ {
		g := max(across, glowLine(float32(x)+0.5-l.cx, unitPx, l.width))
		rw.put(x, l.col, g*l.alpha*fade, blendAdd)
	}
}

// glowLine is the glow at position p of lines every spacing pixels.
func glowLine(p, spacing, width float32) float32 {
	f := p / spacing
	f -= float32(math.Floor(float64(f)))
	d := min(f, 1-f) * spacing / width
	g := 1 / (1 + d*d)
	return g * g
}

func sqrt32(v float32) float32 {
	return float32(math.Sqrt(float64(v)))
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}
