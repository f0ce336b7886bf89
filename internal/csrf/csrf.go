// Package csrf issues and checks tokens that prove a state-changing request came from a page
// SketchMaker served to the same session.
//
// A token is the time it was issued plus an HMAC of that time and the session id, so it is
// worthless for any other session and stops working after a time limit. Each page gets the
// token under a fresh random mask, so the bytes differ on every response and a compression
// side channel (BREACH) cannot recover them.
package csrf

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// Reasons a token is refused. Check wraps one of them, so compare with errors.Is.
var (
	// ErrMissing means the request carried no token at all.
	ErrMissing = errors.New("csrf token missing")

	// ErrMalformed means the token is not something Issue could have produced.
	ErrMalformed = errors.New("csrf token malformed")

	// ErrExpired means the token was genuine but is older than the time limit.
	ErrExpired = errors.New("csrf token expired")

	// ErrMismatch means the token was not issued by this key for this session.
	ErrMismatch = errors.New("csrf token does not match the session")
)

const (
	// MinKeyLen is the shortest key New accepts.
	MinKeyLen = 32

	stampLen = 8                      // issued-at, big-endian unix seconds
	rawLen   = stampLen + sha256.Size // stamp || HMAC
	maskLen  = 2 * rawLen             // pad || (raw XOR pad)
	tokenLen = (maskLen*8 + 5) / 6    // unpadded base64 characters
	domain   = "csrf"                 // separates this HMAC from any other use of the key
	skew     = 5 * time.Minute        // tolerated clock difference between instances
)

// Tokens issues and checks CSRF tokens with one key. It is safe for concurrent use.
type Tokens struct {
	// Rand supplies the masks; nil means crypto/rand. Tests may set it before first use.
	Rand io.Reader

	key []byte
	ttl time.Duration
	now func() time.Time
}

// New returns Tokens that sign with key and accept a token for ttl after it was issued;
// a ttl of 0 means tokens never expire. A nil now means time.Now. New panics if key is
// shorter than MinKeyLen bytes: that is a mistake in the program's setup, not bad input.
func New(key []byte, ttl time.Duration, now func() time.Time) *Tokens {
	if len(key) < MinKeyLen {
		panic(fmt.Sprintf("csrf: key must be at least %d bytes, got %d", MinKeyLen, len(key)))
	}
	if now == nil {
		now = time.Now
	}

	return &Tokens{key: append([]byte(nil), key...), ttl: ttl, now: now}
}

// String describes t without revealing its key, so printing it by mistake leaks nothing.
func (t *Tokens) String() string {
	return fmt.Sprintf("csrf.Tokens{ttl: %s}", t.ttl)
}

// GoString is String, for the %#v verb.
func (t *Tokens) GoString() string {
	return t.String()
}

// Issue returns a token for sessionID, masked afresh so that no two calls return the same
// string. Put it in forms as csrf_token and in pages for the X-CSRFToken header.
func (t *Tokens) Issue(sessionID string) string {
	raw := t.raw(sessionID, t.now().Unix())

	masked := make([]byte, maskLen)
	pad, body := masked[:rawLen], masked[rawLen:]
	t.fillPad(pad)
	for i := range raw {
		body[i] = raw[i] ^ pad[i]
	}

	return base64.RawURLEncoding.EncodeToString(masked)
}

// Check returns nil if token was issued for sessionID by these Tokens and has not expired.
// Otherwise it returns an error wrapping ErrMissing, ErrMalformed, ErrExpired or
// ErrMismatch; none of them says more than that, so all can be logged safely.
func (t *Tokens) Check(sessionID, token string) error {
	if token == "" {
		return ErrMissing
	}

	raw, err := unmask(token)
	if err != nil {
		return err
	}

	issued := int64(binary.BigEndian.Uint64(raw[:stampLen]))
	want := t.raw(sessionID, issued)
	if !hmac.Equal(raw, want) {
		return ErrMismatch
	}

	return t.checkAge(issued)
}

// checkAge refuses a genuine token issued too long ago, or so far in the future that the
// clock must have been wrong when it was made.
func (t *Tokens) checkAge(issued int64) error {
	if t.ttl <= 0 {
		return nil
	}

	age := t.now().Sub(time.Unix(issued, 0))
	if age > t.ttl {
		return fmt.Errorf("%w: issued %s ago, limit %s", ErrExpired,
			age.Truncate(time.Second), t.ttl)
	}
	if age < -skew {
		return fmt.Errorf("%w: issued %s in the future", ErrExpired,
			(-age).Truncate(time.Second))
	}

	return nil
}

// raw returns issued-at || HMAC-SHA256(key, "csrf" || sessionID || issued-at). The session
// id is the only variable-length part, so no two inputs can run together.
func (t *Tokens) raw(sessionID string, issued int64) []byte {
	out := make([]byte, stampLen, rawLen)
	binary.BigEndian.PutUint64(out, uint64(issued))

	mac := hmac.New(sha256.New, t.key)
	mac.Write([]byte(domain))
	mac.Write([]byte(sessionID))
	mac.Write(out[:stampLen])

	return mac.Sum(out)
}

// fillPad fills pad with random bytes, from Rand when set and it works, else crypto/rand.
func (t *Tokens) fillPad(pad []byte) {
	if t.Rand != nil {
		if _, err := io.ReadFull(t.Rand, pad); err == nil {
			return
		}
	}

	rand.Read(pad) // never fails: the runtime aborts if the system has no randomness
}

// unmask decodes a token from Issue back to its raw form.
func unmask(token string) ([]byte, error) {
	if len(token) != tokenLen {
		return nil, fmt.Errorf("%w: %d characters, want %d", ErrMalformed, len(token), tokenLen)
	}

	masked, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || len(masked) != maskLen {
		return nil, fmt.Errorf("%w: not unpadded URL-safe base64", ErrMalformed)
	}

	pad, body := masked[:rawLen], masked[rawLen:]
	for i := range body {
		body[i] ^= pad[i]
	}

	return body, nil
}
