package secret

import (
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

const (
	// KeySize is the length in bytes of every key: AES-256.
	KeySize = 32

	envName  = "API_KEY_ENCRYPTION_KEY"
	maxIDLen = 32
)

// GenerateKey returns a new random key in standard base64, ready for API_KEY_ENCRYPTION_KEY.
func GenerateKey() string {
	key := make([]byte, KeySize)
	rand.Read(key) // never fails: the runtime aborts if the system has no randomness

	return base64.StdEncoding.EncodeToString(key)
}

// ParseKeyRing reads API_KEY_ENCRYPTION_KEY. It accepts one key of 32 bytes in base64
// (standard or URL alphabet, with or without padding), or a comma-separated list of
// "id:base64key" entries whose first is the primary key and whose others only open older
// secrets. An entry without "id:" gets the first 8 hex digits of its key's SHA-256 as id.
// Errors say which entry is wrong and how, without repeating any key.
func ParseKeyRing(s string) (*KeyRing, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("%s is empty: set it to %d random bytes in base64, "+
			"such as the output of `openssl rand -base64 32`", envName, KeySize)
	}

	entries := strings.Split(s, ",")
	ring := &KeyRing{aeads: make(map[string]cipher.AEAD, len(entries))}
	for i, entry := range entries {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}

		where := envName
		if len(entries) > 1 {
			where = fmt.Sprintf("%s entry %d", envName, i+1)
		}
		if err := ring.add(where, entry); err != nil {
			return nil, err
		}
	}
	if len(ring.ids) == 0 {
		return nil, fmt.Errorf("%s holds no key, only commas", envName)
	}

	return ring, nil
}

// add parses one "[id:]base64key" entry into the ring; where names it in errors.
func (r *KeyRing) add(where, entry string) error {
	id, encoded, named := strings.Cut(entry, ":")
	if !named {
		encoded = entry
	}

	key, err := decodeKey(strings.TrimSpace(encoded))
	if err != nil {
		return fmt.Errorf("%s %w", where, err)
	}

	id = strings.TrimSpace(id)
	if !named {
		id = KeyID(key)
	}
	if !validID(id) {
		return fmt.Errorf("%s has key id %q; use 1 to %d letters, digits, '-' or '_'",
			where, id, maxIDLen)
	}
	if _, dup := r.aeads[id]; dup {
		return fmt.Errorf("%s repeats key id %q; each key needs its own id", where, id)
	}

	aead, err := newAEAD(key)
	if err != nil {
		return fmt.Errorf("%s: set up AES-GCM: %w", where, err)
	}
	r.aeads[id] = aead
	r.ids = append(r.ids, id)

	return nil
}

// KeyID returns the id a key gets when none is given: the first 8 hex digits of its SHA-256.
func KeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:4])
}

// decodeKey reads a base64 key in any of the four usual spellings and checks its size.
// Its errors complete a sentence that starts with where the key came from.
func decodeKey(encoded string) ([]byte, error) {
	encodings := []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	}

	for _, enc := range encodings {
		key, err := enc.DecodeString(encoded)
		if err != nil {
			continue
		}
		if len(key) != KeySize {
			return nil, fmt.Errorf("must be %d bytes of base64, got %d bytes", KeySize, len(key))
		}
		return key, nil
	}

	return nil, errors.New("is not base64; generate a key with `openssl rand -base64 32`")
}

// validID reports whether id can name a key inside a sealed secret's "v1.<id>.<data>".
func validID(id string) bool {
	if id == "" || len(id) > maxIDLen {
		return false
	}

	for _, c := range []byte(id) {
		ok := c == '-' || c == '_' ||
			('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
		if !ok {
			return false
		}
	}

	return true
}
