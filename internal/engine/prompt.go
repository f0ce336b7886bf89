package engine

import (
	"strings"
	"unicode"
)

// maxWords bounds how much of a prompt shapes the picture; longer prompts still hash in full.
const maxWords = 200

// motif is a kind of composition element a prompt can ask for.
type motif int

const (
	motifOrbs    motif = iota // soft circles and blobs
	motifWaves                // layered waves
	motifStripes              // bands of stripes
	motifMosaic               // a grid of tiles or dots
	motifClouds               // noise clouds
	motifRings                // concentric rings
	motifHills                // ridges and hills
	motifCity                 // a skyline
	motifForest               // a row of pines
	numMotifs
)

// hslSpec is a colour given as hue in degrees, saturation and lightness.
type hslSpec struct{ h, s, l float64 }

// mood is the overall brightness a prompt asks for.
type mood int

const (
	moodNeutral mood = iota
	moodDark
	moodBright
)

// promptInfo is what the engine reads from a prompt.
type promptInfo struct {
	words   []string
	hash    uint64
	colours []hslSpec
	boost   [numMotifs]float64
	mood    mood
}

// analyse normalises a prompt into lowercase words and looks them up in the colour, motif and
// mood tables. Unknown words still count: they change the hash and so the whole picture.
func analyse(prompt string) promptInfo {
	info := promptInfo{words: words(prompt)}
	info.hash = fnv64(strings.Join(info.words, " "))

	for _, w := range info.words {
		info.addWord(w)
	}
	return info
}

// addWord applies one word's colours, motifs and mood.
func (p *promptInfo) addWord(w string) {
	if specs, ok := lookup(colourWords, w); ok && len(p.colours) < 6 {
		p.colours = append(p.colours, specs...)
	}
	if ms, ok := lookup(motifWords, w); ok {
		for _, m := range ms {
			p.boost[m] += 1.5
		}
	}
	if m, ok := lookup(moodWords, w); ok {
		p.mood = m
	}
}

// lookup finds w in table, also trying it without a plural "s" or "es".
func lookup[V any](table map[string]V, w string) (V, bool) {
	if v, ok := table[w]; ok {
		return v, true
	}
	if len(w) > 3 && strings.HasSuffix(w, "s") {
		if v, ok := table[w[:len(w)-1]]; ok {
			return v, true
		}
	}
	if len(w) > 4 && strings.HasSuffix(w, "es") {
		if v, ok := table[w[:len(w)-2]]; ok {
			return v, true
		}
	}
	var zero V
	return zero, false
}

// words splits a prompt into lowercase words of letters and digits, dropping filler words.
func words(prompt string) []string {
	fields := strings.FieldsFunc(strings.ToLower(prompt), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})

	out := fields[:0]
	for _, f := range fields {
		if !stopWords[f] {
			out = append(out, f)
		}
		if len(out) == maxWords {
			break
		}
	}
	return out
}

var stopWords = map[string]bool{
	"a": true, "an": true, "the": true, "of": true, "and": true, "with": true, "in": true,
	"on": true, "at": true, "to": true, "is": true, "are": true, "it": true, "its": true,
	"by": true, "for": true, "from": true, "as": true, "that": true, "this": true,
}

var colourWords = map[string][]hslSpec{
	"red": {{0, .75, .5}}, "crimson": {{348, .8, .42}}, "scarlet": {{5, .85, .5}},
	"ruby": {{340, .75, .4}}, "orange": {{28, .9, .55}}, "amber": {{38, .95, .5}},
	"yellow": {{50, .9, .58}}, "lemon": {{55, .9, .62}}, "gold": {{45, .8, .52}},
	"golden": {{43, .8, .52}}, "green": {{120, .5, .42}}, "lime": {{90, .7, .5}},
	"emerald": {{150, .6, .38}}, "mint": {{155, .45, .72}}, "teal": {{180, .6, .36}},
	"cyan": {{185, .75, .5}}, "turquoise": {{175, .65, .5}}, "blue": {{215, .75, .5}},
	"azure": {{205, .8, .6}}, "navy": {{225, .6, .24}}, "sapphire": {{220, .75, .4}},
	"indigo": {{250, .55, .36}}, "purple": {{275, .55, .45}}, "violet": {{268, .6, .55}},
	"lavender": {{262, .5, .76}}, "magenta": {{305, .75, .55}}, "pink": {{335, .7, .72}},
	"rose": {{345, .6, .62}}, "coral": {{12, .8, .65}}, "peach": {{22, .85, .76}},
	"brown": {{25, .45, .32}}, "chocolate": {{22, .5, .25}}, "coffee": {{28, .4, .3}},
	"beige": {{38, .4, .8}}, "black": {{230, .15, .08}}, "white": {{40, .2, .95}},
	"gray": {{220, .08, .55}}, "grey": {{220, .08, .55}}, "silver": {{210, .12, .75}},
	"cherry": {{350, .8, .45}}, "wine": {{345, .6, .3}}, "tomato": {{8, .8, .52}},
	"banana": {{52, .85, .65}}, "grass": {{100, .55, .42}}, "moss": {{85, .35, .35}},
	"sunset":  {{25, .9, .55}, {340, .7, .55}, {275, .5, .35}},
	"sunrise": {{42, .9, .6}, {15, .8, .62}, {200, .5, .72}},
	"forest":  {{130, .45, .28}, {95, .4, .45}, {35, .35, .3}},
	"jungle":  {{140, .6, .3}, {80, .55, .4}, {50, .7, .5}},
	"ocean":   {{200, .7, .35}, {185, .6, .5}, {220, .6, .2}},
	"sea":     {{195, .65, .4}, {180, .5, .55}, {215, .55, .25}},
	"sky":     {{205, .7, .7}, {210, .5, .85}},
	"night":   {{235, .5, .12}, {250, .4, .26}, {48, .8, .7}},
	"fire":    {{10, .9, .5}, {35, .95, .55}, {50, 1, .6}},
	"ice":     {{195, .45, .85}, {210, .35, .68}, {0, 0, .97}},
	"snow":    {{205, .25, .9}, {215, .2, .72}, {0, 0, .98}},
	"winter":  {{205, .35, .85}, {220, .3, .6}, {0, 0, .96}},
	"desert":  {{38, .55, .65}, {25, .5, .5}, {200, .45, .72}},
	"sand":    {{40, .5, .72}, {32, .45, .58}},
	"autumn":  {{25, .75, .45}, {10, .6, .38}, {45, .7, .5}},
	"spring":  {{100, .5, .6}, {330, .5, .8}, {55, .7, .7}},
	"summer":  {{48, .9, .6}, {195, .7, .55}, {140, .5, .45}},
	"space":   {{255, .6, .1}, {285, .55, .35}, {200, .8, .6}},
	"galaxy":  {{265, .6, .14}, {300, .6, .45}, {190, .8, .62}},
	"neon":    {{300, 1, .6}, {180, 1, .5}},
	"lava":    {{8, .95, .45}, {30, 1, .55}, {0, .2, .1}},
	"candy":   {{330, .8, .75}, {190, .7, .75}, {55, .9, .75}},
}

var motifWords = map[string][]motif{
	"ocean": {motifWaves}, "sea": {motifWaves}, "water": {motifWaves}, "wave": {motifWaves},
	"river": {motifWaves}, "lake": {motifWaves}, "beach": {motifWaves, motifOrbs},
	"surf": {motifWaves}, "music": {motifWaves, motifRings}, "wind": {motifWaves},
	"sun": {motifOrbs}, "moon": {motifOrbs}, "planet": {motifOrbs, motifRings},
	"ball": {motifOrbs}, "bubble": {motifOrbs}, "balloon": {motifOrbs}, "apple": {motifOrbs},
	"fruit": {motifOrbs}, "flower": {motifOrbs}, "star": {motifOrbs}, "galaxy": {motifOrbs},
	"space": {motifOrbs}, "circle": {motifOrbs}, "dot": {motifMosaic}, "light": {motifOrbs},
	"city": {motifCity}, "building": {motifCity}, "skyscraper": {motifCity},
	"street": {motifCity}, "tower": {motifCity}, "skyline": {motifCity}, "house": {motifCity},
	"tile": {motifMosaic}, "wall": {motifMosaic}, "window": {motifMosaic},
	"robot": {motifMosaic}, "computer": {motifMosaic}, "chess": {motifMosaic},
	"pixel": {motifMosaic}, "grid": {motifMosaic}, "book": {motifMosaic},
	"kitchen": {motifMosaic}, "room": {motifMosaic},
	"forest": {motifForest}, "tree": {motifForest}, "pine": {motifForest},
	"wood": {motifForest, motifStripes}, "jungle": {motifForest}, "grass": {motifStripes},
	"rain": {motifStripes, motifClouds}, "road": {motifStripes}, "bridge": {motifStripes},
	"zebra": {motifStripes}, "tiger": {motifStripes}, "fence": {motifStripes},
	"line": {motifStripes}, "bamboo": {motifStripes}, "stripe": {motifStripes},
	"sky": {motifClouds}, "cloud": {motifClouds}, "fog": {motifClouds},
	"smoke": {motifClouds}, "mist": {motifClouds}, "storm": {motifClouds},
	"snow": {motifClouds}, "dream": {motifClouds}, "steam": {motifClouds},
	"eye": {motifRings}, "clock": {motifRings}, "wheel": {motifRings}, "target": {motifRings},
	"tunnel": {motifRings}, "portal": {motifRings}, "time": {motifRings},
	"mountain": {motifHills}, "hill": {motifHills}, "valley": {motifHills},
	"landscape": {motifHills}, "desert": {motifHills}, "field": {motifHills},
	"canyon": {motifHills}, "island": {motifHills, motifWaves},
}

var moodWords = map[string]mood{
	"night": moodDark, "dark": moodDark, "midnight": moodDark, "space": moodDark,
	"galaxy": moodDark, "shadow": moodDark, "gothic": moodDark, "black": moodDark,
	"noir": moodDark, "day": moodBright, "sunny": moodBright, "bright": moodBright,
	"white": moodBright, "snow": moodBright, "light": moodBright, "morning": moodBright,
	"pastel": moodBright,
}
