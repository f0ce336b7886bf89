package account

import (
	"net/mail"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/sketchmaker/sketchmaker/internal/fault"
)

// NormalizeEmail trims and case-folds an address and checks that it is a plain address
// (no display name), so that one person has one account per mailbox.
func NormalizeEmail(s string) (string, error) {
	s = strings.ToLower(norm.NFC.String(strings.TrimSpace(s)))
	if s == "" {
		return "", fault.Field("email", "Enter your email address.")
	}
	if len(s) > 254 {
		return "", fault.Field("email", "That email address is too long (254 characters at most).")
	}
	for _, r := range s {
		// Format characters (Cf) are the invisible ones, such as a zero-width space, that
		// make a second "super@example.com" look like the first in every list.
		if unicode.IsControl(r) || unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) {
			return "", fault.Field("email", "An email address cannot contain spaces, "+
				"invisible or control characters.")
		}
	}
	if mixedScripts(s) {
		return "", fault.Field("email", "This email address mixes letters of different "+
			"alphabets in one part, such as a Cyrillic а among Latin letters; type it "+
			"again in one alphabet.")
	}

	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || addr.Name != "" {
		return "", fault.Field("email", "Enter a valid email address, such as name@example.com.")
	}
	at := strings.LastIndexByte(s, '@')
	local, domain := s[:at], s[at+1:]
	if local == "" || len(local) > 64 || !strings.Contains(domain, ".") ||
		strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") ||
		strings.Contains(domain, "..") {
		return "", fault.Field("email", "Enter a valid email address, such as name@example.com.")
	}
	return s, nil
}

// cleanUsername returns a display name without control characters, or the email's local
// part when name is empty.
func cleanUsername(name, email string) (string, error) {
	name = strings.TrimSpace(norm.NFC.String(name))
	if name == "" {
		name = email[:strings.LastIndexByte(email, '@')]
	}
	for _, r := range name {
		// Format characters (Cf) include the invisible ones and the text-direction
		// overrides that make "nimda" display as "admin".
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' ||
			r == '\u2029' {
			return "", fault.Field("username", "A username cannot contain control, "+
				"invisible or text-direction characters.")
		}
	}
	if n := len([]rune(name)); n > 40 {
		return "", fault.Field("username", "A username can be at most 40 characters long.")
	}
	return name, nil
}

// mixedScripts reports whether any part of an address (the local part, or a label of the
// domain) has letters of more than one of the Latin, Cyrillic and Greek alphabets, whose
// look-alike letters let "exаmple.com" pass for "example.com".
func mixedScripts(addr string) bool {
	for _, part := range strings.FieldsFunc(addr, func(r rune) bool {
		return r == '@' || r == '.'
	}) {
		seen := 0
		for _, r := range part {
			switch {
			case unicode.Is(unicode.Latin, r):
				seen |= 1
			case unicode.Is(unicode.Cyrillic, r):
				seen |= 2
			case unicode.Is(unicode.Greek, r):
				seen |= 4
			}
		}
		if seen&(seen-1) != 0 {
			return true
		}
	}
	return false
}
