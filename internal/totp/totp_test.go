package totp_test

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/totp"
)

// TestRFC6238Vectors checks the test vectors of RFC 6238, appendix B: eight digits, 30-second
// steps, with the seed of each hash.
func TestRFC6238Vectors(t *testing.T) {
	seeds := map[string]struct {
		seed string
		hash func() hash.Hash
	}{
		"SHA1":   {"12345678901234567890", sha1.New},
		"SHA256": {"12345678901234567890123456789012", sha256.New},
		"SHA512": {"1234567890123456789012345678901234567890123456789012345678901234",
			sha512.New},
	}
	vectors := []struct {
		unix int64
		alg  string
		want string
	}{
		{59, "SHA1", "94287082"}, {59, "SHA256", "46119246"}, {59, "SHA512", "90693936"},
		{1111111109, "SHA1", "07081804"}, {1111111109, "SHA256", "68084774"},
		{1111111109, "SHA512", "25091201"},
		{1111111111, "SHA1", "14050471"}, {1111111111, "SHA256", "67062674"},
		{1111111111, "SHA512", "99943326"},
		{1234567890, "SHA1", "89005924"}, {1234567890, "SHA256", "91819424"},
		{1234567890, "SHA512", "93441116"},
		{2000000000, "SHA1", "69279037"}, {2000000000, "SHA256", "90698825"},
		{2000000000, "SHA512", "38618901"},
		{20000000000, "SHA1", "65353130"}, {20000000000, "SHA256", "77737706"},
		{20000000000, "SHA512", "47863826"},
	}
	for _, v := range vectors {
		s := seeds[v.alg]
		p := totp.Params{Digits: 8, Period: 30 * time.Second, Hash: s.hash}
		if got := p.Generate([]byte(s.seed), time.Unix(v.unix, 0)); got != v.want {
			t.Errorf("%s at %d: got %s, want %s", v.alg, v.unix, got, v.want)
		}
	}
}

// TestRFC4226Vectors checks HOTP values 0-9 of RFC 4226, appendix D (six digits).
func TestRFC4226Vectors(t *testing.T) {
	want := []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922",
		"162583", "399871", "520489"}
	for i, w := range want {
		if got := totp.Default.At([]byte("12345678901234567890"), int64(i)); got != w {
			t.Errorf("counter %d: got %s, want %s", i, got, w)
		}
	}
}

func TestCheck(t *testing.T) {
	secret := []byte("12345678901234567890")
	now := time.Unix(1111111111, 0)
	step := totp.Default.Step(now)
	code := totp.Default.Generate(secret, now)

	cases := []struct {
		name string
		code string
		at   time.Time
		last int64
		ok   bool
	}{
		{"current", code, now, 0, true},
		{"typed with a space", code[:3] + " " + code[3:], now, 0, true},
		{"one step late", code, now.Add(30 * time.Second), 0, true},
		{"two steps late", code, now.Add(61 * time.Second), 0, false},
		{"already used", code, now, step, false},
		{"wrong", "000000", now, 0, code == "000000"},
		{"too short", code[:5], now, 0, false},
		{"letters", "abcdef", now, 0, false},
	}
	for _, c := range cases {
		got, ok := totp.Default.Check(secret, c.code, c.at, c.last)
		if ok != c.ok {
			t.Errorf("%s: ok = %v, want %v", c.name, ok, c.ok)
		}
		if ok && got != step {
			t.Errorf("%s: matched step %d, want %d", c.name, got, step)
		}
	}
}

func TestSecretRoundTripAndURI(t *testing.T) {
	s := totp.NewSecret()
	if len(s) != totp.SecretSize {
		t.Fatalf("secret of %d bytes", len(s))
	}
	enc := totp.EncodeSecret(s)
	back, err := totp.DecodeSecret(strings.ToLower(enc[:8]) + " " + enc[8:])
	if err != nil || string(back) != string(s) {
		t.Fatalf("round trip: %v", err)
	}
	if _, err := totp.DecodeSecret("not base32!"); err == nil {
		t.Fatal("accepted junk as a secret")
	}

	u, err := url.Parse(totp.URI("SketchMaker", "ann@example.com", s))
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "otpauth" || u.Host != "totp" || u.Query().Get("secret") != enc ||
		u.Query().Get("issuer") != "SketchMaker" ||
		!strings.Contains(u.Path, "ann@example.com") {
		t.Fatalf("uri = %s", u)
	}
}

func FuzzCheck(f *testing.F) {
	for _, s := range []string{"123456", " 12 34 56 ", "", "-", "١٢٣٤٥٦", "9999999"} {
		f.Add(s)
	}
	secret := []byte("12345678901234567890")
	now := time.Unix(1700000000, 0)
	f.Fuzz(func(t *testing.T, code string) {
		step, ok := totp.Default.Check(secret, code, now, 0)
		if ok && totp.Default.At(secret, step) != totp.Clean(code) {
			t.Fatalf("accepted %q for step %d", code, step)
		}
	})
}

func FuzzDecodeSecret(f *testing.F) {
	for _, s := range []string{"JBSWY3DPEHPK3PXP", "jbsw y3dp ehpk 3pxp", "====", "0189"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := totp.DecodeSecret(s)
		if err != nil {
			return
		}
		again, err := totp.DecodeSecret(totp.EncodeSecret(b))
		if err != nil || string(again) != string(b) {
			t.Fatalf("%q does not round-trip", s)
		}
	})
}
