// Package engine is SketchMaker's built-in offline image engine. It is not a diffusion
// model: it paints a deterministic abstract or illustrative picture from the prompt, art
// style, size and seed, with no network and no model files, so that every feature, test and
// benchmark works offline. The same parameters always give the same pixels; different
// prompts or seeds give visibly different palettes and compositions.
//
// The words of the prompt choose the picture: colour words such as "red", "ocean" or
// "sunset" set the palette (other prompts get a palette from their hash), and subject words
// such as "city", "forest" or "waves" favour matching motifs. An optional Profile, learned
// from a person's own photos, recolours the result towards their palette and contrast.
package engine

import (
	"errors"
	"fmt"
	"image"
	"strings"
)

// Size limits of a rendered picture, in pixels per side.
const (
	MinSide = 64
	MaxSide = 4096
)

// DefaultStyle is the style to use when a request names none.
const DefaultStyle = "modern"

// ErrInvalid is wrapped by every error about bad parameters; its messages are safe to show.
var ErrInvalid = errors.New("invalid render parameters")

// Params describes one picture to render.
type Params struct {
	Prompt        string   // the text the picture illustrates; any length, any characters
	Style         string   // one of Styles(), case-insensitive
	Width, Height int      // MinSide to MaxSide pixels each
	Seed          uint32   // varies the composition and palette of the same prompt
	Profile       *Profile // an optional learned style; nil for none
}

// Render paints the picture described by p. The result is identical, byte for byte, for
// identical parameters on the same architecture.
func Render(p Params) (*image.NRGBA, error) {
	p.Style = strings.ToLower(strings.TrimSpace(p.Style))
	spec, err := p.validate()
	if err != nil {
		return nil, err
	}

	s := buildScene(p, spec, analyse(p.Prompt))
	if p.Profile != nil {
		s.fx.prof = newProfileFX(s, p.Profile)
	}
	return s.render(), nil
}

// validate checks the size, style and profile, returning the style's rendering.
func (p Params) validate() (styleSpec, error) {
	if p.Width < MinSide || p.Width > MaxSide || p.Height < MinSide || p.Height > MaxSide {
		return styleSpec{}, fmt.Errorf("%w: the size %dx%d is outside %d to %d pixels per side",
			ErrInvalid, p.Width, p.Height, MinSide, MaxSide)
	}

	spec, ok := styles[p.Style]
	if !ok {
		return styleSpec{}, fmt.Errorf("%w: unknown art style %q; choose one of %s",
			ErrInvalid, truncate(p.Style, 40), strings.Join(styleOrder, ", "))
	}

	if p.Profile != nil && len(p.Profile.Palette) == 0 {
		return styleSpec{}, fmt.Errorf("%w: the style profile has no colours", ErrInvalid)
	}
	return spec, nil
}

// truncate shortens s to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8Start(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func utf8Start(b byte) bool {
	return b&0xc0 != 0x80
}
