package account

import (
	"strings"
	"testing"
)

// FuzzTypedCodes feeds arbitrary input to the cleaning of typed reset and recovery codes:
// it never panics, stays short, and cleaning twice changes nothing.
func FuzzTypedCodes(f *testing.F) {
	for _, s := range []string{"123 456", "ab-cd ef", "", strings.Repeat("9", 500), "\x00-\t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := cleanCode(s)
		if len(c) > 65 || strings.ContainsAny(c, " -\t") {
			t.Fatalf("cleanCode(%q) = %q", s, c)
		}
		if cleanCode(c) != c {
			t.Fatalf("cleanCode is not idempotent on %q", s)
		}
		r := normalizeRecovery(s)
		if normalizeRecovery(r) != r {
			t.Fatalf("normalizeRecovery is not idempotent on %q", s)
		}
	})
}

func TestRecoveryCodesAreDistinctAndWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range newRecoveryCodes() {
		if len(c) != 11 || c[5] != '-' || seen[c] || len(normalizeRecovery(c)) != 10 {
			t.Fatalf("recovery code %q", c)
		}
		seen[c] = true
	}
}
