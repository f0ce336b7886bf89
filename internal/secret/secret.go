// Package secret encrypts the secrets SketchMaker keeps in its database (provider API keys,
// SMTP passwords, OAuth client secrets) with a key that lives only in the environment.
//
// A sealed secret reads "v1.<key id>.<base64url(nonce || AES-256-GCM ciphertext)>". The key
// id names which key of the ring sealed it, so old keys can stay in API_KEY_ENCRYPTION_KEY
// for reading while new secrets are sealed under the first one. The associated data given
// to Seal and Open, such as "provider:fal", ties a ciphertext to the row it was written for:
// copied into another row, it no longer opens.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"unicode/utf8"
)

// Reasons Open refuses a sealed secret; the returned error wraps one of them.
var (
	// ErrUnknownKey means the secret was sealed under a key id the ring does not hold:
	// API_KEY_ENCRYPTION_KEY is wrong, or lacks the old key the secret was sealed with.
	ErrUnknownKey = errors.New("secret sealed with an unknown key")

	// ErrCorrupt means the sealed text is damaged, was altered, or belongs to another row.
	ErrCorrupt = errors.New("sealed secret is corrupt or belongs to another record")
)

const (
	version   = "v1"
	nonceSize = 12 // the standard GCM nonce
	tagSize   = 16 // the standard GCM tag
)

// KeyRing holds the encryption keys: the primary one seals, every one opens. Printing a
// KeyRing shows its key ids only. It is safe for concurrent use.
type KeyRing struct {
	ids   []string // primary first
	aeads map[string]cipher.AEAD
}

// String lists the key ids, never the keys.
func (r *KeyRing) String() string {
	if r == nil {
		return "secret.KeyRing(none)"
	}

	return fmt.Sprintf("secret.KeyRing(primary %s, %d keys)", r.ids[0], len(r.ids))
}

// GoString is String, so that %#v cannot reveal the keys either.
func (r *KeyRing) GoString() string {
	return r.String()
}

// LogValue makes slog record the key ids only.
func (r *KeyRing) LogValue() slog.Value {
	return slog.StringValue(r.String())
}

// PrimaryID returns the id of the key new secrets are sealed with.
func (r *KeyRing) PrimaryID() string {
	return r.ids[0]
}

// KeyIDs returns the id of every key in the ring, primary first.
func (r *KeyRing) KeyIDs() []string {
	return append([]string(nil), r.ids...)
}

// Seal encrypts plaintext under the primary key, bound to associatedData, and returns the
// text to store. Seal on a nil KeyRing fails with a message saying the key is not set.
func (r *KeyRing) Seal(plaintext []byte, associatedData string) (string, error) {
	if r == nil {
		return "", errNoKey
	}

	nonce := make([]byte, nonceSize, nonceSize+len(plaintext)+tagSize)
	rand.Read(nonce) // never fails: the runtime aborts if the system has no randomness
	id := r.ids[0]
	sealed := r.aeads[id].Seal(nonce, nonce, plaintext, []byte(associatedData))

	return version + "." + id + "." + base64.RawURLEncoding.EncodeToString(sealed), nil
}

// Open decrypts a secret made by Seal with the same associatedData. Its errors wrap
// ErrUnknownKey or ErrCorrupt and never contain the secret or a key.
func (r *KeyRing) Open(ciphertext string, associatedData string) ([]byte, error) {
	if r == nil {
		return nil, errNoKey
	}

	id, data, err := split(ciphertext)
	if err != nil {
		return nil, err
	}
	aead, ok := r.aeads[id]
	if !ok {
		return nil, fmt.Errorf("%w: key id %q is not in API_KEY_ENCRYPTION_KEY, which is "+
			"wrong or missing the key this secret was sealed with", ErrUnknownKey, id)
	}

	sealed, err := base64.RawURLEncoding.Strict().DecodeString(data)
	if err != nil || len(sealed) < nonceSize+tagSize {
		return nil, fmt.Errorf("%w: the encrypted part is not valid", ErrCorrupt)
	}
	plaintext, err := aead.Open(nil, sealed[:nonceSize], sealed[nonceSize:],
		[]byte(associatedData))
	if err != nil {
		return nil, fmt.Errorf("%w: it does not authenticate for %q", ErrCorrupt, associatedData)
	}

	return plaintext, nil
}

// NeedsRotation reports whether ciphertext is not sealed under the primary key, so that the
// rotation command should re-seal it. Text that is not a sealed secret at all also reports
// true; Rotate then says what is wrong with it.
func (r *KeyRing) NeedsRotation(ciphertext string) bool {
	id, _, err := split(ciphertext)
	return r == nil || err != nil || id != r.ids[0]
}

// Rotate returns ciphertext re-sealed under the primary key, or unchanged if it already is.
func (r *KeyRing) Rotate(ciphertext string, associatedData string) (string, error) {
	if !r.NeedsRotation(ciphertext) {
		return ciphertext, nil
	}

	plaintext, err := r.Open(ciphertext, associatedData)
	if err != nil {
		return "", fmt.Errorf("rotate secret: %w", err)
	}

	return r.Seal(plaintext, associatedData)
}

var errNoKey = errors.New("no encryption key configured: set API_KEY_ENCRYPTION_KEY")

// split checks the "v1.<key id>.<data>" form and returns its key id and data.
func split(ciphertext string) (id, data string, err error) {
	v, rest, ok := strings.Cut(ciphertext, ".")
	if !ok || v != version {
		return "", "", fmt.Errorf("%w: not in the %s.<key id>.<data> form", ErrCorrupt, version)
	}

	id, data, ok = strings.Cut(rest, ".")
	if !ok || !validID(id) || data == "" {
		return "", "", fmt.Errorf("%w: not in the %s.<key id>.<data> form", ErrCorrupt, version)
	}

	return id, data, nil
}

// Last4 returns the end of a secret for display, such as "…abcd": the last four characters
// of a long secret, the last two of one of five to eight characters, and only "…" for
// anything shorter, so a short secret is never given away. An empty secret gives "".
func Last4(s string) string {
	n := utf8.RuneCountInString(s)

	var show int
	switch {
	case n == 0:
		return ""
	case n >= 9:
		show = 4
	case n >= 5:
		show = 2
	}

	// Walk back rune by rune so that a multi-byte character is never cut in half.
	end := len(s)
	for range show {
		_, size := utf8.DecodeLastRuneInString(s[:end])
		end -= size
	}

	return "…" + s[end:]
}

// newAEAD returns AES-256-GCM under key.
func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}

	return cipher.NewGCM(block)
}
