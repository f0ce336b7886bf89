// Package totp implements time-based one-time passwords (RFC 6238): the six-digit codes that
// authenticator apps show, built on HMAC-based one-time passwords (RFC 4226). It holds no
// state; the caller stores each user's secret and the last time step it accepted, so that a
// code works once.
package totp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"net/url"
	"strings"
	"time"
)

// Params are the parameters of a code: its length, how long it lives and the HMAC hash.
type Params struct {
	Digits int
	Period time.Duration
	Hash   func() hash.Hash
}

// Default is what every authenticator app understands: six digits, 30 seconds, HMAC-SHA1.
var Default = Params{Digits: 6, Period: 30 * time.Second, Hash: sha1.New}

// SecretSize is the length in bytes of a new secret: 160 bits, as RFC 4226 recommends.
const SecretSize = 20

// Skew is how many time steps before and after the current one Check accepts, for clocks
// that drift and people who type slowly.
const Skew = 1

// Step returns the time step of t under p.
func (p Params) Step(t time.Time) int64 {
	return t.Unix() / int64(p.Period/time.Second)
}

// At returns the code for a time step (the HOTP of RFC 4226 with the step as counter).
func (p Params) At(secret []byte, step int64) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(step))
	mac := hmac.New(p.Hash, secret)
	mac.Write(msg[:])
	sum := mac.Sum(nil)

	// Dynamic truncation: four bytes at the offset named by the last nibble.
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range p.Digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", p.Digits, bin%mod)
}

// Generate returns the code for time t.
func (p Params) Generate(secret []byte, t time.Time) string {
	return p.At(secret, p.Step(t))
}

// Check reports whether code is valid at time t within Skew steps, and returns the step it
// matched. A step at or before lastStep is refused, so a code cannot be used twice; store
// the returned step as the next lastStep.
func (p Params) Check(secret []byte, code string, t time.Time, lastStep int64) (int64, bool) {
	code = Clean(code)
	if len(code) != p.Digits {
		return 0, false
	}
	now := p.Step(t)
	matched, found := int64(0), false
	for s := now - Skew; s <= now+Skew; s++ {
		// Every candidate is computed and compared, so the time taken says nothing.
		ok := subtle.ConstantTimeCompare([]byte(p.At(secret, s)), []byte(code)) == 1
		if ok && s > lastStep && !found {
			matched, found = s, true
		}
	}
	return matched, found
}

// Clean removes the spaces and dashes people type inside a code.
func Clean(code string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, strings.TrimSpace(code))
}

// NewSecret returns a fresh random secret.
func NewSecret() []byte {
	b := make([]byte, SecretSize)
	rand.Read(b) // never fails: the runtime aborts if the system has no randomness
	return b
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// EncodeSecret returns the secret in the unpadded base32 that authenticator apps accept.
func EncodeSecret(secret []byte) string {
	return b32.EncodeToString(secret)
}

// ErrSecret is returned by DecodeSecret for text that is not a base32 secret.
var ErrSecret = errors.New("not a base32 secret of at least 80 bits")

// DecodeSecret reads a base32 secret, ignoring case, spaces and padding.
func DecodeSecret(s string) ([]byte, error) {
	s = strings.ToUpper(strings.TrimRight(Clean(s), "="))
	b, err := b32.DecodeString(s)
	if err != nil || len(b) < 10 {
		return nil, ErrSecret
	}
	return b, nil
}

// URI returns the otpauth:// URI that a QR code carries to an authenticator app, for the
// Default parameters.
func URI(issuer, account string, secret []byte) string {
	label := url.PathEscape(issuer) + ":" + url.PathEscape(account)
	q := url.Values{}
	q.Set("secret", EncodeSecret(secret))
	q.Set("issuer", issuer)
	q.Set("algorithm", "SHA1")
	q.Set("digits", "6")
	q.Set("period", "30")
	return "otpauth://totp/" + label + "?" + q.Encode()
}
