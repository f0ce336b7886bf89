package engine

import (
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// flat returns a w×h image of one colour.
func flat(w, h int, c color.NRGBA) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.NewUniform(c), image.Point{}, draw.Src)
	return img
}

// quadrants returns an image split into four coloured quarters.
func quadrants(size int, cs [4]color.NRGBA) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	half := size / 2
	for i, c := range cs {
		r := image.Rect(i%2*half, i/2*half, i%2*half+half, i/2*half+half)
		draw.Draw(img, r, image.NewUniform(c), image.Point{}, draw.Src)
	}
	return img
}

// checker returns a black and white checkerboard with squares of the given size.
func checker(size, square int) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, size, size))
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			if (x/square+y/square)%2 == 0 {
				img.Pix[y*img.Stride+x] = 255
			}
		}
	}
	return img
}

// photos decodes the shared camera photos, or skips.
func photos(t testing.TB) []image.Image {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(testdata, "photos", "gps-*.jpg"))
	if len(paths) == 0 {
		t.Skip("shared test photos are not available")
	}

	var out []image.Image
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		img, err := jpeg.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out = append(out, img)
	}
	return out
}

func closeTo(pal []color.NRGBA, want color.NRGBA, tol float64) bool {
	for _, c := range pal {
		d := math.Sqrt(float64(dist2(fromNRGBA([]color.NRGBA{c})[0],
			fromNRGBA([]color.NRGBA{want})[0])))
		if d <= tol {
			return true
		}
	}
	return false
}

func TestLearnProfileFindsTheColours(t *testing.T) {
	want := [4]color.NRGBA{{220, 30, 30, 255}, {30, 160, 60, 255}, {30, 60, 200, 255},
		{240, 240, 230, 255}}
	imgs := []image.Image{quadrants(200, want), quadrants(64, want)}

	p, err := LearnProfile(imgs)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(p.Palette); n < 5 || n > 8 {
		t.Fatalf("palette has %d colours, want 5 to 8", n)
	}
	for _, c := range want {
		if !closeTo(p.Palette, c, .03) {
			t.Errorf("palette %v lacks a colour near %v", p.Palette, c)
		}
	}

	again, _ := LearnProfile(imgs)
	if !reflect.DeepEqual(p, again) {
		t.Fatal("the same images gave two different profiles")
	}
}

func TestLearnProfileMeasuresTheLook(t *testing.T) {
	grey := color.NRGBA{128, 128, 128, 255}
	cases := []struct {
		name                string
		img                 image.Image
		contrast, sat, text [2]float64 // allowed ranges
	}{
		{"flat grey", flat(120, 90, grey), [2]float64{0, .001}, [2]float64{0, .001},
			[2]float64{0, .001}},
		{"flat red", flat(64, 64, color.NRGBA{255, 0, 0, 255}), [2]float64{0, .001},
			[2]float64{.99, 1}, [2]float64{0, .001}},
		{"checkerboard", checker(384, 32), [2]float64{.45, .51}, [2]float64{0, .001},
			[2]float64{.1, 1}},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := LearnProfile([]image.Image{tc.img})
			if err != nil {
				t.Fatal(err)
			}
			check := func(what string, v float64, r [2]float64) {
				if v < r[0] || v > r[1] {
					t.Errorf("%s = %.4f, want %.3f..%.3f", what, v, r[0], r[1])
				}
			}
			check("contrast", p.Contrast, tc.contrast)
			check("saturation", p.Saturation, tc.sat)
			check("texture", p.Texture, tc.text)
		})
	}
}

func TestLearnProfileRefusesNothing(t *testing.T) {
	cases := map[string][]image.Image{
		"no images":   nil,
		"nil image":   {flat(8, 8, color.NRGBA{A: 255}), nil},
		"empty image": {image.NewNRGBA(image.Rect(0, 0, 0, 5))},
	}
	for name, imgs := range cases {
		if _, err := LearnProfile(imgs); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestPaletteDistance(t *testing.T) {
	black, white := color.NRGBA{0, 0, 0, 255}, color.NRGBA{255, 255, 255, 255}
	cases := []struct {
		name string
		img  image.Image
		pal  []color.NRGBA
		want float64
	}{
		{"exact", quadrants(32, [4]color.NRGBA{black, white, black, white}),
			[]color.NRGBA{black, white}, 0},
		{"opposite", flat(16, 16, black), []color.NRGBA{white}, math.Sqrt(3)},
		{"nearest wins", flat(16, 16, black), []color.NRGBA{white, black}, 0},
		{"empty palette", flat(4, 4, black), nil, math.Inf(1)},
		{"empty image", image.NewNRGBA(image.Rectangle{}), []color.NRGBA{black}, math.Inf(1)},
	}

	for _, tc := range cases {
		if got := PaletteDistance(tc.img, tc.pal); math.Abs(got-tc.want) > 1e-6 &&
			!(math.IsInf(got, 1) && math.IsInf(tc.want, 1)) {
			t.Errorf("%s: distance %.4f, want %.4f", tc.name, got, tc.want)
		}
	}
}

func TestProfilePullsThePictureTowardsItsPalette(t *testing.T) {
	prof, err := LearnProfile(photos(t))
	if err != nil {
		t.Fatal(err)
	}

	for _, style := range Styles() {
		for _, prompt := range []string{"a red sunset over the ocean", "bond", "a city at night"} {
			p := Params{Prompt: prompt, Style: style, Width: 192, Height: 160, Seed: 3}
			plain := PaletteDistance(mustRender(t, p), prof.Palette)
			p.Profile = prof
			styled := PaletteDistance(mustRender(t, p), prof.Palette)

			if styled > plain*.6 {
				t.Errorf("%s %q: distance to the palette %.3f with the profile, %.3f without",
					style, prompt, styled, plain)
			}
		}
	}
}

func TestProfileSetsContrast(t *testing.T) {
	low := &Profile{Palette: testPalette, Contrast: .05, Saturation: .3}
	high := &Profile{Palette: testPalette, Contrast: .35, Saturation: .3}
	p := Params{Prompt: "a fox in the snow", Style: "modern", Width: 128, Height: 128}

	p.Profile = low
	soft, _ := LearnProfile([]image.Image{mustRender(t, p)})
	p.Profile = high
	hard, _ := LearnProfile([]image.Image{mustRender(t, p)})
	if hard.Contrast <= soft.Contrast*1.5 {
		t.Fatalf("contrast %.3f with a high-contrast profile, %.3f with a low one",
			hard.Contrast, soft.Contrast)
	}
}

func TestProfileWithOddValuesStillRenders(t *testing.T) {
	odd := &Profile{Palette: testPalette[:1], Contrast: math.NaN(), Saturation: math.Inf(1),
		Texture: -4}
	img := mustRender(t, Params{Prompt: "x", Style: "classic", Width: 64, Height: 64,
		Profile: odd})
	if d := PaletteDistance(img, odd.Palette); math.IsNaN(d) || d > .5 {
		t.Fatalf("distance %.3f to a one-colour profile", d)
	}
}
