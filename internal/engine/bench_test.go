package engine

import (
	"image/png"
	"io"
	"testing"
)

// benchPrompt is a typical prompt with several motifs and colour words.
const benchPrompt = "a red sunset over the ocean with a city skyline and clouds"

// BenchmarkRender1024 measures a 1024x1024 render in each style.
func BenchmarkRender1024(b *testing.B) {
	for _, style := range Styles() {
		b.Run(style, func(b *testing.B) {
			p := Params{Prompt: benchPrompt, Style: style, Width: 1024, Height: 1024, Seed: 7}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Render(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPNGEncode1024 measures Go's PNG encoder on the same picture, the yardstick for
// BenchmarkRender1024: rendering should cost less than twice the encoding.
func BenchmarkPNGEncode1024(b *testing.B) {
	for _, style := range Styles() {
		b.Run(style, func(b *testing.B) {
			p := Params{Prompt: benchPrompt, Style: style, Width: 1024, Height: 1024, Seed: 7}
			img, err := Render(p)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if err := png.Encode(io.Discard, img); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRenderProfile1024 measures a render that applies a learned profile.
func BenchmarkRenderProfile1024(b *testing.B) {
	prof := &Profile{Palette: testPalette, Contrast: .25, Saturation: .3, Texture: .05}
	p := Params{Prompt: benchPrompt, Style: "modern", Width: 1024, Height: 1024, Profile: prof}
	for b.Loop() {
		if _, err := Render(p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLearnProfile measures learning a profile from ten 1024x1024 pictures.
func BenchmarkLearnProfile(b *testing.B) {
	imgs := renderSet(b, 10, 1024)
	for b.Loop() {
		if _, err := LearnProfile(imgs); err != nil {
			b.Fatal(err)
		}
	}
}
