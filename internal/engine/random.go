package engine

import "math"

// rng is a small deterministic generator (splitmix64). Every random choice of a scene comes
// from one, seeded from the prompt, style and seed, so the same inputs give the same scene.
type rng struct{ state uint64 }

func newRNG(seed uint64) *rng {
	return &rng{state: seed}
}

// next returns the next 64 random bits.
func (r *rng) next() uint64 {
	r.state += 0x9e3779b97f4a7c15
	return mix64(r.state)
}

// float returns a number in [0, 1).
func (r *rng) float() float64 {
	return float64(r.next()>>11) / (1 << 53)
}

// between returns a number in [lo, hi).
func (r *rng) between(lo, hi float64) float64 {
	return lo + (hi-lo)*r.float()
}

// intn returns a number in [0, n); n must be positive.
func (r *rng) intn(n int) int {
	return int(r.next() % uint64(n))
}

// span returns an integer in [lo, hi].
func (r *rng) span(lo, hi int) int {
	return lo + r.intn(hi-lo+1)
}

// chance reports true with probability p.
func (r *rng) chance(p float64) bool {
	return r.float() < p
}

// angle returns an angle in radians.
func (r *rng) angle() float64 {
	return r.float() * 2 * math.Pi
}

// mix64 is the splitmix64 finaliser: a fast bijective scrambling of 64 bits.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// fnv64 hashes s with 64-bit FNV-1a.
func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// hash2 scrambles a lattice point and a seed into 32 bits. Per-pixel noise uses it instead of
// a sequential generator so that rows can be rendered in any order, in parallel.
func hash2(x, y int32, seed uint32) uint32 {
	h := uint32(x)*0x8da6b343 ^ uint32(y)*0xd8163841 ^ seed*0xcb1ab31f
	h ^= h >> 16
	h *= 0x7feb352d
	h ^= h >> 15
	h *= 0x846ca68b
	h ^= h >> 16
	return h
}

// unit maps 32 hash bits to [0, 1).
func unit(h uint32) float32 {
	return float32(h>>8) * (1.0 / (1 << 24))
}
