package provider

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Model is an image model and the arguments its provider documents for it. The catalog
// of models is data (catalog.json, extended or overridden by administrators in the
// database), not code.
type Model struct {
	ID       string `json:"id"`
	Provider string `json:"provider"`
	Name     string `json:"name"`
	// Cost is the price of one image in credits, such as "1.5"; empty means the
	// instance's image_generation price.
	Cost string `json:"cost,omitempty"`
	// Endpoint is the provider's name for the model: the FAL application path, the
	// OpenAI or Gemini model name. Empty means ID.
	Endpoint string `json:"endpoint,omitempty"`
	Spec
}

// Spec is a model's typed argument list: what it accepts and within which range. Every
// value sent to a provider is clamped to it.
type Spec struct {
	// Size is how the model takes a size: "image_size" (a preset name or width and
	// height), "aspect_ratio", "pixels" (width and height fields), "openai" (a
	// "WxH" string from Sizes) or "none".
	Size         string   `json:"size"`
	Presets      []string `json:"presets,omitempty"`
	CustomSize   *Range   `json:"custom_size,omitempty"` // side range for width and height
	AspectRatios []string `json:"aspect_ratios,omitempty"`
	Sizes        []string `json:"sizes,omitempty"`

	Steps     *Range `json:"steps,omitempty"`
	Guidance  *Range `json:"guidance,omitempty"`
	MaxImages int    `json:"max_images,omitempty"` // 0 or 1: one image per request
	// ImagesParam names the count argument ("num_images", "n", "batch_size"); empty
	// means the model takes none and makes one image.
	ImagesParam string   `json:"images_param,omitempty"`
	Formats     []string `json:"formats,omitempty"` // output_format values it accepts
	Seed        bool     `json:"seed,omitempty"`
	Negative    bool     `json:"negative_prompt,omitempty"`

	Styles       []string          `json:"styles,omitempty"` // its own style values
	StyleMap     map[string]string `json:"style_map,omitempty"`
	DefaultStyle string            `json:"default_style,omitempty"`
	Loras        *LoraSpec         `json:"loras,omitempty"`

	// Safety holds the safety switches the server sets; they override everything else.
	Safety map[string]any `json:"safety,omitempty"`
	// Fixed holds other arguments the server always sends.
	Fixed map[string]any `json:"fixed,omitempty"`
	// ExpectedSeconds is how long a typical request takes, for progress estimates.
	ExpectedSeconds int `json:"expected_seconds,omitempty"`
}

// Range is a documented numeric range with its default.
type Range struct {
	Min     float64 `json:"min"`
	Max     float64 `json:"max"`
	Default float64 `json:"default,omitempty"`
}

// Clamp returns v within the range.
func (r Range) Clamp(v float64) float64 {
	if math.IsNaN(v) {
		return r.Default
	}
	return math.Min(math.Max(v, r.Min), r.Max)
}

// LoraSpec bounds the trained styles a model takes.
type LoraSpec struct {
	Max      int     `json:"max"`
	MaxScale float64 `json:"max_scale"`
}

// endpoint is the provider's name for the model.
func (m Model) endpoint() string {
	if m.Endpoint != "" {
		return m.Endpoint
	}
	return m.ID
}

// Images returns how many images the model makes for a request of n.
func (m Model) Images(n int) int {
	return min(max(n, 1), max(m.MaxImages, 1))
}

//go:embed catalog.json
var catalogJSON []byte

// Catalog returns the built-in list of provider models.
func Catalog() []Model {
	models, err := ParseModels(catalogJSON)
	if err != nil {
		panic(fmt.Sprintf("embedded catalog.json: %v", err)) // a build defect, caught by tests
	}
	return models
}

// knownProviders are the providers a model row may name.
var knownProviders = []string{FAL, OpenAI, Gemini, A1111, ComfyUI, OpenAICompatible}

// ParseModels reads a JSON array of models and checks each, so a mistake in the data is
// reported with the model it is in.
func ParseModels(data []byte) ([]Model, error) {
	var models []Model
	if err := json.Unmarshal(data, &models); err != nil {
		return nil, fmt.Errorf("model list is not valid JSON: %w", err)
	}
	seen := map[string]bool{}
	for i := range models {
		if err := models[i].Check(); err != nil {
			return nil, err
		}
		if seen[models[i].ID] {
			return nil, fmt.Errorf("model %s is listed twice", models[i].ID)
		}
		seen[models[i].ID] = true
	}
	return models, nil
}

// Check reports what is wrong with a model definition, naming the model.
func (m *Model) Check() error {
	bad := func(what string) error { return fmt.Errorf("model %q: %s", m.ID, what) }
	switch {
	case m.ID == "" || len(m.ID) > 120 || strings.ContainsAny(m.ID, " \t\n?#"):
		return bad("needs an id without spaces, ? or #, at most 120 characters")
	case !slices.Contains(knownProviders, m.Provider):
		return bad("provider must be one of " + strings.Join(knownProviders, ", "))
	case m.Name == "":
		return bad("needs a name")
	case strings.Contains(m.endpoint(), ".."):
		return bad("endpoint must not contain ..")
	}
	if m.Cost != "" {
		if f, err := strconv.ParseFloat(m.Cost, 64); err != nil || f < 0.1 || f > 1000 {
			return bad("cost must be a number of credits from 0.1 to 1000")
		}
	}
	switch m.Size {
	case "image_size", "pixels":
	case "aspect_ratio":
		if len(m.AspectRatios) == 0 {
			return bad("aspect_ratio models need aspect_ratios")
		}
		for _, ar := range m.AspectRatios {
			if _, err := parseRatio(ar); err != nil {
				return bad(err.Error())
			}
		}
	case "openai":
		if len(m.Sizes) == 0 {
			return bad("openai models need sizes")
		}
		for _, s := range m.Sizes {
			if _, _, err := parseWxH(s); err != nil {
				return bad(err.Error())
			}
		}
	case "none":
	default:
		return bad("size must be image_size, aspect_ratio, pixels, openai or none")
	}
	if m.Loras != nil && (m.Loras.Max < 0 || m.Loras.Max > 20 || m.Loras.MaxScale < 0) {
		return bad("loras need a max from 0 to 20 and a max_scale of at least 0")
	}
	if m.MaxImages < 0 || m.MaxImages > 10 {
		return bad("max_images must be from 0 to 10")
	}
	for _, r := range []*Range{m.CustomSize, m.Steps, m.Guidance} {
		if r != nil && (r.Min > r.Max || r.Min < 0) {
			return bad("a range has min above max or below zero")
		}
	}
	return nil
}

// falPresets are FAL's named sizes.
var falPresets = map[string][2]int{
	"square_hd": {1024, 1024}, "square": {512, 512}, "portrait_4_3": {768, 1024},
	"portrait_16_9": {576, 1024}, "landscape_4_3": {1024, 768}, "landscape_16_9": {1024, 576},
}

// Args returns the arguments for req under the model's spec: every value clamped to the
// documented range, only arguments the model takes, fixed values added and the safety
// switches set last, so nothing from the request can change them.
func (m Model) Args(req Request) map[string]any {
	a := map[string]any{"prompt": m.prompt(req)}
	m.sizeArgs(a, req)
	if m.Steps != nil {
		a["num_inference_steps"] = int(m.Steps.Clamp(float64(req.Steps)))
	}
	if m.Guidance != nil {
		a["guidance_scale"] = round2(m.Guidance.Clamp(req.Guidance))
	}
	if m.ImagesParam != "" {
		a[m.ImagesParam] = m.Images(req.NumImages)
	}
	if m.Seed {
		a["seed"] = int64(req.Seed)
	}
	if m.Negative && req.NegativePrompt != "" {
		a["negative_prompt"] = req.NegativePrompt
	}
	if len(m.Formats) > 0 {
		a["output_format"] = m.format(req.Format)
	}
	if s := m.style(req.Style); s != "" {
		a["style"] = s
	}
	if loras := m.loras(req.Loras); len(loras) > 0 {
		a["loras"] = loras
	}
	for k, v := range m.Fixed {
		a[k] = v
	}
	for k, v := range m.Safety {
		a[k] = v
	}
	return a
}

// prompt adds the art style to the prompt of models that have no style argument.
func (m Model) prompt(req Request) string {
	if req.Style == "" || len(m.Styles) > 0 {
		return req.Prompt
	}
	return req.Prompt + ", " + req.Style + " style"
}

// sizeArgs sets the size in the form the model takes.
func (m Model) sizeArgs(a map[string]any, req Request) {
	switch m.Size {
	case "image_size":
		if slices.Contains(m.presets(), req.SizeName) {
			a["image_size"] = req.SizeName
			return
		}
		if m.CustomSize != nil {
			w, h := fitSize(req.Width, req.Height, *m.CustomSize)
			a["image_size"] = map[string]int{"width": w, "height": h}
			return
		}
		a["image_size"] = nearestPreset(m.presets(), req.Width, req.Height)
	case "aspect_ratio":
		a["aspect_ratio"] = nearestRatio(m.AspectRatios, req.Width, req.Height)
	case "pixels":
		r := Range{Min: 256, Max: 2048}
		if m.CustomSize != nil {
			r = *m.CustomSize
		}
		a["width"], a["height"] = fitSize(req.Width, req.Height, r)
	case "openai":
		a["size"] = nearestWxH(m.Sizes, req.Width, req.Height)
	}
}

func (m Model) presets() []string {
	if len(m.Presets) > 0 {
		return m.Presets
	}
	return []string{"square_hd", "square", "portrait_4_3", "portrait_16_9", "landscape_4_3",
		"landscape_16_9"}
}

// format picks the output format: the one asked for when the model offers it, otherwise
// PNG (lossless, re-encoded afterwards), otherwise the model's first.
func (m Model) format(want string) string {
	if want == "jpeg" && slices.Contains(m.Formats, "jpg") && !slices.Contains(m.Formats,
		"jpeg") {
		return "jpg"
	}
	for _, f := range []string{want, "png"} {
		if slices.Contains(m.Formats, f) {
			return f
		}
	}
	return m.Formats[0]
}

// style maps SketchMaker's art style to the model's own style value.
func (m Model) style(artStyle string) string {
	if len(m.Styles) == 0 {
		return ""
	}
	if s, ok := m.StyleMap[artStyle]; ok && slices.Contains(m.Styles, s) {
		return s
	}
	if m.DefaultStyle != "" {
		return m.DefaultStyle
	}
	return m.Styles[0]
}

// loras returns the trained styles within the model's bounds.
func (m Model) loras(in []Lora) []map[string]any {
	if m.Loras == nil || len(in) == 0 {
		return nil
	}
	var out []map[string]any
	for _, l := range in[:min(len(in), m.Loras.Max)] {
		scale := Range{Min: 0, Max: m.Loras.MaxScale, Default: 1}.Clamp(l.Scale)
		out = append(out, map[string]any{"path": l.URL, "scale": round2(scale)})
	}
	return out
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// fitSize scales w×h, keeping its aspect ratio as far as the range allows, so that both
// sides lie within r, and rounds them to multiples of 8.
func fitSize(w, h int, r Range) (int, int) {
	if w <= 0 || h <= 0 {
		w, h = 1024, 1024
	}
	fw, fh := float64(w), float64(h)
	if big := math.Max(fw, fh); big > r.Max {
		fw, fh = fw*r.Max/big, fh*r.Max/big
	}
	if small := math.Min(fw, fh); small < r.Min {
		fw, fh = fw*r.Min/small, fh*r.Min/small
	}
	return snap(fw, r), snap(fh, r)
}

// snap rounds a side to a multiple of 8 inside r.
func snap(f float64, r Range) int {
	n := int(math.Round(f/8)) * 8
	lo, hi := int(math.Ceil(r.Min/8))*8, int(math.Floor(r.Max/8))*8
	return min(max(n, lo), max(hi, lo))
}

// nearestPreset returns the preset whose aspect ratio is closest to w×h.
func nearestPreset(presets []string, w, h int) string {
	best, bestD := presets[0], math.Inf(1)
	for _, p := range presets {
		s, ok := falPresets[p]
		if !ok {
			continue
		}
		if d := ratioDistance(s[0], s[1], w, h); d < bestD {
			best, bestD = p, d
		}
	}
	return best
}

// nearestRatio returns the aspect ratio "W:H" closest to w×h.
func nearestRatio(ratios []string, w, h int) string {
	best, bestD := ratios[0], math.Inf(1)
	for _, r := range ratios {
		wh, err := parseRatio(r)
		if err != nil {
			continue
		}
		if d := ratioDistance(wh[0], wh[1], w, h); d < bestD {
			best, bestD = r, d
		}
	}
	return best
}

// nearestWxH returns the size "WxH" closest in aspect ratio, then in area, to w×h.
func nearestWxH(sizes []string, w, h int) string {
	best, bestD := sizes[0], math.Inf(1)
	for _, s := range sizes {
		sw, sh, err := parseWxH(s)
		if err != nil {
			continue
		}
		d := ratioDistance(sw, sh, w, h)*1000 +
			math.Abs(math.Log(float64(sw*sh)/float64(max(w*h, 1))))
		if d < bestD {
			best, bestD = s, d
		}
	}
	return best
}

func ratioDistance(aw, ah, bw, bh int) float64 {
	if ah <= 0 || bh <= 0 || aw <= 0 || bw <= 0 {
		return math.Inf(1)
	}
	return math.Abs(math.Log(float64(aw)/float64(ah)) - math.Log(float64(bw)/float64(bh)))
}

func parseRatio(s string) ([2]int, error) {
	a, b, ok := strings.Cut(s, ":")
	w, err1 := strconv.Atoi(a)
	h, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || w <= 0 || h <= 0 {
		return [2]int{}, fmt.Errorf("aspect ratio %q is not W:H", s)
	}
	return [2]int{w, h}, nil
}

func parseWxH(s string) (int, int, error) {
	a, b, ok := strings.Cut(s, "x")
	w, err1 := strconv.Atoi(a)
	h, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || w <= 0 || h <= 0 {
		return 0, 0, fmt.Errorf("size %q is not WIDTHxHEIGHT", s)
	}
	return w, h, nil
}
