package engine

// effects is the per-pixel finish of a style: canvas texture, warmth, sepia, fading,
// vignette and film grain, and then the optional learned profile.
type effects struct {
	finish
	seed     uint32
	canvas   fbm
	cx, cy   float32
	icx, icy float32
	prof     *profileFX
}

func newEffects(f finish, w, h int, seed uint32) effects {
	return effects{
		finish: f, seed: seed,
		canvas: fbm{seed: seed ^ 0xca4a5, cell: 6, octaves: 2},
		cx:     float32(w) / 2, cy: float32(h) / 2,
		icx: 2 / float32(w), icy: 2 / float32(h),
	}
}

// apply finishes the painted row rw and writes it as opaque NRGBA pixels into pix.
func (fx *effects) apply(rw *row, pix []byte) {
	if fx.canvas.octaves > 0 && fx.finish.canvas > 0 {
		fx.canvas.row(rw.y, rw.tmp)
	}
	ny := (float32(rw.y) + .5 - fx.cy) * fx.icy

	for x := 0; x < rw.w; x++ {
		c := fx.pixel(rw, x, ny)
		if fx.prof != nil {
			c = fx.prof.apply(c, x, rw.y)
		}

		i := x * 4
		pix[i], pix[i+1], pix[i+2], pix[i+3] = quant(c.r), quant(c.g), quant(c.b), 255
	}
}

// pixel applies the style's finish to pixel x of rw; ny is the row's offset from the centre.
func (fx *effects) pixel(rw *row, x int, ny float32) rgb {
	c := rgb{rw.r[x], rw.g[x], rw.b[x]}
	if fx.finish.canvas > 0 {
		c = c.scale(1 + fx.finish.canvas*(rw.tmp[x]-.5)*2)
	}
	if fx.warm > 0 {
		c.r *= 1 + fx.warm
		c.b *= 1 - fx.warm*1.5
	}
	if fx.sepia > 0 {
		s := rgb{
			.393*c.r + .769*c.g + .189*c.b,
			.349*c.r + .686*c.g + .168*c.b,
			.272*c.r + .534*c.g + .131*c.b,
		}
		c = mix(c, s, fx.sepia)
	}
	if fx.fade > 0 {
		c = rgb{fx.fade*.5 + c.r*(1-fx.fade), fx.fade*.5 + c.g*(1-fx.fade),
			fx.fade*.45 + c.b*(1-fx.fade)}
	}
	if fx.vignette > 0 {
		nx := (float32(x) + .5 - fx.cx) * fx.icx
		c = c.scale(1 - fx.vignette*smoothstep(.25, 2, nx*nx+ny*ny))
	}
	if fx.grain > 0 {
		n := (unit(hash2(int32(x), int32(rw.y), fx.seed)) - .5) * 2 * fx.grain
		c = rgb{c.r + n, c.g + n, c.b + n}
	}
	return c
}

// quant converts a channel in [0, 1] to a byte, clamping and rounding.
func quant(v float32) uint8 {
	if v <= 0 {
		return 0
	}
	if v >= 1 {
		return 255
	}
	return uint8(v*255 + .5)
}
