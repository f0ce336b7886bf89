package secret

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

var (
	// zeroKey is 32 zero bytes; its SHA-256 starts 66687aad.
	zeroKey = base64.StdEncoding.EncodeToString(make([]byte, 32))

	// symbolKey's standard and URL spellings differ, to exercise both alphabets.
	symbolKey    = append(bytes.Repeat([]byte{0xfb, 0xff, 0xbf}, 10), 0xfe, 0xfa)
	symbolStd    = "+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+//vo="
	symbolURL    = "-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-__vo="
	symbolKeyID  = "0591afb8"
	shortKey16   = base64.StdEncoding.EncodeToString(make([]byte, 16))
	sealedFormat = regexp.MustCompile(`^v1\.[A-Za-z0-9_-]{1,32}\.[A-Za-z0-9_-]+$`)
)

func mustRing(t testing.TB, s string) *KeyRing {
	t.Helper()

	ring, err := ParseKeyRing(s)
	if err != nil {
		t.Fatalf("ParseKeyRing: %v", err)
	}
	return ring
}

func TestParseKeyRing(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantIDs []string
		wantErr string
	}{
		{name: "one key, standard padded", in: zeroKey, wantIDs: []string{"66687aad"}},
		{name: "surrounding spaces", in: "  " + zeroKey + "\n", wantIDs: []string{"66687aad"}},
		{name: "standard alphabet", in: symbolStd, wantIDs: []string{symbolKeyID}},
		{name: "standard unpadded", in: strings.TrimRight(symbolStd, "="),
			wantIDs: []string{symbolKeyID}},
		{name: "URL alphabet", in: symbolURL, wantIDs: []string{symbolKeyID}},
		{name: "URL unpadded", in: strings.TrimRight(symbolURL, "="),
			wantIDs: []string{symbolKeyID}},
		{name: "one named key", in: "k2025:" + zeroKey, wantIDs: []string{"k2025"}},
		{name: "named list, primary first", in: "new:" + symbolStd + ",old:" + zeroKey,
			wantIDs: []string{"new", "old"}},
		{name: "unnamed list", in: symbolURL + ", " + zeroKey + ",",
			wantIDs: []string{symbolKeyID, "66687aad"}},
		{name: "mixed list", in: "new_1 : " + symbolStd + "," + zeroKey,
			wantIDs: []string{"new_1", "66687aad"}},

		{name: "empty", in: "", wantErr: "API_KEY_ENCRYPTION_KEY is empty"},
		{name: "blank", in: " \t", wantErr: "API_KEY_ENCRYPTION_KEY is empty"},
		{name: "only commas", in: ",,", wantErr: "API_KEY_ENCRYPTION_KEY holds no key"},
		{name: "16 bytes", in: shortKey16,
			wantErr: "API_KEY_ENCRYPTION_KEY must be 32 bytes of base64, got 16 bytes"},
		{name: "33 bytes", in: base64.StdEncoding.EncodeToString(make([]byte, 33)),
			wantErr: "API_KEY_ENCRYPTION_KEY must be 32 bytes of base64, got 33 bytes"},
		{name: "a passphrase", in: "correct horse battery staple",
			wantErr: "API_KEY_ENCRYPTION_KEY is not base64"},
		{name: "hex instead of base64", in: strings.Repeat("ab", 32),
			wantErr: "must be 32 bytes of base64, got 48 bytes"},
		{name: "second entry too short", in: "new:" + zeroKey + ",old:" + shortKey16,
			wantErr: "API_KEY_ENCRYPTION_KEY entry 2 must be 32 bytes of base64, got 16 bytes"},
		{name: "dot in id", in: "v1.a:" + zeroKey, wantErr: `has key id "v1.a"`},
		{name: "empty id", in: ":" + zeroKey, wantErr: `has key id ""`},
		{name: "long id", in: strings.Repeat("a", 33) + ":" + zeroKey, wantErr: "has key id"},
		{name: "repeated id", in: "a:" + zeroKey + ",a:" + symbolStd,
			wantErr: `entry 2 repeats key id "a"`},
		{name: "same key twice", in: zeroKey + "," + zeroKey, wantErr: `repeats key id "66687aad"`},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ring, err := ParseKeyRing(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseKeyRing error = %v, want it to contain %q", err, tt.wantErr)
				}
				assertNoKeyIn(t, err.Error(), tt.in)
				return
			}
			if err != nil {
				t.Fatalf("ParseKeyRing: %v", err)
			}
			if !slices.Equal(ring.KeyIDs(), tt.wantIDs) || ring.PrimaryID() != tt.wantIDs[0] {
				t.Fatalf("key ids = %v (primary %s), want %v", ring.KeyIDs(), ring.PrimaryID(),
					tt.wantIDs)
			}
		})
	}
}

// assertNoKeyIn fails if text repeats any base64 key found in the configuration value.
func assertNoKeyIn(t *testing.T, text, config string) {
	t.Helper()

	for _, entry := range strings.Split(config, ",") {
		_, key, _ := strings.Cut(entry, ":")
		if key == "" {
			key = entry
		}
		if key = strings.TrimSpace(key); len(key) >= 16 && strings.Contains(text, key) {
			t.Fatalf("message %q repeats a key from the configuration", text)
		}
	}
}

func TestSealOpen(t *testing.T) {
	ring := mustRing(t, symbolStd)
	tests := []struct {
		name      string
		plaintext []byte
		ad        string
	}{
		{"provider key", []byte("fal-key-1234567890abcdef"), "provider:fal"},
		{"empty secret", []byte{}, "smtp:password"},
		{"binary", []byte{0, 1, 2, 0xff, '.', 0}, "oauth:google"},
		{"no associated data", []byte("x"), ""},
		{"large", bytes.Repeat([]byte("s3cr3t"), 10000), "provider:openai"},
		{"unicode", []byte("pässwörd 🔑"), "smtp:password"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sealed, err := ring.Seal(tt.plaintext, tt.ad)
			if err != nil {
				t.Fatal(err)
			}
			if !sealedFormat.MatchString(sealed) || !strings.HasPrefix(sealed, "v1."+symbolKeyID+".") {
				t.Fatalf("Seal = %.60q, want v1.%s.<base64url>", sealed, symbolKeyID)
			}
			if len(tt.plaintext) > 3 && bytes.Contains([]byte(sealed), tt.plaintext) {
				t.Fatal("sealed text contains the plaintext")
			}

			again, _ := ring.Seal(tt.plaintext, tt.ad)
			if again == sealed {
				t.Fatal("two seals of the same secret are identical; nonces repeat")
			}

			got, err := ring.Open(sealed, tt.ad)
			if err != nil || !bytes.Equal(got, tt.plaintext) {
				t.Fatalf("Open = %.40q, %v; want the plaintext back", got, err)
			}
		})
	}
}

func TestOpenRefuses(t *testing.T) {
	ring := mustRing(t, "new:"+symbolStd+",old:"+zeroKey)
	sealed, err := ring.Seal([]byte("fal-key-1234567890abcdef"), "provider:fal")
	if err != nil {
		t.Fatal(err)
	}
	data := strings.TrimPrefix(sealed, "v1.new.")

	tests := []struct {
		name    string
		text    string
		ad      string
		want    error
		wantMsg string
	}{
		{name: "moved to another provider's row", text: sealed, ad: "provider:openai",
			want: ErrCorrupt, wantMsg: `does not authenticate for "provider:openai"`},
		{name: "moved to the SMTP row", text: sealed, ad: "smtp:password", want: ErrCorrupt},
		{name: "associated data dropped", text: sealed, ad: "", want: ErrCorrupt},
		{name: "relabelled as the other key", text: "v1.old." + data, ad: "provider:fal",
			want: ErrCorrupt},
		{name: "sealed under a key not in the ring", text: "v1.gone." + data, ad: "provider:fal",
			want: ErrUnknownKey, wantMsg: `key id "gone" is not in API_KEY_ENCRYPTION_KEY`},
		{name: "one character changed", text: flip(sealed, len(sealed)-10), ad: "provider:fal",
			want: ErrCorrupt},
		{name: "nonce changed", text: flip(sealed, len("v1.new.")+2), ad: "provider:fal",
			want: ErrCorrupt},
		{name: "truncated", text: sealed[:len(sealed)-4], ad: "provider:fal", want: ErrCorrupt},
		{name: "shorter than a tag", text: "v1.new.AAAA", ad: "provider:fal", want: ErrCorrupt},
		{name: "padded base64", text: sealed + "=", ad: "provider:fal", want: ErrCorrupt},
		{name: "standard alphabet", text: sealed + "+", ad: "provider:fal", want: ErrCorrupt},
		{name: "future version", text: "v2.new." + data, ad: "provider:fal", want: ErrCorrupt,
			wantMsg: "not in the v1.<key id>.<data> form"},
		{name: "plaintext stored by mistake", text: "sk-live-abcdef", ad: "provider:fal",
			want: ErrCorrupt},
		{name: "no data", text: "v1.new.", ad: "provider:fal", want: ErrCorrupt},
		{name: "no key id", text: "v1.." + data, ad: "provider:fal", want: ErrCorrupt},
		{name: "extra part", text: "v1.new.x." + data, ad: "provider:fal", want: ErrCorrupt},
		{name: "empty", text: "", ad: "provider:fal", want: ErrCorrupt},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ring.Open(tt.text, tt.ad)
			if !errors.Is(err, tt.want) || got != nil {
				t.Fatalf("Open = %q, %v; want %v", got, err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("Open error %q does not contain %q", err, tt.wantMsg)
			}
			if strings.Contains(err.Error(), "fal-key") {
				t.Fatalf("Open error %q reveals the secret", err)
			}
		})
	}
}

func flip(s string, i int) string {
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}

func TestRotation(t *testing.T) {
	oldRing := mustRing(t, zeroKey)
	sealed, err := oldRing.Seal([]byte("smtp-password"), "smtp:password")
	if err != nil {
		t.Fatal(err)
	}

	// The operator adds a new primary key in front and keeps the old one for reading.
	ring := mustRing(t, symbolURL+","+zeroKey)
	if !ring.NeedsRotation(sealed) {
		t.Fatal("NeedsRotation = false for a secret under the old key")
	}

	rotated, err := ring.Rotate(sealed, "smtp:password")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(rotated, "v1."+symbolKeyID+".") || ring.NeedsRotation(rotated) {
		t.Fatalf("Rotate = %.30q..., want it under the primary key %s", rotated, symbolKeyID)
	}
	if got, err := ring.Open(rotated, "smtp:password"); err != nil || string(got) != "smtp-password" {
		t.Fatalf("Open(rotated) = %q, %v", got, err)
	}
	if again, err := ring.Rotate(rotated, "smtp:password"); err != nil || again != rotated {
		t.Fatalf("Rotate(already primary) = %v, want the same text back", err)
	}

	// Rotation checks the row binding too.
	if _, err := ring.Rotate(sealed, "provider:fal"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Rotate with the wrong row = %v, want ErrCorrupt", err)
	}

	// Once the old key is dropped, what was not rotated can no longer be read.
	newOnly := mustRing(t, symbolURL)
	if _, err := newOnly.Open(sealed, "smtp:password"); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("Open after dropping the old key = %v, want ErrUnknownKey", err)
	}
	if !newOnly.NeedsRotation("garbage") {
		t.Fatal("NeedsRotation(garbage) = false; the rotation command would skip it silently")
	}
}

func TestNilKeyRing(t *testing.T) {
	var ring *KeyRing

	if _, err := ring.Seal([]byte("x"), "provider:fal"); err == nil ||
		!strings.Contains(err.Error(), "API_KEY_ENCRYPTION_KEY") {
		t.Fatalf("Seal on nil ring = %v, want a message naming API_KEY_ENCRYPTION_KEY", err)
	}
	if _, err := ring.Open("v1.a.b", "provider:fal"); err == nil {
		t.Fatal("Open on nil ring succeeded")
	}
	if !ring.NeedsRotation("v1.a.b") || ring.String() != "secret.KeyRing(none)" {
		t.Fatal("nil ring misreports itself")
	}
}

func TestPrintingHidesKeys(t *testing.T) {
	ring := mustRing(t, "new:"+symbolStd+",old:"+zeroKey)

	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("loaded keys", "keys", ring)

	outputs := []string{logged.String()}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		outputs = append(outputs, fmt.Sprintf(verb, ring))
	}
	for _, out := range outputs {
		if !strings.Contains(out, "primary new, 2 keys") {
			t.Errorf("output %q does not describe the ring", out)
		}
		assertNoKeyIn(t, out, symbolStd+","+zeroKey)
		if strings.Contains(out, "251 255 191") || strings.Contains(out, "fbffbf") {
			t.Errorf("output %q reveals key bytes", out)
		}
	}
}

func TestGenerateKey(t *testing.T) {
	a, b := GenerateKey(), GenerateKey()
	if a == b {
		t.Fatal("GenerateKey repeated itself")
	}

	raw, err := base64.StdEncoding.DecodeString(a)
	if err != nil || len(raw) != KeySize {
		t.Fatalf("GenerateKey = %q: %d bytes, %v; want 32 bytes of base64", a, len(raw), err)
	}
	ring := mustRing(t, a)
	if ring.PrimaryID() != KeyID(raw) {
		t.Fatalf("primary id %s, want %s", ring.PrimaryID(), KeyID(raw))
	}
}

func TestLast4(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"a", "…"},
		{"abcd", "…"},
		{"abcde", "…de"},
		{"abcdefgh", "…gh"},
		{"abcdefghi", "…fghi"},
		{"sk-proj-0123456789abcdefWXYZ", "…WXYZ"},
		{"pässwörd", "…rd"},
		{"ключ-доступа-1234", "…1234"},
		{"🔑🔑🔑🔑🔑🔑🔑🔑🔑🔐", "…🔑🔑🔑🔐"},
	}

	for _, tt := range tests {
		if got := Last4(tt.in); got != tt.want {
			t.Errorf("Last4(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzParseKeyRing(f *testing.F) {
	for _, seed := range []string{
		zeroKey, symbolURL, "new:" + symbolStd + ",old:" + zeroKey, "", ",", ":", "a:b:c",
		shortKey16, "v1.a:" + zeroKey, strings.TrimRight(symbolStd, "="),
	} {
		f.Add(seed)
	}

	f.Fuzz(func(t *testing.T, s string) {
		ring, err := ParseKeyRing(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "API_KEY_ENCRYPTION_KEY ") {
				t.Fatalf("ParseKeyRing(%q) error %q does not name the variable", s, err)
			}
			assertNoKeyIn(t, err.Error(), s)
			return
		}

		// Every ring that parses must work.
		sealed, err := ring.Seal([]byte("probe"), "fuzz")
		if err != nil {
			t.Fatal(err)
		}
		if got, err := ring.Open(sealed, "fuzz"); err != nil || string(got) != "probe" {
			t.Fatalf("ring from %q cannot open its own seal: %v", s, err)
		}
	})
}

func FuzzOpen(f *testing.F) {
	ring := mustRing(f, "new:"+symbolStd+",old:"+zeroKey)
	genuine := make(map[string]bool)
	for i, ad := range []string{"provider:fal", "smtp:password"} {
		// Seeds must be the same in every fuzzing worker, so their nonces are fixed here.
		nonce := bytes.Repeat([]byte{byte(i)}, nonceSize)
		ct := ring.aeads["new"].Seal(nonce, nonce, []byte("fal-key-1234567890abcdef"), []byte(ad))
		sealed := "v1.new." + base64.RawURLEncoding.EncodeToString(ct)
		genuine[sealed+"\x00"+ad] = true
		f.Add(sealed, ad)
	}
	f.Add("v1.gone.AAAA", "provider:fal")
	f.Add("v1..", "")
	f.Add("", "")

	f.Fuzz(func(t *testing.T, text, ad string) {
		got, err := ring.Open(text, ad)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnknownKey) {
				t.Fatalf("Open(%q) = %v, want ErrCorrupt or ErrUnknownKey", text, err)
			}
			return
		}

		// Forging a ciphertext is as hard as breaking AES-GCM, so only the seeds open.
		if !genuine[text+"\x00"+ad] || string(got) != "fal-key-1234567890abcdef" {
			t.Fatalf("Open(%q, %q) accepted a text that was never sealed", text, ad)
		}
	})
}

func FuzzLast4(f *testing.F) {
	for _, seed := range []string{"", "abc", "abcdefgh", "abcdefghi", "🔑🔑🔑🔑🔑🔑🔑🔑🔑", "\xff\xfe\xfd"} {
		f.Add(seed)
	}

	f.Fuzz(func(t *testing.T, s string) {
		got := Last4(s)
		if s == "" {
			if got != "" {
				t.Fatalf("Last4(\"\") = %q", got)
			}
			return
		}

		shown, ok := strings.CutPrefix(got, "…")
		if !ok || !strings.HasSuffix(s, shown) {
			t.Fatalf("Last4(%q) = %q, want … and an ending of the secret", s, got)
		}
		n, revealed := utf8.RuneCountInString(s), utf8.RuneCountInString(shown)
		if revealed > 4 || (n <= 8 && revealed > 2) || revealed >= n {
			t.Fatalf("Last4(%q) = %q reveals too much of a %d-character secret", s, got, n)
		}
	})
}

func TestSymbolKeySpellings(t *testing.T) {
	if got := base64.StdEncoding.EncodeToString(symbolKey); got != symbolStd {
		t.Fatalf("standard spelling %q, want %q", got, symbolStd)
	}
	if got := base64.URLEncoding.EncodeToString(symbolKey); got != symbolURL {
		t.Fatalf("URL spelling %q, want %q", got, symbolURL)
	}
}
