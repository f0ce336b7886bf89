package enhance

// Choice is one option of a field: the value a client sends, the label a person reads,
// and the phrases the offline enhancer may write for it (one is picked per topic).
type Choice struct {
	Value   string
	Label   string
	Phrases []string
}

// Field is one of the original's enhancement fields with its curated choices.
type Field struct {
	Name    string // the JSON field, such as "art_style"
	Label   string
	Choices []Choice
}

// fields is the curated vocabulary, written for SketchMaker. Its order is the order in
// which the offline enhancer writes the phrases.
var fields = []Field{
	{"subject_focus", "Subject focus", []Choice{
		{"close_up", "Close-up", []string{"an intimate close-up of", "a tightly framed close-up of"}},
		{"portrait", "Portrait", []string{"a portrait of", "a character portrait of"}},
		{"full_body", "Full figure", []string{"a full-length view of", "a head-to-toe depiction of"}},
		{"wide_shot", "Wide shot", []string{"a sweeping wide shot of", "an expansive view of"}},
		{"macro", "Macro", []string{"an extreme macro study of", "a magnified macro view of"}},
		{"aerial", "Aerial view", []string{"a bird's-eye view of", "an aerial view of"}},
		{"action", "In motion", []string{"a dynamic action scene of", "a moment of motion showing"}},
	}},
	{"art_style", "Art style", []Choice{
		{"photorealistic", "Photorealistic", []string{"photorealistic, shot on a full-frame camera",
			"true-to-life photography with natural textures"}},
		{"digital_art", "Digital art", []string{"polished digital painting",
			"clean digital illustration"}},
		{"oil_painting", "Oil painting", []string{"oil on canvas with visible brushwork",
			"classical oil painting with rich impasto"}},
		{"watercolor", "Watercolour", []string{"loose watercolour washes on textured paper",
			"delicate watercolour with soft bleeding edges"}},
		{"pencil_sketch", "Pencil sketch", []string{"graphite pencil sketch with cross-hatching",
			"fine pencil drawing with careful shading"}},
		{"anime", "Anime", []string{"anime key visual with crisp line art",
			"cel-shaded anime illustration"}},
		{"3d_render", "3D render", []string{"detailed 3D render with global illumination",
			"physically based 3D rendering"}},
		{"pixel_art", "Pixel art", []string{"crisp 16-bit pixel art", "retro pixel art sprite work"}},
		{"minimalist", "Minimalist", []string{"minimalist composition with generous negative space",
			"clean minimalist design"}},
		{"surreal", "Surreal", []string{"dreamlike surrealism", "surreal, impossible architecture"}},
		{"vintage_poster", "Vintage poster", []string{"mid-century travel poster style",
			"vintage lithograph poster"}},
	}},
	{"color_scheme", "Colour scheme", []Choice{
		{"vibrant", "Vibrant", []string{"vibrant saturated colours", "bold, punchy colour palette"}},
		{"pastel", "Pastel", []string{"soft pastel palette", "gentle pastel tones"}},
		{"monochrome", "Monochrome", []string{"monochrome palette", "black and white tonality"}},
		{"warm", "Warm", []string{"warm amber and terracotta tones", "warm, sunlit palette"}},
		{"cool", "Cool", []string{"cool blues and teals", "crisp cool-toned palette"}},
		{"earthy", "Earthy", []string{"earthy ochres and olive greens", "muted natural earth tones"}},
		{"neon", "Neon", []string{"electric neon magenta and cyan", "glowing neon palette"}},
		{"complementary", "Complementary", []string{"striking complementary colours",
			"balanced complementary contrast"}},
	}},
	{"lighting_mood", "Lighting", []Choice{
		{"soft", "Soft", []string{"soft diffused light", "gentle, even lighting"}},
		{"dramatic", "Dramatic", []string{"dramatic chiaroscuro lighting",
			"high-contrast dramatic light"}},
		{"golden_hour", "Golden hour", []string{"warm golden-hour sunlight",
			"low golden evening sun"}},
		{"blue_hour", "Blue hour", []string{"calm blue-hour twilight", "cool dusk light"}},
		{"studio", "Studio", []string{"three-point studio lighting", "clean softbox studio light"}},
		{"moody", "Moody", []string{"moody low-key lighting", "dim, atmospheric light"}},
		{"backlit", "Backlit", []string{"rim-lit silhouette against the light",
			"glowing backlight"}},
		{"night", "Night", []string{"night scene lit by street lamps", "moonlit night"}},
	}},
	{"background_style", "Background", []Choice{
		{"detailed", "Detailed", []string{"richly detailed background",
			"intricate environment in the background"}},
		{"minimal", "Minimal", []string{"plain uncluttered background", "simple seamless backdrop"}},
		{"blurred", "Blurred", []string{"softly blurred background", "shallow depth of field"}},
		{"gradient", "Gradient", []string{"smooth gradient backdrop", "subtle colour gradient behind"}},
		{"nature", "Nature", []string{"lush natural surroundings", "a landscape of hills and trees"}},
		{"urban", "Urban", []string{"a bustling city street behind", "urban architecture backdrop"}},
		{"space", "Outer space", []string{"a starfield and distant nebulae",
			"deep space in the background"}},
		{"interior", "Interior", []string{"a cosy interior setting", "an elegant room interior"}},
	}},
	{"effects_filters", "Effects", []Choice{
		{"none", "None", nil},
		{"film_grain", "Film grain", []string{"subtle 35mm film grain", "analogue film texture"}},
		{"bokeh", "Bokeh", []string{"creamy bokeh highlights", "circular bokeh lights"}},
		{"hdr", "HDR", []string{"high dynamic range", "HDR tonal detail"}},
		{"glow", "Glow", []string{"soft ethereal glow", "luminous bloom"}},
		{"vignette", "Vignette", []string{"gentle vignette", "darkened vignette edges"}},
		{"long_exposure", "Long exposure", []string{"long-exposure light trails",
			"silky long-exposure motion"}},
		{"tilt_shift", "Tilt-shift", []string{"tilt-shift miniature effect",
			"selective tilt-shift focus"}},
	}},
}

// closings end every offline prompt; one is picked per topic.
var closings = []string{
	"balanced composition, sharp focus, high detail",
	"carefully composed, crisp detail, coherent perspective",
	"thoughtful composition, fine detail, clean edges",
}

// Fields returns the enhancement fields and their choices, for forms and documentation.
func Fields() []Field { return fields }
