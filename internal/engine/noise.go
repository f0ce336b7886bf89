package engine

// fbm is fractal value noise: a few octaves of smoothly interpolated lattice values. It gives
// clouds, paper and canvas textures.
type fbm struct {
	seed    uint32
	cell    float32 // size in pixels of the coarsest lattice cell
	octaves int
}

// row writes the noise of row y, in [0, 1], into out.
func (n fbm) row(y int, out []float32) {
	for x := range out {
		out[x] = 0
	}

	amp, total := float32(1), float32(0)
	cell := n.cell
	for o := 0; o < n.octaves; o++ {
		n.octave(y, out, cell, amp, n.seed+uint32(o)*0x9e37)
		total += amp
		amp *= 0.5
		cell *= 0.5
		if cell < 2 {
			break
		}
	}

	inv := 1 / total
	for x := range out {
		out[x] *= inv
	}
}

// octave adds amp times one octave of value noise with the given cell size to out.
func (n fbm) octave(y int, out []float32, cell, amp float32, seed uint32) {
	fy := (float32(y) + 0.5) / cell
	iy := int32(fy)
	ty := smooth01(fy - float32(iy))
	step := 1 / cell

	ix := int32(-1)
	var a, b float32
	fx := 0.5 * step
	for x := range out {
		cx := int32(fx)
		if cx != ix {
			ix = cx
			v00 := unit(hash2(ix, iy, seed))
			v01 := unit(hash2(ix, iy+1, seed))
			v10 := unit(hash2(ix+1, iy, seed))
			v11 := unit(hash2(ix+1, iy+1, seed))
			a = v00 + (v01-v00)*ty
			b = v10 + (v11-v10)*ty
		}
		t := smooth01(fx - float32(ix))
		out[x] += amp * (a + (b-a)*t)
		fx += step
	}
}

// smooth01 is the smoothstep polynomial on [0, 1].
func smooth01(t float32) float32 {
	return t * t * (3 - 2*t)
}

// smoothstep maps v from [lo, hi] to [0, 1] with smooth ends, like its GLSL namesake.
func smoothstep(lo, hi, v float32) float32 {
	return smooth01(clamp01((v - lo) / (hi - lo)))
}

// clamp01 limits v to [0, 1].
func clamp01(v float32) float32 {
	if v < 0 {
		return 0
	}
	if v > 1 {
		return 1
	}
	return v
}
