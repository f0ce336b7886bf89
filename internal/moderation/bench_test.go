package moderation

import (
	"strings"
	"testing"
)

// BenchmarkCheck measures Check on prompts of the largest accepted size.
func BenchmarkCheck(b *testing.B) {
	filter := NewFilter(DefaultTerms())
	prompts := map[string]string{
		"words":   strings.Repeat("a watercolor painting of a fox in the snow, ", 46)[:2000],
		"letters": strings.Repeat("n u ", 500),
		"leet":    strings.Repeat("$0m3 l33t t3xt! ", 125),
		"repeats": strings.Repeat("a.", 1000),
	}
	for name, p := range prompts {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				filter.Check(p)
			}
		})
	}
}
