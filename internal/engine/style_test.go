package engine

import (
	"image"
	"sort"
	"testing"
)

// look measures the properties of a picture that tell the styles apart.
type lookStats struct {
	luma, sat      float64 // means
	r, g, b        float64 // mean channels
	dominant       float64 // share of the most common colour (4 bits a channel)
	colours        int     // distinct colours at 4 bits a channel
	edges          float64 // share of neighbours that differ visibly
	cornerToCentre float64 // brightness of the corners over that of the centre
	layering       float64 // variance between rows over the median variance within rows
	neon           float64 // share of bright, saturated pixels
	flat           float64 // share of pixels exactly equal to their right neighbour
	sepiaOrder     float64 // share of pixels with red >= green >= blue
	skyRoughness   int     // median brightness step between neighbours in the top tenth, 0-255
}

func measure(img *image.NRGBA) lookStats {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	var st lookStats
	hist := map[uint32]int{}
	var rowMeans, rowVars []float64
	var edges, neon, flat, sepia int
	var skySteps [256]int

	for y := 0; y < h; y++ {
		var s, q float64
		for x := 0; x < w; x++ {
			i := y*img.Stride + x*4
			c := rgb{float32(img.Pix[i]) / 255, float32(img.Pix[i+1]) / 255,
				float32(img.Pix[i+2]) / 255}
			l := float64(c.luma())
			s, q = s+l, q+l*l
			st.r, st.g, st.b = st.r+float64(c.r), st.g+float64(c.g), st.b+float64(c.b)
			st.sat += float64(hsvSat(c))
			hist[uint32(img.Pix[i]>>4)<<8|uint32(img.Pix[i+1]>>4)<<4|uint32(img.Pix[i+2]>>4)]++
			if x > 0 && absInt(int(img.Pix[i+1])-int(img.Pix[i-3])) > 8 {
				edges++
			}
			if x > 0 && img.Pix[i] == img.Pix[i-4] && img.Pix[i+1] == img.Pix[i-3] &&
				img.Pix[i+2] == img.Pix[i-2] {
				flat++
			}
			if img.Pix[i] >= img.Pix[i+1] && img.Pix[i+1] >= img.Pix[i+2] {
				sepia++
			}
			if x > 0 && y < h/10 {
				skySteps[absInt(int(img.Pix[i+1])-int(img.Pix[i-3]))]++
			}
			if hsvSat(c) > .6 && max(c.r, c.g, c.b) > .6 {
				neon++
			}
		}
		m := s / float64(w)
		rowMeans, rowVars = append(rowMeans, m), append(rowVars, q/float64(w)-m*m)
	}

	n := float64(w * h)
	st.r, st.g, st.b, st.sat = st.r/n, st.g/n, st.b/n, st.sat/n
	st.luma = .299*st.r + .587*st.g + .114*st.b
	for _, v := range hist {
		st.dominant = max(st.dominant, float64(v)/n)
	}
	st.colours = len(hist)
	st.edges, st.neon = float64(edges)/n, float64(neon)/n
	st.flat, st.sepiaOrder = float64(flat)/float64((w-1)*h), float64(sepia)/n
	st.skyRoughness = medianOfCounts(skySteps[:])
	st.layering = variance(rowMeans) / max(median(rowVars), 1e-9)
	st.cornerToCentre = cornerToCentre(img)
	return st
}

// cornerToCentre compares the brightness of the four corners with that of the centre.
func cornerToCentre(img *image.NRGBA) float64 {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	cw, ch := w/10, h/10
	corners := (patchLuma(img, 0, 0, cw, ch) + patchLuma(img, w-cw, 0, w, ch) +
		patchLuma(img, 0, h-ch, cw, h) + patchLuma(img, w-cw, h-ch, w, h)) / 4
	return corners / patchLuma(img, w*2/5, h*2/5, w*3/5, h*3/5)
}

func patchLuma(img *image.NRGBA, x0, y0, x1, y1 int) float64 {
	var s float64
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			i := y*img.Stride + x*4
			s += .299*float64(img.Pix[i]) + .587*float64(img.Pix[i+1]) + .114*float64(img.Pix[i+2])
		}
	}
	return s / float64((x1-x0)*(y1-y0)) / 255
}

// medianOfCounts returns the median value of a histogram.
func medianOfCounts(counts []int) int {
	total := 0
	for _, c := range counts {
		total += c
	}
	seen := 0
	for v, c := range counts {
		if seen += c; 2*seen >= total {
			return v
		}
	}
	return len(counts)
}

func mean(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func variance(v []float64) float64 {
	m := mean(v)
	var s float64
	for _, x := range v {
		s += (x - m) * (x - m)
	}
	return s / float64(len(v))
}

func absInt(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// styleSample renders a sample of prompts in every style.
func styleSample(t *testing.T) (prompts []string, looks []map[string]lookStats,
	imgs []map[string]*image.NRGBA) {
	t.Helper()
	all := partiPrompts(t, 400)
	for i := 0; i < len(all); i += 5 {
		prompts = append(prompts, all[i])
		look, byStyle := map[string]lookStats{}, map[string]*image.NRGBA{}
		for _, style := range Styles() {
			img := mustRender(t, Params{Prompt: all[i], Style: style, Width: 160, Height: 160})
			look[style], byStyle[style] = measure(img), img
		}
		looks, imgs = append(looks, look), append(imgs, byStyle)
	}
	return prompts, looks, imgs
}

func TestStylesLookDifferent(t *testing.T) {
	prompts, _, imgs := styleSample(t)
	styles := Styles()

	for k, p := range prompts {
		for i := range styles {
			for j := i + 1; j < len(styles); j++ {
				a, b := imgs[k][styles[i]], imgs[k][styles[j]]
				if d := pixelDiff(a, b); d < .05 {
					t.Errorf("%q: %s and %s differ by only %.3f per pixel",
						p, styles[i], styles[j], d)
				}
			}
		}
	}
}

func TestEachStyleHasItsLook(t *testing.T) {
	prompts, looks, _ := styleSample(t)
	checks := []struct {
		style string
		what  string
		ok    func(s, all map[string]lookStats) bool
	}{
		{"minimalist", "one colour covers much of the picture", func(s, _ map[string]lookStats) bool {
			return s["minimalist"].dominant >= .3
		}},
		{"minimalist", "flat colour without texture", func(s, _ map[string]lookStats) bool {
			return s["minimalist"].flat > .85
		}},
		{"abstract", "more colours than minimalist, none dominant", func(s, _ map[string]lookStats) bool {
			return s["abstract"].colours > s["minimalist"].colours &&
				s["abstract"].dominant < s["minimalist"].dominant
		}},
		{"vintage", "muted, sepia-toned colour", func(s, _ map[string]lookStats) bool {
			v := s["vintage"]
			return v.sat < .32 && v.sepiaOrder > .75
		}},
		{"vintage", "a vignette", func(s, _ map[string]lookStats) bool {
			return s["vintage"].cornerToCentre < .75
		}},
		{"vintage", "film grain", func(s, _ map[string]lookStats) bool {
			return s["vintage"].edges > .2
		}},
		{"futuristic", "a dark ground", func(s, _ map[string]lookStats) bool {
			return s["futuristic"].luma < .33
		}},
		{"futuristic", "neon", func(s, _ map[string]lookStats) bool {
			return s["futuristic"].neon > .01
		}},
		{"classic", "warm colour", func(s, _ map[string]lookStats) bool {
			return s["classic"].r-s["classic"].b > .08
		}},
		{"realistic", "a smooth sky", func(s, _ map[string]lookStats) bool {
			return s["realistic"].skyRoughness <= 2
		}},
	}

	for _, c := range checks {
		for k, p := range prompts {
			if !c.ok(looks[k], nil) {
				t.Errorf("%s render of %q lacks %s: %+v", c.style, p, c.what, looks[k][c.style])
			}
		}
	}
}

// TestShapeCounts checks the composition itself: abstract pictures overlap many shapes,
// minimalist ones place very few.
func TestShapeCounts(t *testing.T) {
	for _, p := range partiPrompts(t, 400) {
		count := func(style string) int {
			info := analyse(p)
			s := buildScene(Params{Prompt: p, Style: style, Width: 256, Height: 256}, styles[style], info)
			return len(s.layers) - 1 // without the background
		}
		if n := count("abstract"); n < 6 {
			t.Errorf("abstract %q has only %d shapes", p, n)
		}
		if n := count("minimalist"); n < 1 || n > 3 {
			t.Errorf("minimalist %q has %d shapes", p, n)
		}
	}
}
