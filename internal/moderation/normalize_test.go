package moderation

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "A red bicycle", "a red bicycle"},
		{"fullwidth", "ＮＵＤＥ ａｒｔ", "nude art"},
		{"math bold", "𝐧𝐮𝐝𝐞", "nude"},
		{"circled", "ⓝⓤⓓⓔ", "nude"},
		{"superscript", "ᴺᵁᴰᴱ", "nude"},
		{"ligature", "ﬁre", "fire"},
		{"case fold sharp s", "STRAẞE", "strasse"},
		{"accents", "Crème Brûlée", "creme brulee"},
		{"zalgo", "n̷̛u̸͝d̴̈e̵͊", "nude"},
		{"zero width space", "nu\u200bde", "nude"},
		{"zero width joiners", "n\u200cu\u200dd\u2060e", "nude"},
		{"byte order mark", "\ufeffnude", "nude"},
		{"soft hyphen", "nu\u00adde", "nude"},
		{"bidi override", "\u202enude\u202c", "nude"},
		{"hangul filler", "nu\u3164de", "nude"},
		{"cyrillic", "nudе", "nude"},
		{"cyrillic all", "КРОВЬ", "kpobь"},
		{"greek", "ΤΟΡLΕSS", "topless"},
		{"greek capitals", "ΗΟΤ ΝΕΟΝ", "hot neon"},
		{"greek small", "νεον", "veov"},
		{"small caps", "ɴᴜᴅᴇ", "nude"},
		{"dotless i", "nıpple", "nipple"},
		{"regional indicators", "🇳🇺🇩🇪", "nude"},
		{"leet digits", "s3x p0rn 4n4l", "sex porn anal"},
		{"leet symbols", "@$$ h!", "ass hi"},
		{"leet seven and one", "7he 1ce", "the ice"},
		{"other digits stay", "2 8 9 6", "2 8 9 6"},
		{"leet one", "1oli k1ll", "ioli kill"},
		{"leet in a word of two letters", "n00d pr0n", "nood pron"},
		{"number with a unit", "4k 3d 10x f1 a55", "4k 3d 10x f1 a55"},
		{"number with another digit", "1080p h264 r2 d2", "1080p h264 r2 d2"},
		{"numbers alone", "area 51 top 10 size 0 100", "area 51 top 10 size 0 100"},
		{"four digits in a word", "rtx4070 abc1000", "rtx4070 abc1000"},
		{"one digit stretched", "p0000rn", "poooorn"},
		{"spelled out", "s 3 x p.0.r.n", "s e x p o r n"},
		{"lone digit beside a word", "a 5 star hotel", "a 5 star hotel"},
		{"lone digits in a grid", "a 3 x 3 grid", "a 3 x 3 grid"},
		{"armenian", "ռսdе ցօք", "nude gof"},
		{"armenian capitals", "ՏՕՍ", "sou"},
		{"separators collapse", "  a--b__c..d\t\n e  ", "a b c d e"},
		{"apostrophe joins", "it's Dad’s", "its dads"},
		{"emoji separate", "cat🐱dog", "cat dog"},
		{"cherokee", "ꭰᏸ Ꭰ", "ꭰᏸ ꭰ"},
		{"empty", "", ""},
		{"only punctuation", "?? -- ..", ""},
		{"mixed script kept", "Кот и 猫", "kot и 猫"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Normalize(tt.in); got != tt.want {
				t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"A photo of a cat", "n.u.d.e", "ｎｕｄｅ", "n̷̛u̸͝d̴̈e̵͊", "nu\u200bde", "КРОВЬ", "🇳🇺",
		"STRAẞE", "ǅemal", "ΐ", "ﬃ", "\u0345", "İstanbul", "ꭰᏸ", "한국어", "\xff\xfe", "a$$!", "ᾈ",
	} {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, s string) {
		got := Normalize(s)
		if again := Normalize(got); again != got {
			t.Fatalf("Normalize is not idempotent: %q -> %q -> %q", s, got, again)
		}

		if strings.HasPrefix(got, " ") || strings.HasSuffix(got, " ") ||
			strings.Contains(got, "  ") {
			t.Fatalf("Normalize(%q) = %q has stray spaces", s, got)
		}
		for _, r := range got {
			if r != ' ' && !isWordRune(r) {
				t.Fatalf("Normalize(%q) = %q contains %U", s, got, r)
			}
		}
		for _, word := range strings.Fields(got) {
			if leetDigitKept(word) {
				t.Fatalf("Normalize(%q) = %q kept a leet digit in %q", s, got, word)
			}
		}
		if !utf8.ValidString(got) {
			t.Fatalf("Normalize(%q) = %q is not valid UTF-8", s, got)
		}
	})
}

// leetDigitKept reports whether word, from Normalize, still has a digit it should have read as
// a letter: a word of two letters or more with a run of up to three digits that all imitate
// letters.
func leetDigitKept(word string) bool {
	letters := 0
	for _, r := range word {
		if unicode.IsLetter(r) {
			letters++
		}
	}
	if letters < 2 {
		return false
	}

	notDigit := func(r rune) bool { return !unicode.IsDigit(r) }
	for _, run := range strings.FieldsFunc(word, notDigit) {
		if len(run) <= 3 && strings.Trim(run, "013457") == "" {
			return true
		}
	}
	return false
}
