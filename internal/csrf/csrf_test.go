package csrf

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

var (
	testKey   = []byte("0123456789abcdef0123456789abcdef")
	otherKey  = []byte("fedcba9876543210fedcba9876543210")
	testStart = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)
)

// clock is a settable time source for the tests.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestCheck(t *testing.T) {
	const ttl = time.Hour

	tests := []struct {
		name    string
		key     []byte
		noLimit bool          // the checker accepts tokens of any age
		session string        // session the token is checked against
		elapsed time.Duration // time between Issue and Check
		mangle  func(string) string
		want    error
	}{
		{name: "fresh token", session: "s1"},
		{name: "just inside the limit", session: "s1", elapsed: ttl},
		{name: "one second too old", session: "s1", elapsed: ttl + time.Second, want: ErrExpired},
		{name: "no limit", noLimit: true, session: "s1", elapsed: 10 * 365 * 24 * time.Hour},
		{name: "issued slightly in the future", session: "s1", elapsed: -4 * time.Minute},
		{name: "issued far in the future", session: "s1", elapsed: -time.Hour, want: ErrExpired},
		{name: "another session", session: "s2", want: ErrMismatch},
		{name: "empty session", session: "", want: ErrMismatch},
		{name: "session id prefix", session: "s", want: ErrMismatch},
		{name: "another key", key: otherKey, session: "s1", want: ErrMismatch},
		{name: "empty token", session: "s1", mangle: func(string) string { return "" },
			want: ErrMissing},
		{name: "truncated", session: "s1", mangle: func(s string) string { return s[:len(s)-1] },
			want: ErrMalformed},
		{name: "extended", session: "s1", mangle: func(s string) string { return s + "A" },
			want: ErrMalformed},
		{name: "padded", session: "s1", mangle: func(s string) string { return s[:len(s)-1] + "=" },
			want: ErrMalformed},
		{name: "standard alphabet", session: "s1", mangle: replaceAt(10, '+'), want: ErrMalformed},
		{name: "not base64", session: "s1", mangle: replaceAt(50, '*'), want: ErrMalformed},
		{name: "one character changed", session: "s1", mangle: flipAt(60), want: ErrMismatch},
		{name: "pad changed", session: "s1", mangle: flipAt(3), want: ErrMismatch},
		{name: "unmasked raw token", session: "s1", mangle: unmaskedForm, want: ErrMalformed},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &clock{testStart}
			issuer := New(testKey, ttl, c.now)
			checkKey, checkTTL := testKey, ttl
			if tt.key != nil {
				checkKey = tt.key
			}
			if tt.noLimit {
				checkTTL = 0
			}
			checker := New(checkKey, checkTTL, c.now)

			token := issuer.Issue("s1")
			if tt.mangle != nil {
				token = tt.mangle(token)
			}
			c.t = c.t.Add(tt.elapsed)

			err := checker.Check(tt.session, token)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Check = %v, want %v", err, tt.want)
			}
		})
	}
}

func replaceAt(i int, c byte) func(string) string {
	return func(s string) string { return s[:i] + string(c) + s[i+1:] }
}

// flipAt swaps the character at i for another one of the URL-safe alphabet.
func flipAt(i int) func(string) string {
	return func(s string) string {
		c := byte('A')
		if s[i] == 'A' {
			c = 'B'
		}
		return replaceAt(i, c)(s)
	}
}

// unmaskedForm turns a masked token back into its raw bytes in base64, as a client that
// skipped the mask would send it.
func unmaskedForm(s string) string {
	raw, err := unmask(s)
	if err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(raw)
}

// With an all-zero pad the masked token shows the raw layout: issued-at, then the HMAC of
// "csrf", the session id and issued-at, computed here independently.
func TestIssueLayout(t *testing.T) {
	tokens := New(testKey, time.Hour, func() time.Time { return testStart })
	tokens.Rand = bytes.NewReader(make([]byte, 1024))

	masked, err := base64.RawURLEncoding.DecodeString(tokens.Issue("session-42"))
	if err != nil {
		t.Fatal(err)
	}
	if len(masked) != 80 {
		t.Fatalf("masked token is %d bytes, want 80", len(masked))
	}

	stamp := make([]byte, 8)
	binary.BigEndian.PutUint64(stamp, uint64(testStart.Unix()))
	mac := hmac.New(sha256.New, testKey)
	fmt.Fprintf(mac, "csrf%s%s", "session-42", stamp)
	want := append(stamp, mac.Sum(nil)...)

	if !bytes.Equal(masked[:40], make([]byte, 40)) || !bytes.Equal(masked[40:], want) {
		t.Fatalf("token bytes = %x, want zero pad then %x", masked, want)
	}
}

func TestIssueMasksEveryResponse(t *testing.T) {
	tokens := New(testKey, time.Hour, func() time.Time { return testStart })

	seen := make(map[string]bool)
	for range 100 {
		token := tokens.Issue("s1")
		if seen[token] {
			t.Fatalf("Issue repeated token %q", token)
		}
		seen[token] = true
		if err := tokens.Check("s1", token); err != nil {
			t.Fatalf("Check(fresh token) = %v", err)
		}
	}
}

func TestIssueSurvivesFailingRand(t *testing.T) {
	tokens := New(testKey, time.Hour, nil)
	tokens.Rand = iotest.ErrReader(errors.New("entropy source unplugged"))

	a, b := tokens.Issue("s1"), tokens.Issue("s1")
	if a == b {
		t.Fatal("tokens repeat when the injected reader fails")
	}
	if err := tokens.Check("s1", a); err != nil {
		t.Fatalf("Check = %v", err)
	}
}

func TestNewRefusesShortKey(t *testing.T) {
	defer func() {
		msg, _ := recover().(string)
		if !strings.Contains(msg, "at least 32 bytes, got 16") {
			t.Fatalf("panic = %q, want a message naming the key length", msg)
		}
	}()

	New([]byte("only-sixteen-byt"), time.Hour, nil)
}

func TestNewCopiesKey(t *testing.T) {
	key := bytes.Clone(testKey)
	tokens := New(key, 0, nil)
	token := tokens.Issue("s1")

	key[0] ^= 0xff
	if err := tokens.Check("s1", token); err != nil {
		t.Fatalf("changing the caller's key slice changed the Tokens: %v", err)
	}
}

func TestPrintingHidesKey(t *testing.T) {
	tokens := New(testKey, time.Hour, nil)

	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, tokens)
		if strings.Contains(out, string(testKey)) || strings.Contains(out, "48 49 50") {
			t.Errorf("Sprintf(%s) = %q reveals the key", verb, out)
		}
	}
}

func FuzzCheck(f *testing.F) {
	tokens := New(testKey, time.Hour, func() time.Time { return testStart })
	valid := tokens.Issue("s1")
	seeds := []string{valid, valid[:50], valid + "==", "", "AAAA", strings.Repeat("A", 107)}
	for _, seed := range seeds {
		f.Add(seed)
	}

	// Raw tokens are deterministic for a fixed session and clock, so the fuzzer can tell
	// exactly which inputs must be accepted.
	want := tokens.raw("s1", testStart.Unix())

	f.Fuzz(func(t *testing.T, token string) {
		err := tokens.Check("s1", token)

		known := errors.Is(err, ErrMissing) || errors.Is(err, ErrMalformed) ||
			errors.Is(err, ErrExpired) || errors.Is(err, ErrMismatch)
		if err != nil && !known {
			t.Fatalf("Check(%q) = %v, not one of the sentinel errors", token, err)
		}

		raw, uerr := unmask(token)
		genuine := uerr == nil && bytes.Equal(raw, want)
		if (err == nil) != genuine {
			t.Fatalf("Check(%q) = %v, but genuine = %v", token, err, genuine)
		}
		if uerr == nil && base64.RawURLEncoding.EncodeToString(mask(raw, token)) != token {
			t.Fatalf("decoding %q is not the inverse of encoding", token)
		}
	})
}

// mask re-applies the pad carried by token to raw, giving back the token's bytes.
func mask(raw []byte, token string) []byte {
	masked, _ := base64.RawURLEncoding.DecodeString(token)
	for i := range raw {
		masked[rawLen+i] = raw[i] ^ masked[i]
	}
	return masked
}
