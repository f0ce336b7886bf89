package engine

import (
	"math"
	"sort"
)

// How strongly a profile recolours: first towards a gradient map of its palette, which
// keeps the picture's light and shade, then towards the nearest palette colour.
const (
	gradientPull = .55
	nearestPull  = .5
)

// profileFX applies a learned Profile to finished pixels.
type profileFX struct {
	pivot, contrast, sat float32
	gmap                 *ramp // palette colours by brightness
	pal                  []rgb
	grain                float32
	seed                 uint32
}

// newProfileFX measures the scene on a sample of rows and derives the adjustments that take
// it towards the profile.
func newProfileFX(s *scene, p *Profile) *profileFX {
	st := s.sample()
	pal := fromNRGBA(p.Palette)
	fx := &profileFX{pivot: st.mean, contrast: 1, sat: 1, pal: pal, seed: s.fx.seed ^ 0x9f}

	if st.std > 1e-3 {
		fx.contrast = float32(clamp64(sane(p.Contrast, .2)/float64(st.std), .5, 2))
	}
	if st.sat > 1e-3 {
		fx.sat = float32(clamp64(sane(p.Saturation, .4)/float64(st.sat), .3, 2))
	}
	fx.grain = float32(clamp64(sane(p.Texture, 0)*.25, 0, .03))
	fx.gmap = lumaRamp(pal)
	return fx
}

// lumaRamp maps a brightness to a colour of the palette of about that brightness,
// interpolating between the palette colours nearest in brightness.
func lumaRamp(pal []rgb) *ramp {
	sorted := append([]rgb(nil), pal...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].luma() < sorted[j].luma() })

	var rp ramp
	k := 0
	for i := range rp {
		v := float32(i) / (rampSize - 1)
		for k < len(sorted)-1 && sorted[k+1].luma() < v {
			k++
		}
		lo, hi := sorted[k], sorted[min(k+1, len(sorted)-1)]
		t := clamp01((v - lo.luma()) / max(hi.luma()-lo.luma(), 1e-6))
		rp[i] = mix(lo, hi, t)
	}
	return &rp
}

// apply moves one pixel towards the profile.
func (fx *profileFX) apply(c rgb, x, y int) rgb {
	c = rgb{
		fx.pivot + (c.r-fx.pivot)*fx.contrast,
		fx.pivot + (c.g-fx.pivot)*fx.contrast,
		fx.pivot + (c.b-fx.pivot)*fx.contrast,
	}
	l := c.luma()
	c = rgb{l + (c.r-l)*fx.sat, l + (c.g-l)*fx.sat, l + (c.b-l)*fx.sat}

	c = mix(c, fx.gmap.at(l), gradientPull)
	i, _ := nearest(fx.pal, c)
	c = mix(c, fx.pal[i], nearestPull)

	if fx.grain > 0 {
		n := (unit(hash2(int32(x), int32(y), fx.seed)) - .5) * 2 * fx.grain
		c = rgb{c.r + n, c.g + n, c.b + n}
	}
	return c
}

// sceneStats describes the brightness and saturation of a rendered scene.
type sceneStats struct {
	mean, std, sat float32
}

// sample renders 32 rows of the scene, without any profile, and measures them.
func (s *scene) sample() sceneStats {
	rw := newRow(s.w)
	pix := make([]byte, s.w*4)
	step := max(1, s.w/128)

	var sum, sq, sat float64
	n := 0
	for k := 0; k < 32; k++ {
		s.paintRow(rw, (2*k+1)*s.h/64, pix)
		for x := 0; x < s.w; x += step {
			c := rgb{float32(pix[4*x]) / 255, float32(pix[4*x+1]) / 255, float32(pix[4*x+2]) / 255}
			l := float64(c.luma())
			sum, sq, sat = sum+l, sq+l*l, sat+float64(hsvSat(c))
			n++
		}
	}

	mean := sum / float64(n)
	std := math.Sqrt(math.Max(sq/float64(n)-mean*mean, 0))
	return sceneStats{mean: float32(mean), std: float32(std), sat: float32(sat / float64(n))}
}

// sane replaces a value that is not a finite number in [0, 1] with fallback or the nearest
// bound.
func sane(v, fallback float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fallback
	}
	return clamp64(v, 0, 1)
}
