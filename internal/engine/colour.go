package engine

import "math"

// rgb is a colour with channels in [0, 1] (sRGB, not linear).
type rgb struct{ r, g, b float32 }

// hsl builds a colour from hue in degrees and saturation and lightness in [0, 1].
func hsl(h, s, l float64) rgb {
	h = math.Mod(h, 360)
	if h < 0 {
		h += 360
	}
	s = clamp64(s, 0, 1)
	l = clamp64(l, 0, 1)

	c := (1 - math.Abs(2*l-1)) * s
	hp := h / 60
	x := c * (1 - math.Abs(math.Mod(hp, 2)-1))
	var r, g, b float64
	switch int(hp) {
	case 0:
		r, g, b = c, x, 0
	case 1:
		r, g, b = x, c, 0
	case 2:
		r, g, b = 0, c, x
	case 3:
		r, g, b = 0, x, c
	case 4:
		r, g, b = x, 0, c
	default:
		r, g, b = c, 0, x
	}

	m := l - c/2
	return rgb{float32(r + m), float32(g + m), float32(b + m)}
}

// toHSL returns hue in degrees and saturation and lightness in [0, 1].
func (c rgb) toHSL() (h, s, l float64) {
	r, g, b := float64(c.r), float64(c.g), float64(c.b)
	hi := math.Max(r, math.Max(g, b))
	lo := math.Min(r, math.Min(g, b))
	l = (hi + lo) / 2
	d := hi - lo
	if d < 1e-9 {
		return 0, 0, l
	}

	s = d / (1 - math.Abs(2*l-1))
	switch hi {
	case r:
		h = math.Mod((g-b)/d, 6)
	case g:
		h = (b-r)/d + 2
	default:
		h = (r-g)/d + 4
	}
	h *= 60
	if h < 0 {
		h += 360
	}
	return h, clamp64(s, 0, 1), l
}

// luma is the Rec. 601 brightness of c.
func (c rgb) luma() float32 {
	return 0.299*c.r + 0.587*c.g + 0.114*c.b
}

// mix returns the colour a fraction t of the way from a to b.
func mix(a, b rgb, t float32) rgb {
	return rgb{a.r + (b.r-a.r)*t, a.g + (b.g-a.g)*t, a.b + (b.b-a.b)*t}
}

// scale multiplies every channel of c by k.
func (c rgb) scale(k float32) rgb {
	return rgb{c.r * k, c.g * k, c.b * k}
}

// dist2 is the squared distance between two colours.
func dist2(a, b rgb) float32 {
	dr, dg, db := a.r-b.r, a.g-b.g, a.b-b.b
	return dr*dr + dg*dg + db*db
}

// ramp is a colour gradient sampled into a table, so that per-pixel lookups are cheap.
type ramp [rampSize]rgb

const rampSize = 1024

// newRamp spreads the stops evenly over [0, 1] and interpolates between them.
func newRamp(stops ...rgb) *ramp {
	var rp ramp
	if len(stops) == 1 {
		stops = append(stops, stops[0])
	}
	seg := float32(len(stops) - 1)
	for i := range rp {
		t := float32(i) / (rampSize - 1) * seg
		k := int(t)
		if k >= len(stops)-1 {
			k = len(stops) - 2
		}
		rp[i] = mix(stops[k], stops[k+1], smooth01(t-float32(k)))
	}
	return &rp
}

// at returns the colour at t in [0, 1]; t outside is clamped.
func (rp *ramp) at(t float32) rgb {
	i := int(t * (rampSize - 1))
	if i < 0 {
		i = 0
	} else if i >= rampSize {
		i = rampSize - 1
	}
	return rp[i]
}

func clamp64(v, lo, hi float64) float64 {
	return math.Max(lo, math.Min(hi, v))
}
