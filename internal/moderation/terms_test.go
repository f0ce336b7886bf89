package moderation

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestParseTerms(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"empty", "", nil},
		{"one per line", "nude\ngore\n", []string{"nude", "gore"}},
		{"windows line ends", "nude\r\ngore\r\n", []string{"nude", "gore"}},
		{"blank lines and comments", "\n# explicit\nnude\n\n  # violence\ngore",
			[]string{"nude", "gore"}},
		{"trimmed", "  sexual assault  \n", []string{"sexual assault"}},
		{"repeats by normalized form", "nude\nNUDE\nｎｕｄｅ\nnudе\nn u d e", []string{"nude"}},
		{"any script", "裸体\nкровь", []string{"裸体", "кровь"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTerms(tt.text)
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("ParseTerms(%q) = %q, %v; want %q", tt.text, got, err, tt.want)
			}
		})
	}
}

func TestParseTermsErrors(t *testing.T) {
	tests := []struct {
		name, text, wantMsg string
	}{
		{"no letters", "nude\n...\n", "line 2: \"...\" has no letters or digits"},
		{"invisible only", "\u200b\u200b", "line 1: \"\\u200b\\u200b\" has no letters"},
		{"too long", "ok\n\n" + strings.Repeat("a", MaxTermLen+1), "line 3: the term has 101"},
		{"bad utf-8", "nude\n\xff\xfe", "line 2: the term is not valid UTF-8"},
		{"too many", manyTerms(MaxTerms + 1), fmt.Sprintf("more than %d terms", MaxTerms)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTerms(tt.text)
			if err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("ParseTerms = %d terms, error %v; want one mentioning %q",
					len(got), err, tt.wantMsg)
			}
		})
	}

	if got, err := ParseTerms(manyTerms(MaxTerms)); err != nil || len(got) != MaxTerms {
		t.Errorf("ParseTerms of exactly %d terms = %d, %v", MaxTerms, len(got), err)
	}
}

// manyTerms returns n distinct terms, one per line.
func manyTerms(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "term %d\n", i)
	}
	return b.String()
}

func FuzzParseTerms(f *testing.F) {
	for _, s := range []string{"nude\ngore", "# c\n\n...", "\xff", "a\r\nA\r\n", "裸体"} {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, text string) {
		terms, err := ParseTerms(text)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "line ") {
				t.Fatalf("error %q does not name the line", err)
			}
			return
		}

		// Every accepted term is distinct and usable by a Filter.
		filter := NewFilter(terms)
		if !slices.Equal(filter.Terms(), terms) {
			t.Fatalf("ParseTerms gave %q but the filter kept %q", terms, filter.Terms())
		}
		for _, term := range terms {
			if _, ok := filter.Check(term); !ok {
				t.Fatalf("accepted term %q does not match itself", term)
			}
		}
	})
}
