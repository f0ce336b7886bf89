// Package moderation refuses prompts that contain terms of the instance's content policy, even
// when they are disguised with look-alike letters, leet spelling, invisible characters or
// spacing.
//
// Prompts and terms go through the same Normalize, so a term list may be written in any script.
// Matching respects word boundaries, so a short term does not fire inside a longer, innocent
// word.
//
// Service applies the instance's term list (administrators edit it; DefaultTerms until they
// do), keeps every refused prompt in a review queue, and raises suspicious_activity when one
// user keeps trying.
package moderation

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// folder is safe for concurrent use: case folding keeps no state.
var folder = cases.Fold()

// lookalikes maps letters that are drawn like a Latin letter to that letter. Keys are already
// case-folded, and marks are stripped before the lookup, so "Ё" arrives here as "е".
var lookalikes = map[rune]rune{
	// Cyrillic.
	'а': 'a', 'в': 'b', 'г': 'r', 'е': 'e', 'һ': 'h', 'і': 'i', 'ј': 'j', 'к': 'k', 'ӏ': 'l',
	'м': 'm', 'н': 'h', 'о': 'o', 'п': 'n', 'р': 'p', 'ԛ': 'q', 'с': 'c', 'ѕ': 's', 'т': 't',
	'у': 'y', 'ү': 'y', 'ѵ': 'v', 'ԝ': 'w', 'х': 'x', 'ԁ': 'd',
	// Greek.
	'α': 'a', 'β': 'b', 'γ': 'y', 'ε': 'e', 'η': 'n', 'ι': 'i', 'κ': 'k', 'μ': 'u', 'ν': 'v',
	'ο': 'o', 'ρ': 'p', 'ς': 's', 'τ': 't', 'υ': 'u', 'χ': 'x', 'ω': 'w',
	// Armenian, as Unicode's confusables data (UTS #39) pairs them.
	'օ': 'o', 'ս': 'u', 'ո': 'n', 'ռ': 'n', 'հ': 'h', 'ց': 'g', 'ք': 'f', 'ա': 'w', 'գ': 'q',
	'զ': 'q',
	// Latin letters that canonical decomposition leaves alone.
	'ı': 'i', 'ȷ': 'j', 'ɑ': 'a', 'ɡ': 'g', 'ɩ': 'i', 'ø': 'o', 'đ': 'd', 'ł': 'l', 'ħ': 'h',
	'ŧ': 't', 'ƀ': 'b', 'ɨ': 'i', 'ʉ': 'u', 'ɵ': 'o',
	// Small capitals.
	'ᴀ': 'a', 'ʙ': 'b', 'ᴄ': 'c', 'ᴅ': 'd', 'ᴇ': 'e', 'ꜰ': 'f', 'ɢ': 'g', 'ʜ': 'h', 'ɪ': 'i',
	'ᴊ': 'j', 'ᴋ': 'k', 'ʟ': 'l', 'ᴍ': 'm', 'ɴ': 'n', 'ᴏ': 'o', 'ᴘ': 'p', 'ʀ': 'r', 'ꜱ': 's',
	'ᴛ': 't', 'ᴜ': 'u', 'ᴠ': 'v', 'ᴡ': 'w', 'ʏ': 'y', 'ᴢ': 'z',
}

// capitalLookalikes maps capitals that imitate a different Latin letter than their small form
// does: "Ν" looks like N but "ν" like v. They are mapped before case folding.
var capitalLookalikes = map[rune]rune{
	'Ν': 'n', 'Η': 'h', 'Υ': 'y', 'Μ': 'm', 'Ζ': 'z',
	// Armenian capital tiwn: its small form "տ" looks like nothing Latin.
	'Տ': 's',
}

// leetDigits maps digits used as letters. A one may be an i or an l ("1oli", "k1ll"), so it
// becomes eitherIL, which matches both.
var leetDigits = map[rune]rune{'0': 'o', '1': eitherIL, '3': 'e', '4': 'a', '5': 's', '7': 't'}

// eitherIL stands in a token for a digit one read as a letter: a bare stroke that matches an i
// or an l in a term. Tokens never otherwise hold it, as tokenize drops it as punctuation.
const eitherIL = '|'

// maxLeetRun is the longest run of different digits read as letters inside a word: leet
// replaces a letter or two ("n00d", "l33t"), while four digits in a row are a year or a model
// number ("rtx4070"). One digit repeated is a stretched letter ("p0000rn") whatever its length.
const maxLeetRun = 3

// leetSymbols maps punctuation used as letters. Unlike digits these are also ordinary
// punctuation, so Check also reads them as separators where they end a word.
var leetSymbols = map[rune]rune{'@': 'a', '$': 's', '!': 'i'}

// invisible lists characters that draw nothing but are letters or symbols rather than format
// characters, so the general rule for Cf does not remove them.
var invisible = map[rune]bool{'\u115F': true, '\u1160': true, '\u3164': true, '\uFFA0': true}

// Normalize returns the form of s that terms are matched against: NFKC, case-folded, without
// marks, zero-width or other invisible characters, with look-alike letters and leet symbols
// replaced by the Latin letters they imitate, and with every run of punctuation and space
// turned into one space. Leet digits become letters only inside words ("s3x" is "sex"), a one
// becoming "i"; numbers keep their digits ("4k", "1080p", "area 51"). See readWord.
func Normalize(s string) string {
	text := joinTokens(tokenize(fold(s), symbolsAsLetters), " ")
	return strings.ReplaceAll(text, string(eitherIL), "i")
}

// fold applies the Unicode steps of Normalize: compatibility composition (which turns fullwidth
// and styled letters into plain ones), case folding, and removal of marks and invisible
// characters after canonical decomposition. Capitals whose small form looks different are
// mapped on the way.
func fold(s string) string {
	s = norm.NFKC.String(s)
	s = strings.Map(func(r rune) rune {
		if l, ok := capitalLookalikes[r]; ok {
			return l
		}
		return r
	}, s)
	s = folder.String(s)
	s = norm.NFD.String(s)

	// ToLower after folding settles scripts, such as Cherokee, whose folded form is the
	// capital letter: without it, folding twice would not give what folding once did.
	return strings.Map(func(r rune) rune {
		if unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf) || invisible[r] {
			return -1
		}
		return unicode.ToLower(r)
	}, s)
}

// token is one word of a normalized prompt.
type token struct {
	text string

	// spaced reports whether only white space separates the token from the previous one, as
	// between ordinary words; "n.u.d.e" or "nu-de" are not spaced.
	spaced bool

	// leet reports whether a digit or symbol in the token was read as a letter.
	leet bool
}

// symbolMode says how tokenize reads a leet symbol such as "!" or "$", which may be a letter or
// punctuation.
type symbolMode int

const (
	// symbolsAsLetters always reads them as letters: "a$$" is "ass".
	symbolsAsLetters symbolMode = iota

	// symbolsBeforeWord reads them as letters only when a letter or digit follows: "$ex!" is
	// "sex".
	symbolsBeforeWord

	// symbolsAsPunctuation never reads them as letters: "!nude!" is "nude".
	symbolsAsPunctuation
)

// symbolModes lists every way Check reads leet symbols.
var symbolModes = []symbolMode{symbolsAsLetters, symbolsBeforeWord, symbolsAsPunctuation}

// tokenize maps look-alikes and leet in folded text and splits it into words, reading leet
// symbols as mode says.
func tokenize(folded string, mode symbolMode) []token {
	runes := []rune(folded)
	var tokens []token
	var word []rune
	leet, allSpace := false, true

	flush := func() {
		if len(word) > 0 {
			text, digits := readWord(word)
			tokens = append(tokens, token{text: text, spaced: allSpace, leet: leet || digits})
			word, leet, allSpace = word[:0], false, true
		}
	}

	for i, r := range runes {
		r = mapLetter(r)
		switch {
		case isApostrophe(r):
			// "it's" is one word, not "it" and "s".
		case isWordRune(r):
			word = append(word, r)
		case leetSymbols[r] != 0 && symbolIsLetter(mode, runes[i+1:]):
			word = append(word, leetSymbols[r])
			leet = true
		default:
			flush()
			allSpace = allSpace && unicode.IsSpace(r)
		}
	}
	flush()
	readSpelled(tokens)
	return tokens
}

// readWord returns word with its digits read as letters where they stand for letters: in a
// word of at least two letters, each run of digits that spellsLetters ("s3x", "n00d"). The
// digits of a word with fewer letters are a number with a unit or a name ("4k", "3d", "f1"),
// and so is a run that does not spell letters ("1080p"). It reports whether it read any.
func readWord(word []rune) (string, bool) {
	if countLetters(word) < 2 {
		return string(word), false
	}

	read := false
	for i := 0; i < len(word); {
		j := i
		for j < len(word) && unicode.IsDigit(word[j]) {
			j++
		}
		if j > i && spellsLetters(word[i:j]) {
			for k := i; k < j; k++ {
				word[k] = leetDigits[word[k]]
			}
			read = true
		}
		i = max(j, i+1)
	}
	return string(word), read
}

// spellsLetters reports whether a run of digits stands for letters: each digit imitates one,
// and the run is short or one digit repeated.
func spellsLetters(run []rune) bool {
	for _, d := range run {
		if leetDigits[d] == 0 {
			return false
		}
	}
	if len(run) <= maxLeetRun {
		return true
	}
	for _, d := range run[1:] {
		if d != run[0] {
			return false
		}
	}
	return true
}

// countLetters returns how many letters word has.
func countLetters(word []rune) int {
	n := 0
	for _, r := range word {
		if unicode.IsLetter(r) {
			n++
		}
	}
	return n
}

// readSpelled reads lone digits as letters in words spelled out one character at a time
// ("s 3 x", "p.0.r.n"): runs of one-character tokens with at least two letters among them,
// not counting the words "a" and "i". Elsewhere a lone digit is a number ("5 apples",
// "a 5 star hotel", "a 3 x 3 grid").
func readSpelled(tokens []token) {
	for i := 0; i < len(tokens); {
		end, letters := spelledRun(tokens[i:])
		if end == 0 {
			i++
			continue
		}

		for k := i; k < i+end && letters >= 2; k++ {
			r, _ := utf8.DecodeRuneInString(tokens[k].text)
			if l := leetDigits[r]; l != 0 {
				tokens[k].text, tokens[k].leet = string(l), true
			}
		}
		i += end
	}
}

// spelledRun returns how many tokens at the start of tokens are one character long, and how
// many of those are letters other than the words "a" and "i".
func spelledRun(tokens []token) (end, letters int) {
	for _, t := range tokens {
		r, size := utf8.DecodeRuneInString(t.text)
		if size != len(t.text) {
			break
		}
		if unicode.IsLetter(r) && r != 'a' && r != 'i' {
			letters++
		}
		end++
	}
	return end, letters
}

// mapLetter replaces a look-alike letter by the Latin letter it imitates.
func mapLetter(r rune) rune {
	if l, ok := lookalikes[r]; ok {
		return l
	}

	// Regional indicator symbols, which draw as boxed capital letters.
	if r >= '\U0001F1E6' && r <= '\U0001F1FF' {
		return 'a' + (r - '\U0001F1E6')
	}
	return r
}

// isWordRune reports whether r belongs inside a word.
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mc, r)
}

// isApostrophe reports whether r is an apostrophe, which joins rather than separates.
func isApostrophe(r rune) bool {
	return r == '\'' || r == '\u2019' || r == '\u02BC' || r == '`'
}

// symbolIsLetter reports whether a leet symbol followed by rest reads as a letter in mode.
func symbolIsLetter(mode symbolMode, rest []rune) bool {
	switch mode {
	case symbolsAsLetters:
		return true
	case symbolsBeforeWord:
		return wordFollows(rest)
	}
	return false
}

// wordFollows reports whether a letter or digit comes next, after any further leet symbols.
func wordFollows(rest []rune) bool {
	for _, r := range rest {
		if leetSymbols[r] == 0 {
			return isWordRune(mapLetter(r))
		}
	}
	return false
}

// joinTokens joins the texts of tokens with sep.
func joinTokens(tokens []token, sep string) string {
	texts := make([]string, len(tokens))
	for i, t := range tokens {
		texts[i] = t.text
	}
	return strings.Join(texts, sep)
}
