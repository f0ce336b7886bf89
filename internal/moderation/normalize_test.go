package moderation

import (
	"strings"
	"testing"
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
			if strings.ContainsRune("013457@$!", r) {
				t.Fatalf("Normalize(%q) = %q kept %q", s, got, r)
			}
		}
		if !utf8.ValidString(got) {
			t.Fatalf("Normalize(%q) = %q is not valid UTF-8", s, got)
		}
	})
}
