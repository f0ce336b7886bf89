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
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return "", fault.Field("email", "An email address cannot contain spaces or control characters.")
		}
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
