package engine

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestWords(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"", []string{}},
		{"A Red, red SUNSET!", []string{"red", "red", "sunset"}},
		{"the cat and the hat", []string{"cat", "hat"}},
		{"Café über  Straße—naïve", []string{"café", "über", "straße", "naïve"}},
		{"2x2 emoji\ticons\n", []string{"2x2", "emoji", "icons"}},
		{"<script>alert(1)</script>", []string{"script", "alert", "1", "script"}},
		{"\x00\xff\xfe", []string{}},
	}
	for _, tc := range cases {
		if got := words(tc.in); !reflect.DeepEqual(got, tc.want) && len(got)+len(tc.want) > 0 {
			t.Errorf("words(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestWordsAreBounded(t *testing.T) {
	long := strings.Repeat("word ", 10000)
	if n := len(words(long)); n != maxWords {
		t.Fatalf("%d words kept, want %d", n, maxWords)
	}
}

func TestAnalyseReadsKeywords(t *testing.T) {
	cases := []struct {
		prompt  string
		colours int
		motif   motif
		mood    mood
	}{
		{"ocean waves at night", 6, motifWaves, moodDark},
		{"Skyscrapers in a big city", 0, motifCity, moodNeutral},
		{"pine trees on a bright morning", 0, motifForest, moodBright},
		{"three red apples", 1, motifOrbs, moodNeutral},
	}
	for _, tc := range cases {
		info := analyse(tc.prompt)
		if len(info.colours) != tc.colours {
			t.Errorf("%q: %d colours, want %d", tc.prompt, len(info.colours), tc.colours)
		}
		if info.boost[tc.motif] <= 0 {
			t.Errorf("%q: motif %d not favoured: %v", tc.prompt, tc.motif, info.boost)
		}
		if info.mood != tc.mood {
			t.Errorf("%q: mood %d, want %d", tc.prompt, info.mood, tc.mood)
		}
	}
}

func TestSameWordsSameHash(t *testing.T) {
	a, b := analyse("A red   CAR!"), analyse("a red car")
	if a.hash != b.hash {
		t.Fatal("prompts that differ only in case, spacing and punctuation hash differently")
	}
	if analyse("a red car").hash == analyse("a car red").hash {
		t.Fatal("word order does not change the hash")
	}
}

// FuzzWords checks that any prompt normalises into lowercase words of letters and digits.
func FuzzWords(f *testing.F) {
	for _, s := range []string{"", "A Red SUNSET", "Café\u202eevil", "\xff\xfe", "a b c d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, prompt string) {
		ws := words(prompt)
		if len(ws) > maxWords {
			t.Fatalf("%d words", len(ws))
		}
		for _, w := range ws {
			if w == "" || stopWords[w] {
				t.Fatalf("kept %q", w)
			}
			for _, r := range w {
				if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
					t.Fatalf("word %q has %q", w, r)
				}
			}
			if !utf8.ValidString(w) {
				t.Fatalf("word %q is not valid UTF-8", w)
			}
		}
		analyse(prompt)
	})
}

// FuzzRender checks that any prompt, style and seed either renders, the same way twice, or
// fails with a parameter error; never a panic.
func FuzzRender(f *testing.F) {
	f.Add("a red sunset over the ocean", "modern", uint32(0), 64, 64)
	f.Add("", "futuristic", uint32(1<<31), 80, 64)
	f.Add("\x00\u202e☃ night", "VINTAGE", uint32(7), 64, 100)
	f.Add("x", "cubist", uint32(1), 64, 64)
	f.Add("tiny", "realistic", uint32(3), 10, 5000)

	f.Fuzz(func(t *testing.T, prompt, style string, seed uint32, w, h int) {
		// Keep the pictures small so that fuzzing explores prompts rather than big sizes.
		if w > 160 || h > 160 {
			w, h = w%160, h%160
		}
		p := Params{Prompt: prompt, Style: style, Width: w, Height: h, Seed: seed}
		a, err := Render(p)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not a parameter error", err)
			}
			return
		}
		b, _ := Render(p)
		if !reflect.DeepEqual(a.Pix, b.Pix) {
			t.Fatal("two renders differ")
		}
	})
}
