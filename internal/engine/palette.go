package engine

import "math"

// palette is the set of colours a picture is painted with.
type palette struct {
	bg      []rgb // background stops
	accents []rgb
	bgLight float64 // lightness of the background
	hue     float64 // the base hue
}

// schemes are hue offsets of classic colour harmonies.
var schemes = [][]float64{
	{0, 25, -25, 50, -50},  // analogous
	{0, 180, 20, 200, -20}, // complementary
	{0, 120, 240, 15, 135}, // triadic
	{0, 150, 210, 30, 180}, // split complementary
	{0, 90, 180, 270, 45},  // tetradic
	{0, 35, 180, 215, -30}, // double complementary
}

// newPalette derives a palette from the prompt's colour words, or from its hash when it has
// none, then bends it to the style.
func newPalette(info promptInfo, spec styleSpec, seed uint32, r *rng) palette {
	hue := float64(info.hash%3600) / 10
	jitter := float64(int(mix64(uint64(seed)+1)%41) - 20)
	if len(info.colours) > 0 {
		hue = info.colours[0].h
		jitter *= 0.4
	}
	hue = warmHue(hue+jitter, spec.warm)

	p := palette{hue: hue}
	p.bg, p.bgLight = background(info, spec, hue, r)
	p.accents = accents(info, spec, hue, p.bgLight, jitter, r)
	return p
}

// background picks the background stops and their lightness from the mood and style.
func background(info promptInfo, spec styleSpec, hue float64, r *rng) ([]rgb, float64) {
	light := []float64{r.between(.8, .93), r.between(.35, .55), r.between(.1, .2)}[r.intn(3)]
	switch {
	case spec.look.neon:
		light = r.between(.04, .09)
	case info.mood == moodDark:
		light = r.between(.07, .16)
	case info.mood == moodBright || spec.look.flat:
		light = r.between(.86, .95)
	case spec.warm > 0:
		light = r.between(.62, .86)
	}

	sat := r.between(.2, .55)
	if spec.look.flat {
		sat = r.between(.08, .25)
	}
	offsets := []float64{0, 30, -30, 180, 60}
	if len(info.colours) > 0 {
		offsets = offsets[:3] // keep the named colour dominant
	}
	off := offsets[r.intn(len(offsets))]
	if len(info.colours) > 1 && !spec.look.flat {
		hue = info.colours[1].h
	}

	a := hsl(warmHue(hue+off, spec.warm), sat, light)
	b := hsl(warmHue(hue+off+r.between(-40, 40), spec.warm), sat*1.1, shade(light, r))
	if spec.look.flat {
		b = mix(a, b, 0.15)
	}
	return []rgb{a, b}, light
}

// shade moves a lightness a little towards the middle, for a second background stop.
func shade(l float64, r *rng) float64 {
	if l > .5 {
		return l - r.between(.06, .2)
	}
	return l + r.between(.05, .15)
}

// accents builds five accent colours: first the prompt's colour words, then a harmony around
// the base hue. Their lightness keeps them visible on the background.
func accents(info promptInfo, spec styleSpec, hue, bgLight, jitter float64, r *rng) []rgb {
	lo, hi := spec.light[0], spec.light[1]
	switch {
	case info.mood == moodDark && !spec.look.neon:
		lo, hi = .2, .42
	case bgLight < .3 && !spec.look.neon:
		lo, hi = lo+.1, hi+.12
	}

	// A named colour keeps its neighbours close, so that it dominates the picture.
	scheme := schemes[int(info.hash>>20)%len(schemes)]
	if len(info.colours) > 0 {
		scheme = schemes[0]
	}

	out := make([]rgb, 0, 5)
	for i := 0; i < 5; i++ {
		h, s, l := hue+scheme[i], r.between(spec.sat[0], spec.sat[1]), r.between(lo, hi)
		if i < len(info.colours) {
			c := info.colours[i]
			h = c.h + jitter
			if !spec.look.neon { // neon keeps only the hue: everything glows
				s, l = mid(c.s, s, .25), mid(c.l, l, .3)
			}
		}
		out = append(out, hsl(warmHue(h, spec.warm), s, l))
	}
	return out
}

// warmHue pulls a hue a fraction k of the way towards orange along the shorter arc.
func warmHue(h, k float64) float64 {
	d := math.Mod(35-h+540, 360) - 180
	return h + d*k
}

// mid returns the value a fraction t of the way from a to b.
func mid(a, b, t float64) float64 {
	return a + (b-a)*t
}
