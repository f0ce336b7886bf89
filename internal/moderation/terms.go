package moderation

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits on a term list typed by an administrator.
const (
	// MaxTerms is the most terms ParseTerms accepts.
	MaxTerms = 2000

	// MaxTermLen is the longest term ParseTerms accepts, in characters.
	MaxTermLen = 100
)

// DefaultTerms returns the term list a new instance starts with: sexual content involving
// minors, explicit sexual content, sexual violence and graphic violence. It is deliberately
// short; administrators extend it to their own policy. Plurals and verb forms of each term are
// matched without being listed.
func DefaultTerms() []string {
	return []string{
		// Sexual content involving minors.
		"child porn", "child pornography", "child sexual abuse", "csam", "underage sex",
		"underage nude", "preteen nude", "jailbait", "loli", "lolicon", "shotacon",
		"pedophile", "pedophilia",

		// Explicit sexual content.
		"porn", "porno", "pornography", "pornographic", "hentai", "nsfw", "xxx", "sex",
		"sexually explicit", "nude", "nudity", "naked", "topless", "genitals", "genitalia",
		"intercourse", "orgasm", "masturbation", "masturbate", "blowjob", "handjob", "cumshot",
		"gangbang", "bdsm",

		// Sexual violence and abuse.
		"rape", "rapist", "sexual assault", "sexual abuse", "molest", "molestation", "incest",
		"bestiality", "zoophilia",

		// Graphic violence and self-harm.
		"gore", "gory", "dismembered", "dismemberment", "decapitated", "decapitation",
		"beheading", "beheaded", "disembowel", "disemboweled", "mutilated", "mutilation",
		"snuff film", "self harm",
	}
}

// leetSpellings maps spellings that stand for a term only when written with leet digits or
// symbols to that term, normalized. "pr0n" swaps two letters of "porn" and "n00d" spells
// "nude" by its sound, but plain "pron" is a dictionary abbreviation and "nood" a Dutch word,
// so Check counts them only where a digit or symbol in them was read as a letter. They apply
// while their term is in the list.
var leetSpellings = map[string]string{"pron": "porn", "nood": "nude"}

// ParseTerms reads a term list as an administrator types it: one term per line, blank lines
// and lines starting with "#" ignored, repeats dropped. It refuses a term that is too long or
// has no letters or digits, naming the line, so the administrator can fix it.
func ParseTerms(text string) ([]string, error) {
	var terms []string
	seen := make(map[string]bool)

	for i, line := range strings.Split(text, "\n") {
		term := strings.TrimSpace(line)
		if term == "" || strings.HasPrefix(term, "#") {
			continue
		}

		key, err := checkTerm(term)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		if seen[key] {
			continue
		}
		seen[key] = true

		if len(terms) == MaxTerms {
			return nil, fmt.Errorf("line %d: the list has more than %d terms", i+1, MaxTerms)
		}
		terms = append(terms, term)
	}
	return terms, nil
}

// checkTerm validates one term and returns the key under which a Filter tells terms apart:
// its normalized form without spaces.
func checkTerm(term string) (string, error) {
	if !utf8.ValidString(term) {
		return "", fmt.Errorf("the term is not valid UTF-8 text")
	}
	if n := utf8.RuneCountInString(term); n > MaxTermLen {
		return "", fmt.Errorf("the term has %d characters; the most is %d", n, MaxTermLen)
	}

	key := strings.ReplaceAll(Normalize(term), " ", "")
	if key == "" {
		return "", fmt.Errorf("%q has no letters or digits to match", term)
	}
	return key, nil
}
