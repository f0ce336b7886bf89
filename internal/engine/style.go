package engine

// styleSpec is how one art style renders: its colours, how many motifs it combines and how
// they are drawn, and the finishing effects applied to every pixel.
type styleSpec struct {
	sat, light [2]float64 // accent saturation and lightness ranges
	warm       float64    // how far hues are pulled towards orange, 0..1
	motifs     [2]int     // how many motifs the picture combines
	look       look
	fx         finish
}

// look is how shapes are drawn.
type look struct {
	flat    bool       // crisp, opaque, few shapes
	neon    bool       // glowing outlines added onto a dark ground
	natural bool       // a landscape: motifs become parts of a scene
	shaded  bool       // discs are lit like spheres
	soft    [2]float64 // edge softness range, in radii
	alpha   [2]float64 // opacity range
	density float64    // multiplies shape counts
}

// finish is the set of per-pixel effects applied after all layers.
type finish struct {
	grain, vignette, sepia, fade, canvas, warm float32
}

// styles maps each art style name to its rendering.
var styles = map[string]styleSpec{
	"modern": {
		sat: [2]float64{.6, .85}, light: [2]float64{.45, .65}, motifs: [2]int{2, 2},
		look: look{soft: [2]float64{0, .04}, alpha: [2]float64{.85, 1}, density: 1},
		fx:   finish{grain: .012},
	},
	"classic": {
		sat: [2]float64{.35, .6}, light: [2]float64{.35, .6}, warm: .6, motifs: [2]int{2, 2},
		look: look{shaded: true, soft: [2]float64{.25, .7}, alpha: [2]float64{.55, .85},
			density: 1},
		fx: finish{grain: .01, vignette: .3, canvas: .035, warm: .08},
	},
	"abstract": {
		sat: [2]float64{.7, .95}, light: [2]float64{.35, .7}, motifs: [2]int{3, 4},
		look: look{soft: [2]float64{0, .3}, alpha: [2]float64{.55, .9}, density: 2.4},
		fx:   finish{grain: .015},
	},
	"realistic": {
		sat: [2]float64{.3, .6}, light: [2]float64{.35, .6}, motifs: [2]int{1, 2},
		look: look{natural: true, shaded: true, soft: [2]float64{.02, .1},
			alpha: [2]float64{.9, 1}, density: 1},
		fx: finish{grain: .008, vignette: .18},
	},
	"minimalist": {
		sat: [2]float64{.35, .6}, light: [2]float64{.4, .6}, motifs: [2]int{1, 1},
		look: look{flat: true, soft: [2]float64{0, 0}, alpha: [2]float64{1, 1}, density: 1},
	},
	"vintage": {
		sat: [2]float64{.4, .7}, light: [2]float64{.35, .65}, motifs: [2]int{2, 2},
		look: look{shaded: true, soft: [2]float64{.05, .3}, alpha: [2]float64{.75, .95},
			density: 1},
		fx: finish{grain: .055, vignette: .55, sepia: .93, fade: .14},
	},
	"futuristic": {
		sat: [2]float64{.9, 1}, light: [2]float64{.55, .62}, motifs: [2]int{1, 2},
		look: look{neon: true, soft: [2]float64{0, .02}, alpha: [2]float64{.8, 1},
			density: 1},
		fx: finish{grain: .01, vignette: .25},
	},
}

// styleOrder is the order in which styles are offered.
var styleOrder = []string{
	"modern", "classic", "abstract", "realistic", "minimalist", "vintage", "futuristic",
}

// Styles returns the names of the art styles Render accepts, in the order a form should
// offer them.
func Styles() []string {
	return append([]string(nil), styleOrder...)
}
