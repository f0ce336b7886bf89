package engine

// Depths of the parts of a landscape, far to near.
const (
	depthSky = iota * 10
	depthSun
	depthClouds
	depthHills
	depthTown
	depthWater
	depthNear
)

// landscape composes the realistic style: a lit sky over a horizon, a sun or moon, and the
// prompt's motifs turned into parts of the land.
func (b *builder) landscape(motifs []motif) {
	horizon := b.h * b.r.between(.5, .66)
	dark := b.info.mood == moodDark
	sunX, sunY := b.w*b.r.between(.2, .8), horizon-b.h*b.r.between(.1, .3)

	sky := b.sky(horizon, dark)
	b.add(depthSky, sky)
	b.sun(sunX, sunY, dark, hasMotif(motifs, motifOrbs))
	if !dark && (hasMotif(motifs, motifClouds) || b.r.chance(.6)) {
		b.clouds(depthClouds, 0, horizon)
	}

	for _, m := range motifs {
		b.landscapePart(m, sky, sunX, dark)
	}
	if !hasMotif(motifs, motifHills) {
		b.hills(depthHills, horizon-b.h*.04)
	}
}

// sky builds the horizon background: deep at the top, pale and warm at the horizon, and a
// ground that darkens towards the viewer.
func (b *builder) sky(horizon float64, dark bool) *horizonBG {
	hue := b.pal.hue
	topL, lowL := .42, .82
	if dark {
		topL, lowL = .05, .22
	}

	top := hsl(hue, .5, topL)
	low := mix(hsl(hue+25, .45, lowL), hsl(35, .8, lowL), .35)
	gh, _, _ := b.pal.accents[1].toHSL()
	ground := hsl(gh, .3, lowL*.45)
	return &horizonBG{
		sky:     newRamp(top, mix(top, low, .6), low),
		ground:  newRamp(ground, ground.scale(.45)),
		horizon: float32(horizon), h: float32(b.h),
	}
}

// sun adds a sun with a wide halo, or a lit moon on dark prompts.
func (b *builder) sun(x, y float64, dark, big bool) {
	rad := b.m * b.r.between(.035, .07)
	if big {
		rad *= 1.8
	}

	col := rgb{1, .92, .7}
	if dark {
		moon := newEllipse(x, y, rad, rad, 0, rgb{.85, .87, .92}, 1, .02)
		moon.shaded, moon.light = true, white
		b.add(depthSun, moon)
		col = rgb{.5, .55, .7}
	} else {
		b.add(depthSun, newEllipse(x, y, rad, rad, 0, col, 1, .05))
	}

	halo := newEllipse(x, y, rad, rad, 0, col, .35, .05)
	halo.glow, halo.mode = float32(rad*1.5), blendAdd
	halo.finish()
	b.add(depthSun, halo)
}

// landscapePart turns one motif into part of a landscape.
func (b *builder) landscapePart(m motif, sky *horizonBG, sunX float64, dark bool) {
	horizon := float64(sky.horizon)
	switch m {
	case motifWaves:
		b.water(sky, sunX)
	case motifHills:
		b.hills(depthHills, horizon-b.h*.06)
	case motifCity:
		b.city(depthTown, horizon+b.h*.02)
	case motifForest:
		b.forest(depthNear, horizon+b.h*.05)
	case motifOrbs, motifRings:
		b.planet(horizon)
	case motifMosaic, motifStripes:
		b.fields(horizon)
	}

	if dark {
		b.stars(horizon)
	}
}

// water fills the land with a lake or sea that mirrors the sky, with a glitter of the sun.
func (b *builder) water(sky *horizonBG, sunX float64) {
	horizon := float64(sky.horizon)
	top := waveTop(int(b.w), horizon, 1, 3, b.r.angle(), .5)
	col := mix(sky.sky.at(.9), b.pal.accents[0], .25)
	b.add(depthWater, &ridge{top: top, minTop: minOf(top), upper: col.scale(.85),
		lower: col.scale(.45), depth: float32(b.h - horizon), alpha: 1, edge: 1})

	shine := newEllipse(sunX, horizon+(b.h-horizon)/2, b.m*.05, (b.h-horizon)/2, 0,
		rgb{1, .95, .8}, .3, .8)
	shine.mode = blendAdd
	b.add(depthWater+1, shine)

	period := b.m * .01
	b.add(depthWater+1, &stripes{
		clip: clip{x1: float32(b.w), y0: float32(horizon + 2), y1: float32(b.h)},
		ny:   float32(1 / period), duty: .15, aa: float32(1 / period), alpha: .06,
		cols: []rgb{white}, mode: blendAdd, phase: float32(b.r.float()),
	})
}

// planet adds a lit sphere hanging in the sky.
func (b *builder) planet(horizon float64) {
	rad := b.m * b.r.between(.05, .12)
	e := newEllipse(b.w*b.r.between(.15, .85), horizon*b.r.between(.2, .6), rad, rad, 0,
		b.accent(), 1, .02)
	e.shaded, e.light = true, mix(e.col, white, .6)
	b.add(depthSun, e)
}

// fields lays a faint patchwork of fields over the land.
func (b *builder) fields(horizon float64) {
	cell := max(8, int(b.m*b.r.between(.06, .12)))
	b.add(depthNear-1, &mosaic{x0: 0, y0: int(horizon) + 2, x1: int(b.w), y1: int(b.h),
		cell: cell, gap: 1, cols: []rgb{b.accent(), b.accent(), b.pal.bg[1]},
		fill: 160, alpha: .22, tri: true, seed: b.seed ^ 0x66})
}

// stars scatters small dots over a dark sky.
func (b *builder) stars(horizon float64) {
	cell := max(6, int(b.m*.03))
	b.add(depthSky+1, &mosaic{x1: int(b.w), y1: int(horizon * .9), cell: cell,
		cols: []rgb{white, {1, .9, .7}}, fill: 40, alpha: .8, dots: true, dotScale: .12,
		seed: b.seed ^ 0x5747})
}

// neonScene composes the futuristic style: a dark sky, a glowing perspective floor, and the
// prompt's motifs as neon.
func (b *builder) neonScene(motifs []motif) {
	horizon := b.h * b.r.between(.55, .68)
	b.horizon = horizon
	glow := b.pal.accents[0]
	bg := b.pal.bg[0]

	b.add(-1, &horizonBG{
		sky:     newRamp(bg.scale(.6), bg, mix(bg, glow, .25)),
		ground:  newRamp(bg.scale(.8), bg.scale(.4)),
		horizon: float32(horizon), h: float32(b.h),
	})
	b.add(5, &neonGrid{perspective: true, horizon: float32(horizon), cx: float32(b.w / 2),
		spacing: float32(b.m * b.r.between(.08, .14)), depth: float32(b.r.between(.8, 1.6)),
		width: float32(max(1, b.m*.0015)), col: b.pal.accents[1], alpha: .9, h: float32(b.h)})

	line := newEllipse(b.w/2, horizon, b.w*.7, 1.5, 0, glow, .9, .01)
	line.glow, line.mode = float32(b.m*.01), blendAdd
	line.finish()
	b.add(6, line)

	if b.r.chance(.5) {
		b.add(0, &neonGrid{spacing: float32(b.m * .06), width: 1, col: glow, alpha: .08})
	}
	for _, m := range motifs {
		b.motif(m, 1)
	}
}

func hasMotif(motifs []motif, m motif) bool {
	for _, x := range motifs {
		if x == m {
			return true
		}
	}
	return false
}
