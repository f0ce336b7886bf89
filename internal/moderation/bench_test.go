package moderation

import (
	"strings"
	"testing"
)

// BenchmarkCheck measures Check on prompts of the largest accepted size, each built to stress
// one path: many words, letters spelled out, leet, one letter repeated, digit ones that match
// an i or an l (also with a leet symbol, which makes Check read the prompt three ways), short
// fragments side by side, and numbers.
func BenchmarkCheck(b *testing.B) {
	filter := NewFilter(DefaultTerms())
	prompts := map[string]string{
		"words":     strings.Repeat("a watercolor painting of a fox in the snow, ", 46)[:2000],
		"letters":   strings.Repeat("n u ", 500),
		"leet":      strings.Repeat("$0m3 l33t t3xt! ", 125),
		"repeats":   strings.Repeat("a.", 1000),
		"ones":      "l.l." + strings.Repeat("1.", 998),
		"onesleet":  "$.l." + strings.Repeat("1.", 998),
		"oneword":   strings.Repeat("l1l1l1l1l1 ", 182)[:2000],
		"fragments": strings.Repeat("nu da ", 333),
		"numbers":   strings.Repeat("1080p 4k 3d 51 ", 133),
	}
	for name, p := range prompts {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				filter.Check(p)
			}
		})
	}
}
