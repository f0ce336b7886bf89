// Package generation turns a person's request into images: it checks every field against
// the server's own lists, reserves credits and queues a durable job in one transaction, and
// runs the job through the chosen engine into the gallery.
package generation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/sketchmaker/sketchmaker/internal/fault"
)

// Limits on a request.
const (
	MaxPromptRunes = 2000
	MaxImages      = 4
	MinSide        = 256
	MaxSide        = 2048
)

// Styles are the art styles a prompt can ask for.
var Styles = []string{
	"modern", "classic", "abstract", "realistic", "minimalist", "vintage", "futuristic",
}

// Formats are the output formats.
var Formats = []string{"png", "jpeg", "webp"}

// Size is a named image size.
type Size struct {
	Name          string
	Label         string
	Width, Height int
}

// Sizes are the presets of the original application and the common social formats.
var Sizes = []Size{
	{"square_hd", "Square HD", 1024, 1024},
	{"square", "Square", 512, 512},
	{"portrait_4_3", "Portrait 3:4", 768, 1024},
	{"portrait_16_9", "Portrait 9:16", 576, 1024},
	{"landscape_4_3", "Landscape 4:3", 1024, 768},
	{"landscape_16_9", "Landscape 16:9", 1024, 576},
	{"1080x1080", "Instagram post", 1080, 1080},
	{"1080x1920", "Story / Reel", 1080, 1920},
	{"1080x1350", "Instagram portrait", 1080, 1350},
	{"1200x630", "Facebook / Open Graph", 1200, 630},
	{"1500x500", "X header", 1500, 500},
	{"1200x627", "LinkedIn post", 1200, 627},
	{"1280x640", "GitHub social preview", 1280, 640},
	{"1280x704", "Wide banner", 1280, 704},
	{"512x512", "Small square", 512, 512},
	{"1920x1080", "Full HD", 1920, 1080},
}

// Request is the body of POST /generate/image, as the original's API reference names it.
// Numbers are raw so that a wrong type gets a precise message rather than a decoder error.
type Request struct {
	Prompt         json.RawMessage `json:"prompt"`
	Model          json.RawMessage `json:"model"`
	ImageSize      json.RawMessage `json:"image_size"`
	ArtStyle       json.RawMessage `json:"art_style"`
	NegativePrompt json.RawMessage `json:"negative_prompt"`
	Steps          json.RawMessage `json:"num_inference_steps"`
	Guidance       json.RawMessage `json:"guidance_scale"`
	Seed           json.RawMessage `json:"seed"`
	NumImages      json.RawMessage `json:"num_images"`
	OutputFormat   json.RawMessage `json:"output_format"`
}

// Params is a checked request: every value is one the server itself offers.
type Params struct {
	Prompt         string  `json:"prompt"`
	NegativePrompt string  `json:"negative_prompt,omitempty"`
	Model          string  `json:"model"`
	Style          string  `json:"art_style"`
	SizeName       string  `json:"image_size"`
	Width          int     `json:"width"`
	Height         int     `json:"height"`
	Steps          int     `json:"num_inference_steps"`
	Guidance       float64 `json:"guidance_scale"`
	Seed           uint32  `json:"seed"`
	SeedGiven      bool    `json:"seed_given"`
	NumImages      int     `json:"num_images"`
	Format         string  `json:"output_format"`

	// modelDefaulted is true when the request named no model, so that the administrators'
	// default can take the place of DefaultModel.
	modelDefaulted bool
}

// Check validates r and returns its parameters. randomSeed supplies a seed when none is
// given. Every error names the field and says what would be accepted.
func (r *Request) Check(randomSeed func() uint32) (*Params, error) {
	p := &Params{Model: DefaultModel, Style: "modern", SizeName: "square_hd",
		Width: 1024, Height: 1024, Steps: 28, Guidance: 3.5, NumImages: 1, Format: "png"}

	prompt, err := text(r.Prompt, "prompt")
	if err != nil {
		return nil, err
	}
	if p.Prompt, err = CheckPrompt(prompt, "prompt", true); err != nil {
		return nil, err
	}
	neg, err := text(r.NegativePrompt, "negative_prompt")
	if err != nil {
		return nil, err
	}
	if p.NegativePrompt, err = CheckPrompt(neg, "negative_prompt", false); err != nil {
		return nil, err
	}

	if err := checkChoices(r, p); err != nil {
		return nil, err
	}
	if err := checkNumbers(r, p, randomSeed); err != nil {
		return nil, err
	}
	return p, nil
}

// checkChoices checks the enumerated fields: model, style, size and format.
func checkChoices(r *Request, p *Params) error {
	model, err := text(r.Model, "model")
	if err != nil {
		return err
	}
	if model != "" {
		p.Model = model
	}
	p.modelDefaulted = model == ""
	// A model whose provider could not be checked is no mistake of the request: Submit
	// answers it with a passing error, and logs why.
	if _, err := LookupModel(p.Model); err != nil && !errors.Is(err, ErrUnchecked) {
		return err
	}

	style, err := text(r.ArtStyle, "art_style")
	if err != nil {
		return err
	}
	if style != "" {
		p.Style = strings.ToLower(style)
		if !contains(Styles, p.Style) {
			return fault.Field("art_style", "Unknown art style. Choose one of: "+
				strings.Join(Styles, ", ")+".")
		}
	}

	if err := checkSize(r.ImageSize, p); err != nil {
		return err
	}

	format, err := text(r.OutputFormat, "output_format")
	if err != nil {
		return err
	}
	if format != "" {
		p.Format = strings.ToLower(format)
		if p.Format == "jpg" {
			p.Format = "jpeg"
		}
		if !contains(Formats, p.Format) {
			return fault.Field("output_format", "Unknown output format. Choose png, jpeg or webp.")
		}
	}
	return nil
}

// checkNumbers checks counts, steps, guidance and seed.
func checkNumbers(r *Request, p *Params, randomSeed func() uint32) error {
	var err error
	if p.NumImages, err = integer(r.NumImages, "num_images", 1, MaxImages, p.NumImages); err != nil {
		return err
	}
	if p.Steps, err = integer(r.Steps, "num_inference_steps", 1, 50, p.Steps); err != nil {
		return err
	}
	if p.Guidance, err = decimal(r.Guidance, "guidance_scale", 1, 20, p.Guidance); err != nil {
		return err
	}

	seed, err := integer(r.Seed, "seed", 0, math.MaxUint32, -1)
	if err != nil {
		return err
	}
	if seed >= 0 {
		p.Seed, p.SeedGiven = uint32(seed), true
	} else {
		p.Seed = randomSeed()
	}
	return nil
}

// CheckPrompt normalises a prompt (Unicode NFC, trimmed) and checks its length and
// characters. Line breaks and tabs are allowed; other control characters are not.
func CheckPrompt(s, field string, required bool) (string, error) {
	s = strings.TrimSpace(norm.NFC.String(s))
	if s == "" {
		if required {
			return "", fault.Field(field, "Write a prompt describing the image you want.")
		}
		return "", nil
	}
	if !utf8.ValidString(s) {
		return "", fault.Field(field, "The "+field+" is not valid UTF-8 text.")
	}
	if n := utf8.RuneCountInString(s); n > MaxPromptRunes {
		return "", fault.Field(field, fmt.Sprintf("The %s is %d characters long; the limit "+
			"is %d. Shorten it and try again.", field, n, MaxPromptRunes))
	}
	for _, r := range s {
		if r == '\n' || r == '\t' || r == '\r' {
			continue
		}
		if r == utf8.RuneError {
			// What a decoder leaves for bytes or escapes (a lone surrogate) it could not
			// read: the text is not what the person wrote.
			return "", fault.Field(field, "The "+field+" contains the character �, left "+
				"where text could not be read. Send it as UTF-8, without it.")
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == '\ufeff' ||
			bidiControl(r) {
			return "", fault.Field(field, "The "+field+" contains control characters. "+
				"Remove them and try again.")
		}
	}
	return s, nil
}

// checkSize accepts a preset name, "WIDTHxHEIGHT", or {"width":W,"height":H}, with sides
// from 256 to 2048 in steps of 8. A size that is a preset's takes the preset's name.
func checkSize(raw json.RawMessage, p *Params) error {
	if isNull(raw) {
		return nil
	}
	var wh struct {
		Width  json.RawMessage `json:"width"`
		Height json.RawMessage `json:"height"`
	}
	if raw[0] == '"' {
		var name string
		if err := json.Unmarshal(raw, &name); err != nil {
			return fault.Field("image_size", "image_size must be a size name or an object.")
		}
		for _, s := range Sizes {
			if s.Name == name {
				p.SizeName, p.Width, p.Height = s.Name, s.Width, s.Height
				return nil
			}
		}
		w, h, ok := splitSize(name)
		if !ok {
			return fault.Field("image_size", "Unknown image size. Use a preset such as "+
				"square_hd or landscape_16_9, WIDTHxHEIGHT such as 1024x768, or give "+
				"width and height.")
		}
		wh.Width, wh.Height = json.RawMessage(w), json.RawMessage(h)
	} else {
		dec := json.NewDecoder(bytes.NewReader(raw))
		if raw[0] != '{' || dec.Decode(&wh) != nil {
			return fault.Field("image_size", "image_size must be a size name or an object "+
				"with width and height.")
		}
	}
	return checkSides(wh.Width, wh.Height, p)
}

// splitSize reads "1024x768" (x, X or ×) into its two numbers, as JSON number text.
func splitSize(s string) (w, h string, ok bool) {
	for _, sep := range []string{"x", "X", "×"} {
		if a, b, found := strings.Cut(strings.TrimSpace(s), sep); found {
			a, b = strings.TrimSpace(a), strings.TrimSpace(b)
			if isDigits(a) && isDigits(b) {
				return a, b, true
			}
		}
	}
	return "", "", false
}

func isDigits(s string) bool {
	return s != "" && len(s) <= 6 && strings.Trim(s, "0123456789") == ""
}

// checkSides checks a width and a height given as JSON numbers and sets them on p.
func checkSides(width, height json.RawMessage, p *Params) error {
	w, err := integer(width, "image_size.width", MinSide, MaxSide, -1)
	if err != nil {
		return err
	}
	h, err := integer(height, "image_size.height", MinSide, MaxSide, -1)
	if err != nil {
		return err
	}
	if w < 0 || h < 0 {
		return fault.Field("image_size", "Give both width and height.")
	}
	if w%8 != 0 || h%8 != 0 {
		return fault.Field("image_size", "Width and height must be multiples of 8.")
	}
	p.SizeName, p.Width, p.Height = "custom", w, h
	for _, s := range Sizes {
		if s.Width == w && s.Height == h {
			p.SizeName = s.Name
			break
		}
	}
	return nil
}

// text decodes an optional JSON string field.
func text(raw json.RawMessage, field string) (string, error) {
	if isNull(raw) {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fault.Field(field, field+" must be a string.")
	}
	return s, nil
}

// integer decodes an optional whole number within [min, max], or returns def when absent.
func integer(raw json.RawMessage, field string, min, max, def int) (int, error) {
	if isNull(raw) {
		return def, nil
	}
	rangeErr := fault.Field(field, fmt.Sprintf("%s must be a whole number from %d to %d.",
		field, min, max))
	s := strings.TrimSpace(string(raw))
	if s == "" || s[0] == '"' || s == "true" || s == "false" || s[0] == '{' || s[0] == '[' {
		return 0, rangeErr
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, rangeErr
	}
	if n < int64(min) || n > int64(max) {
		return 0, rangeErr
	}
	return int(n), nil
}

// decimal decodes an optional number within [min, max], or returns def when absent.
func decimal(raw json.RawMessage, field string, min, max, def float64) (float64, error) {
	if isNull(raw) {
		return def, nil
	}
	rangeErr := fault.Field(field, fmt.Sprintf("%s must be a number from %g to %g.",
		field, min, max))
	var f float64
	s := strings.TrimSpace(string(raw))
	if s == "" || s[0] == '"' || json.Unmarshal(raw, &f) != nil {
		return 0, rangeErr
	}
	if math.IsNaN(f) || f < min || f > max {
		return 0, rangeErr
	}
	return f, nil
}

func isNull(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s == "" || s == "null"
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// bidiControl reports the invisible marks that change the direction of text, which can make
// a prompt display differently from what it says. Joiners used by emoji stay allowed.
func bidiControl(r rune) bool {
	return r == '\u061c' || r == '\u200e' || r == '\u200f' ||
		(r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069')
}
