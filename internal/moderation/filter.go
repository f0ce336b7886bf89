package moderation

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"
)

// suffixes are the endings under which a term still matches: plurals and verb forms.
var suffixes = []string{"s", "es", "d", "ed", "ing"}

// minSplitLen is the shortest term, in letters, that is also caught when broken into pieces by
// punctuation ("nu.de") or by a space between fragments ("nu de"). Shorter terms are caught
// letter by letter ("s.e.x") but not in pieces, which would fire on too many innocent word
// pairs.
const minSplitLen = 4

// Match is a policy term found in a prompt.
type Match struct {
	// Term is the term as configured, not as the prompt spelled it.
	Term string
}

// Filter finds policy terms in prompts. It is safe for concurrent use; to change the list,
// build a new Filter.
type Filter struct {
	terms      []string
	byJoined   index
	bySqueezed index
	substrings []*entry
	maxLen     int
}

// entry is one term in normalized form.
type entry struct {
	term    string
	words   []string
	joined  string
	letters int

	// leetOnly marks a spelling that stands for term only when written with leet, such as
	// "pron" for "porn": see leetSpellings.
	leetOnly bool
}

// NewFilter returns a Filter for terms. Each term is normalized like a prompt; a term of
// several words matches those words in order, whatever separates them. Terms with no letters or
// digits are ignored, and so are repeats of a term already in the list.
func NewFilter(terms []string) *Filter {
	f := &Filter{byJoined: newIndex(), bySqueezed: newIndex()}
	for _, term := range terms {
		f.add(term)
	}
	f.addLeetSpellings()
	return f
}

// add puts one term into the filter's indexes.
func (f *Filter) add(term string) {
	tokens := tokenize(fold(term), symbolsAsLetters)
	if len(tokens) == 0 {
		return
	}

	// A one in a term is read as an i, as Normalize writes it.
	e := &entry{term: term}
	for _, t := range tokens {
		e.words = append(e.words, strings.ReplaceAll(t.text, string(eitherIL), "i"))
	}
	e.joined = strings.Join(e.words, "")
	e.letters = utf8.RuneCountInString(e.joined)
	if !f.byJoined.put(e.joined, e) {
		return
	}

	f.terms = append(f.terms, term)
	f.bySqueezed.put(squeeze(e.joined), e)
	if unspaced(e.joined) {
		f.substrings = append(f.substrings, e)
	}
	f.maxLen = max(f.maxLen, len(e.joined)+len("ing"))
}

// addLeetSpellings adds the leetSpellings of the filter's terms, under keys that no term of
// the list has taken.
func (f *Filter) addLeetSpellings() {
	for spelling, joined := range leetSpellings {
		target := f.byJoined.exact[joined]
		if target == nil {
			continue
		}

		e := &entry{term: target.term, words: []string{spelling}, joined: spelling,
			letters: utf8.RuneCountInString(spelling), leetOnly: true}
		if f.byJoined.put(spelling, e) {
			f.bySqueezed.put(squeeze(spelling), e)
		}
	}
}

// Terms returns the terms in effect, as configured.
func (f *Filter) Terms() []string {
	return append([]string(nil), f.terms...)
}

// Check reports the first policy term found in prompt. A term matches a whole word or run of
// words after Normalize, also in its plural and verb forms ("nudes"), with letters repeated
// ("nuuude"), spelled letter by letter ("n u d e", "n.u.d.e"), or, from four letters up, broken
// by punctuation ("nu.de") or by a space between two fragments ("nu de", see joinsFragments).
// Leet symbols are tried both as letters and as punctuation, so that "$ex" and "nude!" are both
// caught; a digit one matches an i or an l ("1oli"); and a few spellings count only in leet
// ("pr0n", see leetSpellings).
func (f *Filter) Check(prompt string) (Match, bool) {
	folded := fold(prompt)
	modes := symbolModes
	if !strings.ContainsAny(folded, "@$!") {
		modes = modes[:1]
	}

	for _, mode := range modes {
		tokens := tokenize(folded, mode)
		if e := f.matchTokens(tokens); e != nil {
			return Match{Term: e.term}, true
		}
		if e := f.matchSubstrings(tokens); e != nil {
			return Match{Term: e.term}, true
		}
	}
	return Match{}, false
}

// maxStretch bounds how long a run of tokens may be, in bytes, to spell a term with its
// letters stretched ("nuuuuude"). Without it a prompt of one letter repeated ("a.a.a.")
// never grew its squeezed form, and each of its 2,000 characters started a run through
// all the others: BenchmarkCheck/repeats took 146 ms, now 10 ms.
const maxStretch = 96

// matchTokens looks for a term spelled by one token or by several consecutive ones.
func (f *Filter) matchTokens(tokens []token) *entry {
	var raw, squeezed []byte
	for i := range tokens {
		raw, squeezed = raw[:0], squeezed[:0]
		var run stretch
		leet := false
		for j := i; j < len(tokens); j++ {
			raw = append(raw, tokens[j].text...)
			squeezed = appendSqueezed(squeezed, tokens[j].text)
			if len(squeezed) > f.maxLen || len(raw) > maxStretch {
				break
			}
			run.add(tokens[j].text)
			leet = leet || tokens[j].leet

			e := f.lookup(raw, squeezed, run)
			if e != nil && (leet || !e.leetOnly) && accept(e, tokens[i:j+1]) {
				return e
			}
		}
	}
	return nil
}

// lookup finds the term that raw spells, allowing a suffix and stretched letters ("nuuudes");
// squeezed is raw with its repeated letters collapsed, and run describes raw.
func (f *Filter) lookup(raw, squeezed []byte, run stretch) *entry {
	if len(raw) <= f.maxLen {
		if e := f.byJoined.get(raw); e != nil {
			return e
		}
		for _, sfx := range suffixes {
			if stem, ok := bytes.CutSuffix(raw, []byte(sfx)); ok && len(stem) > 0 {
				if e := f.byJoined.get(stem); e != nil {
					return e
				}
			}
		}
	}

	// Repeated letters count as a disguise only from three in a row: doubles are ordinary
	// spelling ("lollies" is not "loli"). A squeezed match must not be shorter than the term,
	// or "x" would match "xxx".
	if !run.triple {
		return nil
	}
	letters := run.letters
	if e := f.bySqueezed.get(squeezed); e != nil && letters >= e.letters {
		return e
	}
	for _, sfx := range suffixes {
		stem, ok := bytes.CutSuffix(squeezed, []byte(sfx))
		if !ok || len(stem) == 0 || !bytes.HasSuffix(raw, []byte(sfx)) {
			continue
		}
		if e := f.bySqueezed.get(stem); e != nil && letters-len(sfx) >= e.letters {
			return e
		}
	}
	return nil
}

// accept decides whether tokens that together spell e's term really mean it, or are innocent
// words that happen to touch.
func accept(e *entry, tokens []token) bool {
	if len(tokens) == 1 || allSingleLetters(tokens) || alignsWithWords(e, tokens) {
		return true
	}

	// A word broken by punctuation ("nu.de", "porno-graphy") or in two fragments by a space
	// ("nu de"); ordinary spaces between whole words ("be heading") do not count.
	if e.letters < minSplitLen {
		return false
	}
	if len(tokens) == 2 && tokens[1].spaced {
		return joinsFragments(tokens[0], tokens[1])
	}
	for _, t := range tokens[1:] {
		if t.spaced {
			return false
		}
	}
	return true
}

// allSingleLetters reports whether every token is one letter, as in "n u d e".
func allSingleLetters(tokens []token) bool {
	for _, t := range tokens {
		if utf8.RuneCountInString(t.text) != 1 {
			return false
		}
	}
	return true
}

// alignsWithWords reports whether tokens are the words of a term of several words; the last
// may carry a suffix or repeated letters.
func alignsWithWords(e *entry, tokens []token) bool {
	if len(tokens) != len(e.words) {
		return false
	}
	for k := range len(tokens) - 1 {
		if !sameSpelling(tokens[k].text, e.words[k]) {
			return false
		}
	}
	return true
}

// matchSubstrings looks for terms in scripts written without spaces between words, anywhere in
// the text.
func (f *Filter) matchSubstrings(tokens []token) *entry {
	if len(f.substrings) == 0 {
		return nil
	}

	text := joinTokens(tokens, "")
	for _, e := range f.substrings {
		if strings.Contains(text, e.joined) {
			return e
		}
	}
	return nil
}

// unspaced reports whether s contains a letter of a script written without spaces between
// words, where word boundaries cannot be found.
func unspaced(s string) bool {
	for _, r := range s {
		if unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Thai,
			unicode.Lao, unicode.Khmer, unicode.Myanmar, unicode.Tibetan) {
			return true
		}
	}
	return false
}

// squeeze collapses runs of one repeated letter: "nuuude" becomes "nude".
func squeeze(s string) string {
	return string(appendSqueezed(nil, s))
}

// stretch follows a run of token texts as they are added one after another, so that each
// step costs only the new token: how many letters the run has, and whether one letter has
// appeared three or more times in a row.
type stretch struct {
	letters int
	triple  bool
	last    rune
	repeats int
}

// add takes in the letters of text.
func (s *stretch) add(text string) {
	for _, c := range text {
		if c == s.last {
			s.repeats++
		} else {
			s.last, s.repeats = c, 1
		}
		s.letters++
		s.triple = s.triple || s.repeats >= 3
	}
}

// appendSqueezed appends s to dst, skipping each letter that repeats the one before it, also
// across the join.
func appendSqueezed(dst []byte, s string) []byte {
	last, _ := utf8.DecodeLastRune(dst)
	for _, r := range s {
		if r != last {
			dst = utf8.AppendRune(dst, r)
		}
		last = r
	}
	return dst
}
