package engine

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// testdata is the shared folder of real inputs, relative to this package.
var testdata = filepath.Join("..", "..", "..", "shared", "testdata")

// testPalette is a small earthy palette used where a fixed profile is needed.
var testPalette = []color.NRGBA{
	{0x2b, 0x3a, 0x2f, 255}, {0x6b, 0x8f, 0x5e, 255}, {0xc9, 0xb2, 0x7c, 255},
	{0xe8, 0xdf, 0xc8, 255}, {0x8c, 0x4a, 0x2f, 255},
}

// partiPrompts returns the first n prompts of the PartiPrompts benchmark, or skips.
func partiPrompts(t testing.TB, n int) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(testdata, "prompts", "PartiPrompts.tsv"))
	if err != nil {
		t.Skipf("shared test prompts are not available: %v", err)
	}
	defer f.Close()

	var out []string
	sc := bufio.NewScanner(f)
	sc.Scan() // the header
	for sc.Scan() && len(out) < n {
		prompt, _, _ := strings.Cut(sc.Text(), "\t")
		out = append(out, prompt)
	}
	if len(out) < n {
		t.Fatalf("only %d prompts in the file, want %d", len(out), n)
	}
	return out
}

func mustRender(t testing.TB, p Params) *image.NRGBA {
	t.Helper()
	img, err := Render(p)
	if err != nil {
		t.Fatalf("Render(%q, %q): %v", p.Prompt, p.Style, err)
	}
	return img
}

func pngBytes(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// renderSet renders n different pictures of the given size.
func renderSet(t testing.TB, n, size int) []image.Image {
	t.Helper()
	var out []image.Image
	for i := 0; i < n; i++ {
		out = append(out, mustRender(t, Params{Prompt: "set", Style: Styles()[i%7],
			Width: size, Height: size, Seed: uint32(i)}))
	}
	return out
}

// meanColour is the average colour of img, channels in [0, 1].
func meanColour(img *image.NRGBA) rgb {
	var s [3]float64
	for i := 0; i < len(img.Pix); i += 4 {
		s[0], s[1], s[2] = s[0]+float64(img.Pix[i]), s[1]+float64(img.Pix[i+1]),
			s[2]+float64(img.Pix[i+2])
	}
	n := float64(len(img.Pix)/4) * 255
	return rgb{float32(s[0] / n), float32(s[1] / n), float32(s[2] / n)}
}

// pixelDiff is the mean absolute difference of two same-sized pictures, in [0, 1].
func pixelDiff(a, b *image.NRGBA) float64 {
	var sum int64
	for i := range a.Pix {
		d := int64(a.Pix[i]) - int64(b.Pix[i])
		if d < 0 {
			d = -d
		}
		sum += d
	}
	return float64(sum) / float64(len(a.Pix)/4*3) / 255
}

func TestRenderIsDeterministic(t *testing.T) {
	prof := &Profile{Palette: testPalette, Contrast: .2, Saturation: .3, Texture: .04}
	cases := []Params{
		{Prompt: "a red sunset over the ocean", Style: "modern", Width: 320, Height: 200},
		{Prompt: "a city at night", Style: "futuristic", Width: 200, Height: 333, Seed: 9},
		{Prompt: "bond", Style: "vintage", Width: 64, Height: 64, Seed: 1 << 31},
		{Prompt: "forest", Style: "realistic", Width: 257, Height: 129, Profile: prof},
		{Prompt: "", Style: "abstract", Width: 100, Height: 100},
	}

	for _, p := range cases {
		t.Run(p.Style, func(t *testing.T) {
			first := pngBytes(t, mustRender(t, p))
			again := pngBytes(t, mustRender(t, p))
			if !bytes.Equal(first, again) {
				t.Fatal("two renders of the same parameters differ")
			}

			// The number of workers must not change a byte.
			old := runtime.GOMAXPROCS(1)
			single := pngBytes(t, mustRender(t, p))
			runtime.GOMAXPROCS(old)
			if !bytes.Equal(first, single) {
				t.Fatal("a single-threaded render differs from a parallel one")
			}
		})
	}
}

func TestRenderValidates(t *testing.T) {
	cases := []struct {
		name string
		p    Params
		want string // part of the message; empty when the call must succeed
	}{
		{"smallest", Params{Style: "modern", Width: 64, Height: 64}, ""},
		{"largest side", Params{Style: "modern", Width: 4096, Height: 64}, ""},
		{"style case and spaces", Params{Style: " Minimalist ", Width: 64, Height: 64}, ""},
		{"too narrow", Params{Style: "modern", Width: 63, Height: 64}, "63x64"},
		{"too tall", Params{Style: "modern", Width: 64, Height: 4097}, "64x4097"},
		{"zero", Params{Style: "modern"}, "64 to 4096"},
		{"negative", Params{Style: "modern", Width: -5, Height: 100}, "-5x100"},
		{"unknown style", Params{Style: "cubist", Width: 64, Height: 64}, `"cubist"`},
		{"empty style", Params{Width: 64, Height: 64}, "choose one of modern, classic"},
		{"empty profile", Params{Style: "modern", Width: 64, Height: 64, Profile: &Profile{}},
			"no colours"},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			img, err := Render(tc.p)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if img.Rect.Dx() != tc.p.Width || img.Rect.Dy() != tc.p.Height {
					t.Fatalf("size %v, want %dx%d", img.Rect.Size(), tc.p.Width, tc.p.Height)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestRenderIsOpaque(t *testing.T) {
	img := mustRender(t, Params{Prompt: "glass", Style: "futuristic", Width: 96, Height: 80})
	for i := 3; i < len(img.Pix); i += 4 {
		if img.Pix[i] != 255 {
			t.Fatalf("pixel %d has alpha %d", i/4, img.Pix[i])
		}
	}
}

func TestHundredPromptsGiveDistinctPictures(t *testing.T) {
	prompts := partiPrompts(t, 100)

	seen := map[[32]byte]string{}
	for _, p := range prompts {
		img := mustRender(t, Params{Prompt: p, Style: "modern", Width: 96, Height: 96})
		sum := sha256.Sum256(img.Pix)
		if other, ok := seen[sum]; ok {
			t.Fatalf("%q and %q render the same picture", p, other)
		}
		seen[sum] = p
	}
}

func TestPromptsLookVisiblyDifferent(t *testing.T) {
	prompts := partiPrompts(t, 100)
	var sample []string
	for i := 0; i < len(prompts); i += 4 {
		sample = append(sample, prompts[i])
	}

	imgs := make([]*image.NRGBA, len(sample))
	means := make([]rgb, len(sample))
	for i, p := range sample {
		imgs[i] = mustRender(t, Params{Prompt: p, Style: "abstract", Width: 96, Height: 96})
		means[i] = meanColour(imgs[i])
	}

	for i := range sample {
		for j := i + 1; j < len(sample); j++ {
			if d := math.Sqrt(float64(dist2(means[i], means[j]))) * 255; d < 2 {
				t.Errorf("%q and %q have nearly the same mean colour (%.1f apart)",
					sample[i], sample[j], d)
			}
			if d := pixelDiff(imgs[i], imgs[j]); d < .06 {
				t.Errorf("%q and %q differ by only %.3f per pixel", sample[i], sample[j], d)
			}
		}
	}
}

func TestSeedsChangeThePicture(t *testing.T) {
	for _, style := range Styles() {
		base := mustRender(t, Params{Prompt: "a lighthouse", Style: style, Width: 96, Height: 96})
		for seed := uint32(1); seed <= 5; seed++ {
			img := mustRender(t, Params{Prompt: "a lighthouse", Style: style, Width: 96,
				Height: 96, Seed: seed})
			if d := pixelDiff(base, img); d < .03 {
				t.Errorf("%s: seed %d differs from seed 0 by only %.3f per pixel", style, seed, d)
			}
		}
	}
}

func TestColourWordsSetThePalette(t *testing.T) {
	cases := []struct {
		prompt string
		ok     func(c rgb) bool
		want   string
	}{
		{"red", func(c rgb) bool { return c.r > c.g && c.r > c.b }, "red ahead"},
		{"blue", func(c rgb) bool { return c.b > c.r && c.b > c.g }, "blue ahead"},
		{"green", func(c rgb) bool { return c.g > c.r && c.g > c.b }, "green ahead"},
		{"gold", func(c rgb) bool { return c.r > c.b && c.g > c.b }, "red and green over blue"},
		{"ocean", func(c rgb) bool { return c.b > c.r }, "blue over red"},
		{"forest", func(c rgb) bool { return c.g > c.b }, "green over blue"},
		{"sunset", func(c rgb) bool { return c.r > c.b && c.r > c.g }, "red ahead"},
		{"night", func(c rgb) bool { return c.luma() < .35 }, "a dark picture"},
	}

	for _, tc := range cases {
		for _, style := range []string{"modern", "abstract"} {
			var sum rgb
			for seed := uint32(0); seed < 4; seed++ {
				m := meanColour(mustRender(t, Params{Prompt: tc.prompt, Style: style,
					Width: 96, Height: 96, Seed: seed}))
				sum = rgb{sum.r + m.r/4, sum.g + m.g/4, sum.b + m.b/4}
			}
			if !tc.ok(sum) {
				t.Errorf("%q in %s: mean colour %.2f, want %s", tc.prompt, style, sum, tc.want)
			}
		}
	}
}

func TestExtremeShapesRender(t *testing.T) {
	for _, style := range Styles() {
		for _, size := range []image.Point{{64, 2048}, {2048, 64}, {65, 67}} {
			img := mustRender(t, Params{Prompt: "a tall city by the sea at night", Style: style,
				Width: size.X, Height: size.Y})
			if img.Rect.Size() != size {
				t.Fatalf("%s: %v, want %v", style, img.Rect.Size(), size)
			}
		}
	}
}

func TestStylesList(t *testing.T) {
	got := Styles()
	want := []string{"modern", "classic", "abstract", "realistic", "minimalist", "vintage",
		"futuristic"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("Styles() = %v", got)
	}
	got[0] = "changed"
	if Styles()[0] != "modern" {
		t.Fatal("Styles returns the package's own slice")
	}
	for _, s := range want {
		if _, ok := styles[s]; !ok {
			t.Errorf("style %q has no rendering", s)
		}
	}
}
