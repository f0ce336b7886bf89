// Package password decides which passwords SketchMaker accepts and hashes them with bcrypt.
//
// A Policy checks a new password before it is stored: its length in characters, its mix of
// character classes, bcrypt's 72-byte limit and a list of common passwords. A Hasher turns
// accepted passwords into bcrypt hashes and verifies sign-in attempts, bounding how many
// bcrypt computations run at once and spending the same time on an unknown account as on a
// wrong password.
package password

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

const (
	// MaxBytes is the longest password bcrypt can use; it ignores every byte after the 72nd.
	MaxBytes = 72

	// DefaultMinLength is the shortest password, in characters, a zero Policy accepts.
	DefaultMinLength = 8

	// DefaultCost is the bcrypt cost of a zero Policy and of NewHasher(0, ...).
	DefaultCost = 12

	// MinCost is the lowest bcrypt cost SketchMaker ever uses outside its own tests.
	MinCost = 10

	// MaxCost is the highest bcrypt cost the bcrypt package supports.
	MaxCost = bcrypt.MaxCost
)

// Messages shown to people whose new password is refused.
const (
	msgTooShort = "Passwords must be at least %d characters long."
	msgTooLong  = "Passwords can be at most %d bytes; this one is %d bytes " +
		"(letters outside plain ASCII take 2-4 bytes each)."
	msgOneClass = "Mix at least two kinds of characters: lowercase letters, " +
		"uppercase letters, digits, or spaces and symbols."
	msgCommon = "This password is one of the most commonly used; " +
		"choose one that is harder to guess."
	msgBadUTF8 = "Passwords must be plain text; this one contains bytes that are not valid UTF-8."
)

// Error is a refusal whose Message can be shown to the person who typed the password.
type Error struct {
	// Message explains the refusal in a sentence a person can act on.
	Message string
}

// Error returns the message meant for the user.
func (e *Error) Error() string {
	return e.Message
}

func refuse(format string, args ...any) *Error {
	return &Error{Message: fmt.Sprintf(format, args...)}
}

// tooLong is the refusal for a password bcrypt would silently truncate.
func tooLong(pw string) *Error {
	return refuse(msgTooLong, MaxBytes, len(pw))
}

// Policy is the rule set for new passwords and the bcrypt cost they are hashed at.
// The zero Policy uses DefaultMinLength and DefaultCost.
type Policy struct {
	// MinLength is the least number of characters (not bytes) a password must have.
	MinLength int

	// Cost is the bcrypt cost new hashes are made with; never below MinCost.
	Cost int
}

// NewPolicy returns a Policy, using the defaults for zero arguments. It refuses a cost
// below MinCost or above MaxCost, and a minimum length below DefaultMinLength or so long
// that no password could fit in MaxBytes.
func NewPolicy(minLength, cost int) (Policy, error) {
	if minLength == 0 {
		minLength = DefaultMinLength
	}
	if cost == 0 {
		cost = DefaultCost
	}

	if cost < MinCost || cost > MaxCost {
		return Policy{}, fmt.Errorf("bcrypt cost must be between %d and %d, got %d",
			MinCost, MaxCost, cost)
	}
	if minLength < DefaultMinLength || minLength > MaxBytes {
		return Policy{}, fmt.Errorf("minimum password length must be between %d and %d, got %d",
			DefaultMinLength, MaxBytes, minLength)
	}

	return Policy{MinLength: minLength, Cost: cost}, nil
}

// Validate reports whether pw may become someone's password. A refusal is an *Error whose
// Message tells the user what to change; Validate never returns any other kind of error.
func (p Policy) Validate(pw string) error {
	// The byte limit comes first: it is the one rule people cannot guess from the form.
	if len(pw) > MaxBytes {
		return tooLong(pw)
	}
	if !utf8.ValidString(pw) {
		return refuse(msgBadUTF8)
	}

	if n := utf8.RuneCountInString(pw); n < p.minLength() {
		return refuse(msgTooShort, p.minLength())
	}
	if classes(pw) < 2 {
		return refuse(msgOneClass)
	}
	if isCommon(pw) {
		return refuse(msgCommon)
	}

	return nil
}

func (p Policy) minLength() int {
	return max(p.MinLength, DefaultMinLength)
}

// classes counts the character classes present in pw: lowercase, uppercase, digits, and
// everything else (spaces, punctuation, symbols and letters without case).
func classes(pw string) int {
	var lower, upper, digit, other int
	for _, r := range pw {
		switch {
		case unicode.IsLower(r):
			lower = 1
		case unicode.IsUpper(r):
			upper = 1
		case unicode.IsDigit(r):
			digit = 1
		default:
			other = 1
		}
	}

	return lower + upper + digit + other
}

// isCommon reports whether pw, ignoring case, is on the common list either as typed or
// with its trailing digits, spaces and symbols removed ("Password123!" is "password").
func isCommon(pw string) bool {
	lowered := strings.ToLower(pw)
	if commonPasswords()[lowered] {
		return true
	}

	stem := strings.TrimRightFunc(lowered, func(r rune) bool { return !unicode.IsLetter(r) })
	return stem != "" && commonPasswords()[stem]
}
