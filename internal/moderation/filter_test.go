package moderation

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestCheckCatchesDisguises(t *testing.T) {
	f := NewFilter([]string{"nude", "porn", "pornography", "sex", "ass", "sexual assault",
		"self harm", "beheading", "xxx", "裸体"})

	tests := []struct {
		prompt, term string
	}{
		// Case.
		{"a NUDE figure", "nude"},
		{"a NuDe figure", "nude"},
		// Spacing tricks.
		{"a n u d e figure", "nude"},
		{"a n.u.d.e figure", "nude"},
		{"a n-u-d-e figure", "nude"},
		{"a n_u_d_e figure", "nude"},
		{"a n  u \t d \n e figure", "nude"},
		{"a n*u*d*e figure", "nude"},
		{"N . U . D . E", "nude"},
		{"nu.de beach", "nude"},
		{"porno-graphy magazine", "pornography"},
		{"s e x", "sex"},
		{"x x x", "xxx"},
		// Zero-width and invisible characters.
		{"nu\u200bde", "nude"},
		{"n\u200cu\u200dd\u2060e", "nude"},
		{"\ufeffnude\ufeff", "nude"},
		{"nu\u00adde", "nude"},
		{"nu\u3164de", "nude"},
		{"nu\u202ede", "nude"},
		{"n\u0301u\u0308d\u0327e\u0300", "nude"},
		{"n̷̛u̸͝d̴̈e̵͊", "nude"},
		// Look-alikes.
		{"nudе", "nude"},
		{"ѕех", "sex"},
		{"рorn", "porn"},
		{"ΡΟRΝ", "porn"},
		{"ＮＵＤＥ", "nude"},
		{"𝐧𝐮𝐝𝐞", "nude"},
		{"𝓷𝓾𝓭𝓮", "nude"},
		{"ⓝⓤⓓⓔ", "nude"},
		{"ɴᴜᴅᴇ", "nude"},
		{"🇳🇺🇩🇪", "nude"},
		{"ñúdé", "nude"},
		// Leet.
		{"s3x", "sex"},
		{"5ex", "sex"},
		{"$ex", "sex"},
		{"$ex!", "sex"},
		{"p0rn", "porn"},
		{"nud3", "nude"},
		{"a$$", "ass"},
		{"@ss", "ass"},
		{"p0rn0gr@phy", "pornography"},
		{"nude!", "nude"},
		{"!nude!", "nude"},
		{"NUDES!!!", "nude"},
		// Forms of a term.
		{"nudes", "nude"},
		{"asses", "ass"},
		{"nuuuuude", "nude"},
		{"n" + strings.Repeat("u", 80) + "de", "nude"}, // stretched far, within maxStretch
		{strings.Repeat("a.", 300) + "nude", "nude"},   // after a long run of one letter
		{"pooorn", "porn"},
		{"xxxx", "xxx"},
		// Several words.
		{"sexual assault", "sexual assault"},
		{"SEXUAL_ASSAULT", "sexual assault"},
		{"sexual-assault", "sexual assault"},
		{"sexualassault", "sexual assault"},
		{"sexual   assaults", "sexual assault"},
		{"self-harm", "self harm"},
		{"selfharm", "self harm"},
		{"the beheading of a saint", "beheading"},
		// In context and combined.
		{"a photo of a beautiful n.u.d.e woman on a beach, 4k", "nude"},
		{"Portrait, ｎ\u200bｕ\u200bｄ\u200bе, oil painting", "nude"},
		{"a 𝓹𝓸𝓻𝓷 star", "porn"},
		// Scripts without spaces.
		{"一个裸体的人", "裸体"},
	}
	for _, tt := range tests {
		t.Run(tt.prompt, func(t *testing.T) {
			m, ok := f.Check(tt.prompt)
			if !ok || m.Term != tt.term {
				t.Errorf("Check(%q) = %+v, %v; want %q", tt.prompt, m, ok, tt.term)
			}
		})
	}
}

func TestCheckRespectsWordBoundaries(t *testing.T) {
	f := NewFilter([]string{"ass", "rape", "sex", "gore", "nude", "beheading", "porn",
		"cumshot", "xxx", "sexual assault", "loli"})

	prompts := []string{
		"a class of students",
		"an assistant holding a clipboard",
		"a bass guitar on a stage",
		"a glass of water, massive passage, brass band",
		"harassment awareness poster",
		"amass, sassy cassette, assess the situation",
		"grapes on a table next to a field of rapeseed",
		"the Sussex coast and Essex at dawn",
		"a sextant and a sextet",
		"a crude drawing by a prude",
		"a ship that seems to be heading north",
		"go re-enter the building",
		"it's ex-wife",
		"the cat's exit",
		"a glass sculpture",
		"x x-ray",
		"a sexy red car",
		"a bowl of lollies",
		"aas and a nuance",
		"assault rifle on a wall",
		"sexual dimorphism in birds",
		"the pores of an orange",
		"10 lbs of apples, 3 ex-cons, 5 boxes",
	}
	for _, p := range prompts {
		t.Run(p, func(t *testing.T) {
			if m, ok := f.Check(p); ok {
				t.Errorf("Check(%q) found %q in an innocent prompt", p, m.Term)
			}
		})
	}
}

// TestCheckCatchesEvasions runs the default list over evasions that testers found to slip
// past it: leet spellings, a digit one for an l, a term split by a space, and Armenian
// look-alikes.
func TestCheckCatchesEvasions(t *testing.T) {
	f := NewFilter(DefaultTerms())

	tests := []struct {
		prompt, term string
	}{
		// Spellings that count only in leet.
		{"pr0n", "porn"},
		{"free PR0N pics", "porn"},
		{"pr0ns", "porn"},
		{"n00d", "nude"},
		{"send n00ds", "nude"},
		{"n 0 0 d", "nude"},
		{"1 o l i", "loli"},
		// A digit one for an i or an l, or both in one word.
		{"1oli", "loli"},
		{"l0l1", "loli"},
		{"1o1i", "loli"},
		{"gen1ta1s", "genitals"},
		{"pedoph1l1a", "pedophilia"},
		{"lo11", "loli"},
		// Other leet that the number rules must not lose.
		{"s3x", "sex"},
		{"5ex", "sex"},
		{"g0r3", "gore"},
		{"p0000rn", "porn"},
		{"s 3 x", "sex"},
		{"p.0.r.n", "porn"},
		{"n u d 3", "nude"},
		// A term split by a space into two fragments.
		{"nu de", "nude"},
		{"a nu de woman on a beach", "nude"},
		{"nu des", "nude"},
		{"p orn", "porn"},
		{"po rn", "porn"},
		{"na ked", "naked"},
		{"ra pe", "rape"},
		{"g ory", "gory"},
		{"mol est", "molest"},
		{"nud ity", "nudity"},
		{"lo li", "loli"},
		// Armenian look-alikes.
		{"ռude", "nude"},
		{"pօrռ", "porn"},
		{"ցore", "gore"},
		{"Տex", "sex"},
		{"ռսde", "nude"},
	}
	for _, tt := range tests {
		t.Run(tt.prompt, func(t *testing.T) {
			m, ok := f.Check(tt.prompt)
			if !ok || m.Term != tt.term {
				t.Errorf("Check(%q) = %+v, %v; want %q", tt.prompt, m, ok, tt.term)
			}
		})
	}
}

// TestCheckPassesNumbersAndWordPairs runs the default list over prompts that look like the
// evasions above but are innocent: numbers beside letters, short words side by side, and the
// plain spellings of what counts only in leet.
func TestCheckPassesNumbersAndWordPairs(t *testing.T) {
	f := NewFilter(append(DefaultTerms(), "sundew", "ass", "kill", "kat"))

	prompts := []string{
		// Numbers.
		"a 1080p screenshot", "4k wallpaper of mountains", "3d render of a robot",
		"an F1 car at Monaco", "a B-52 bomber", "area 51 at night", "5 apples on a table",
		"Studio 54 disco", "R2-D2 and C-3PO", "a Windows 95 desktop", "a size 0 dress",
		"100 balloons", "top 10 landmarks", "a 5 star hotel", "a 3 x 3 grid of icons",
		"1970s fashion", "a 50s diner", "an rtx4070 graphics card", "a Boeing 747",
		"mp3 player", "a 35mm film photo", "7 dwarfs", "1 2 3 4 5", "a 1 second exposure",
		"Galaxy A55 phone", "Apollo 11", "a 10x zoom lens", "4 x 4 truck",
		// Short words side by side that spell a term together.
		"leaves go red in autumn", "go re-enter the building", "be heading home",
		"a rap ed sheeran song", "a hen tai chi class", "a sun dew drop", "Acme Inc est 1990",
		"por no llover", "zone r ape house", "5 g ore samples", "a top less expensive",
		"cs am radio",
		// Plain spellings of leet-only forms, and look-alike scripts used for real.
		"pron. guide in a dictionary", "in nood (Dutch)", "Արարատ լեռ at dawn",
		// A digit one matches an i or an l, nothing else, and only as part of a whole word.
		"k1t", "sk1ll",
	}
	for _, p := range prompts {
		t.Run(p, func(t *testing.T) {
			if m, ok := f.Check(p); ok {
				t.Errorf("Check(%q) found %q in an innocent prompt", p, m.Term)
			}
		})
	}
}

func TestCheckLeetSpellingsFollowTheirTerm(t *testing.T) {
	tests := []struct {
		terms        []string
		prompt, want string
	}{
		{[]string{"nude"}, "n00d", "nude"},
		{[]string{"nude"}, "pr0n", ""},
		{[]string{"porn"}, "n00d", ""},
		{[]string{"Porn"}, "pr0n", "Porn"},
		{[]string{"porn", "pron"}, "pron", "pron"},
		{[]string{"porn", "pron"}, "pr0n", "pron"},
		{[]string{"kill"}, "k1ll", "kill"},
		{[]string{"kill"}, "ki11", "kill"},
		{[]string{"kill"}, "kiii11", "kill"},
		{[]string{"1oli"}, "ioli", "1oli"},
	}
	for _, tt := range tests {
		m, ok := NewFilter(tt.terms).Check(tt.prompt)
		if m.Term != tt.want || ok != (tt.want != "") {
			t.Errorf("NewFilter(%q).Check(%q) = %+v, %v; want %q", tt.terms, tt.prompt, m, ok,
				tt.want)
		}
	}
}

func TestCheckReportsConfiguredSpelling(t *testing.T) {
	f := NewFilter([]string{"Sexual  Assault", "N.U.D.E"})

	for prompt, want := range map[string]string{
		"sexual assault": "Sexual  Assault",
		"nude":           "N.U.D.E",
	} {
		if m, ok := f.Check(prompt); !ok || m.Term != want {
			t.Errorf("Check(%q) = %+v, %v; want %q", prompt, m, ok, want)
		}
	}
}

func TestNewFilterTerms(t *testing.T) {
	f := NewFilter([]string{"nude", "", "  ", "...", "NUDE", "n.u.d.e", "gore"})

	if got := f.Terms(); !slices.Equal(got, []string{"nude", "gore"}) {
		t.Errorf("Terms = %q, want the two distinct terms", got)
	}
	if m, ok := NewFilter(nil).Check("nude"); ok {
		t.Errorf("an empty filter matched %q", m.Term)
	}
	if m, ok := f.Check(""); ok {
		t.Errorf("an empty prompt matched %q", m.Term)
	}
}

func TestDefaultTermsMatchThemselves(t *testing.T) {
	terms := DefaultTerms()
	f := NewFilter(terms)

	if len(f.Terms()) != len(terms) {
		t.Errorf("DefaultTerms has %d terms but the filter kept %d: repeats or empty terms",
			len(terms), len(f.Terms()))
	}
	for _, term := range terms {
		if _, ok := f.Check("a picture of " + term + " here"); !ok {
			t.Errorf("the default filter does not catch its own term %q", term)
		}
	}
}

// TestDefaultTermsOnBenignPrompts runs the default list over the PartiPrompts benchmark,
// 1,632 ordinary prompts, to keep false positives rare.
func TestDefaultTermsOnBenignPrompts(t *testing.T) {
	prompts := readPartiPrompts(t)
	f := NewFilter(DefaultTerms())

	var flagged []string
	for _, p := range prompts {
		if m, ok := f.Check(p); ok {
			flagged = append(flagged, p)
			t.Logf("flagged %q for %q", p, m.Term)
		}
	}

	t.Logf("%d of %d benign prompts flagged", len(flagged), len(prompts))
	if len(flagged) > 3 {
		t.Errorf("the default terms flag %d benign prompts, want at most 3", len(flagged))
	}
}

// readPartiPrompts returns the first column of the PartiPrompts file in the shared test data.
func readPartiPrompts(t *testing.T) []string {
	t.Helper()

	path := filepath.Join("..", "..", "..", "shared", "testdata", "prompts", "PartiPrompts.tsv")
	file, err := os.Open(path)
	if os.IsNotExist(err) {
		t.Skipf("shared test data not found at %s", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()

	var prompts []string
	scanner := bufio.NewScanner(file)
	scanner.Scan() // The header.
	for scanner.Scan() {
		prompt, _, _ := strings.Cut(scanner.Text(), "\t")
		prompts = append(prompts, prompt)
	}
	if err := scanner.Err(); err != nil {
		t.Fatal(err)
	}
	if len(prompts) < 1000 {
		t.Fatalf("read only %d prompts from %s", len(prompts), path)
	}
	return prompts
}

func FuzzCheck(f *testing.F) {
	for _, s := range []string{
		"a photo of a cat", "n.u.d.e", "ｎｕｄｅ", "s3x!", "a$$", "一个裸体的人", "n̷̛u̸͝d̴̈e̵͊",
		"\xff", strings.Repeat("n u ", 500),
	} {
		f.Add(s, "")
	}
	filter := NewFilter(append(DefaultTerms(), "ass", "裸体"))
	terms := filter.Terms()

	f.Fuzz(func(t *testing.T, prefix, suffix string) {
		if m, ok := filter.Check(prefix + suffix); ok && !slices.Contains(terms, m.Term) {
			t.Fatalf("Check(%q) reported %q, which is not a configured term", prefix+suffix,
				m.Term)
		}

		// Whatever surrounds it, a term standing as its own word is always found.
		prompt := prefix + " nude " + suffix
		if _, ok := filter.Check(prompt); !ok {
			t.Fatalf("Check(%q) missed the word \"nude\"", prompt)
		}
	})
}
