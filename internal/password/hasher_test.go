package password

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// Hashes made by libxcrypt's crypt(3), an implementation independent of Go's, with the
// salt "sketchmakerinteropsalt" at cost 4 under each prefix this package accepts.
var interop = []struct {
	pw   string
	hash string
}{
	{"Tr0ub4dor&3", "$2a$04$sketchmakerinteropsaleFRJJpnGB22WBup4995edvUpC1ZmJIYS"},
	{"Tr0ub4dor&3", "$2b$04$sketchmakerinteropsaleFRJJpnGB22WBup4995edvUpC1ZmJIYS"},
	{"Tr0ub4dor&3", "$2y$04$sketchmakerinteropsaleFRJJpnGB22WBup4995edvUpC1ZmJIYS"},
	{"correct horse battery staple",
		"$2b$04$sketchmakerinteropsaleQ5j4Ef.dvyltFQ/XQp53SoJBaRIq3nW"},
	{"Ünïcödé-Pässwört 9", "$2y$04$sketchmakerinteropsaleF/cP2EhiTHqa21n07nIxL3sUXF9jcJW"},
}

// testHasher runs at bcrypt's lowest cost so the tests stay fast.
func testHasher(t *testing.T, maxConcurrent int) *Hasher {
	t.Helper()
	return newHasher(bcrypt.MinCost, maxConcurrent)
}

func TestNewHasherCost(t *testing.T) {
	tests := []struct {
		cost, want int
	}{
		{cost: 0, want: 12},
		{cost: 4, want: 10},
		{cost: -3, want: 10},
		{cost: 10, want: 10},
		{cost: 13, want: 13},
		{cost: 40, want: 31},
	}

	for _, tt := range tests {
		if got := NewHasher(tt.cost, 1).Cost(); got != tt.want {
			t.Errorf("NewHasher(%d, 1).Cost() = %d, want %d", tt.cost, got, tt.want)
		}
	}
}

func TestHashThenVerify(t *testing.T) {
	h := testHasher(t, 2)
	ctx := context.Background()

	hash, err := h.Hash(ctx, "mauve kettle orbit 7")
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	if !strings.HasPrefix(hash, "$2a$04$") || len(hash) != 60 {
		t.Fatalf("Hash = %q, want a 60-character bcrypt hash at cost 4", hash)
	}
	again, err := h.Hash(ctx, "mauve kettle orbit 7")
	if err != nil || again == hash {
		t.Fatalf("second Hash = %q, %v; want a different salt", again, err)
	}

	tests := []struct {
		attempt string
		want    bool
	}{
		{"mauve kettle orbit 7", true},
		{"mauve kettle orbit 8", false},
		{"Mauve kettle orbit 7", false},
		{"mauve kettle orbit 7 ", false},
		{"", false},
	}
	for _, tt := range tests {
		ok, err := h.Verify(ctx, hash, tt.attempt)
		if err != nil || ok != tt.want {
			t.Errorf("Verify(%q) = %v, %v; want %v", tt.attempt, ok, err, tt.want)
		}
	}
}

func TestVerifyInteropHashes(t *testing.T) {
	h := testHasher(t, 1)
	ctx := context.Background()

	for _, v := range interop {
		ok, err := h.Verify(ctx, v.hash, v.pw)
		if err != nil || !ok {
			t.Errorf("Verify(%s, %q) = %v, %v; want true", v.hash, v.pw, ok, err)
		}
		ok, err = h.Verify(ctx, v.hash, v.pw+"x")
		if err != nil || ok {
			t.Errorf("Verify(%s, wrong) = %v, %v; want false", v.hash, ok, err)
		}
	}
}

func TestVerifyRefusesUnusableHashes(t *testing.T) {
	good := interop[1].hash
	tests := []struct {
		name string
		hash string
	}{
		{"empty", ""},
		{"plain text", "Tr0ub4dor&3"},
		{"truncated", good[:59]},
		{"too long", good + "A"},
		{"broken $2x$ prefix", "$2x$" + good[4:]},
		{"unknown version", "$3b$" + good[4:]},
		{"cost not a number", "$2b$aa" + good[6:]},
		{"cost below bcrypt minimum", "$2b$03" + good[6:]},
		{"cost above bcrypt maximum", "$2b$32" + good[6:]},
		{"missing separator", "$2b$04x" + good[7:]},
		{"character outside alphabet", good[:30] + "!" + good[31:]},
		{"argon2 hash", "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"},
	}

	h := testHasher(t, 1)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := h.Verify(context.Background(), tt.hash, "Tr0ub4dor&3")
			if err == nil || ok {
				t.Fatalf("Verify(%q) = %v, %v; want an error", tt.hash, ok, err)
			}
			if !h.NeedsRehash(tt.hash) {
				t.Fatalf("NeedsRehash(%q) = false for an unusable hash", tt.hash)
			}
		})
	}
	if h.Calls() != 0 {
		t.Fatalf("Calls() = %d, want no bcrypt work for unusable hashes", h.Calls())
	}
}

type bcryptCases struct {
	P73ASCII  string `json:"p73_ascii"`
	P73Bytes  int    `json:"p73_bytes"`
	P72       string `json:"p72_prefix_of_p73"`
	P72Bytes  int    `json:"p72_bytes"`
	Multibyte string `json:"p_multibyte_27chars"`
	MultiLen  int    `json:"p_multibyte_bytes"`
}

func loadBcryptCases(t *testing.T) bcryptCases {
	t.Helper()

	path := filepath.Join("..", "..", "..", "shared", "testdata", "attacks",
		"bcrypt_passwords.json")
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("shared test data not found at %s; it lives beside the repository", path)
	}
	if err != nil {
		t.Fatal(err)
	}

	var c bcryptCases
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	if len(c.P73ASCII) != c.P73Bytes || len(c.P72) != c.P72Bytes ||
		len(c.Multibyte) != c.MultiLen {
		t.Fatalf("%s: byte lengths do not match the file's own counts", path)
	}

	return c
}

func TestByteLimitWithSharedTestdata(t *testing.T) {
	c := loadBcryptCases(t)
	h := testHasher(t, 1)
	ctx := context.Background()

	if err := (Policy{}).Validate(c.P72); err != nil {
		t.Fatalf("Validate(72 bytes) = %v, want accepted", err)
	}
	hash, err := h.Hash(ctx, c.P72)
	if err != nil {
		t.Fatalf("Hash(72 bytes): %v", err)
	}
	if ok, err := h.Verify(ctx, hash, c.P72); !ok || err != nil {
		t.Fatalf("Verify(72 bytes) = %v, %v; want true", ok, err)
	}

	for _, pw := range []string{c.P73ASCII, c.Multibyte} {
		want := "Passwords can be at most 72 bytes; this one is 73 bytes " +
			"(letters outside plain ASCII take 2-4 bytes each)."
		assertMessage(t, "Validate", Policy{}.Validate(pw), want)
		_, err := h.Hash(ctx, pw)
		assertMessage(t, "Hash", err, want)
	}

	// bcrypt itself ignores the 73rd byte, so this attempt would match without the check.
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(c.P73ASCII)) != nil {
		t.Fatal("raw bcrypt no longer ignores the 73rd byte; revisit this test")
	}
	before := h.Calls()
	ok, err := h.Verify(ctx, hash, c.P73ASCII)
	if ok || err != nil {
		t.Fatalf("Verify(73-byte attempt) = %v, %v; want false like any wrong password", ok, err)
	}
	if h.Calls() != before+1 {
		t.Fatalf("Verify(73-byte attempt) ran %d bcrypt computations, want 1 so it takes "+
			"as long as a real comparison", h.Calls()-before)
	}
}

func assertMessage(t *testing.T, what string, err error, want string) {
	t.Helper()

	var perr *Error
	if !errors.As(err, &perr) {
		t.Fatalf("%s error = %v (%T), want *Error", what, err, err)
	}
	if perr.Message != want {
		t.Fatalf("%s message = %q, want %q", what, perr.Message, want)
	}
}

// An unknown account must cost exactly one bcrypt computation, like a wrong password,
// including on the first call when the dummy hash is made.
func TestVerifyUnknownSpendsOneComputation(t *testing.T) {
	h := testHasher(t, 2)
	ctx := context.Background()

	for i, pw := range []string{"first", "second", strings.Repeat("long", 30), ""} {
		before := h.Calls()
		if err := h.VerifyUnknown(ctx, pw); err != nil {
			t.Fatalf("VerifyUnknown #%d: %v", i, err)
		}
		if got := h.Calls() - before; got != 1 {
			t.Fatalf("VerifyUnknown #%d ran %d bcrypt computations, want 1", i, got)
		}
	}

	dummy := h.dummy.Load()
	if dummy == nil {
		t.Fatal("no dummy hash was kept")
	}
	if cost, err := bcrypt.Cost(*dummy); err != nil || cost != h.Cost() {
		t.Fatalf("dummy hash cost = %d, %v; want the Hasher's cost %d", cost, err, h.Cost())
	}
}

func TestVerifyUnknownMakesDummyOnce(t *testing.T) {
	h := testHasher(t, 4)

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := h.VerifyUnknown(context.Background(), "anything"); err != nil {
				t.Errorf("VerifyUnknown: %v", err)
			}
		})
	}
	wg.Wait()

	first := h.dummy.Load()
	if err := h.VerifyUnknown(context.Background(), "again"); err != nil {
		t.Fatal(err)
	}
	if h.dummy.Load() != first || h.Calls() != 9 {
		t.Fatalf("dummy hash replaced or extra work: Calls() = %d, want 9", h.Calls())
	}
}

func TestNeedsRehash(t *testing.T) {
	h := NewHasher(12, 1)
	tests := []struct {
		hash string
		want bool
	}{
		{"$2b$12$sketchmakerinteropsaleFRJJpnGB22WBup4995edvUpC1ZmJIYS", false},
		{"$2y$12$sketchmakerinteropsaleFRJJpnGB22WBup4995edvUpC1ZmJIYS", false},
		{"$2a$10$sketchmakerinteropsaleFRJJpnGB22WBup4995edvUpC1ZmJIYS", true},
		{"$2b$14$sketchmakerinteropsaleFRJJpnGB22WBup4995edvUpC1ZmJIYS", true},
		{"not a hash", true},
	}

	for _, tt := range tests {
		if got := h.NeedsRehash(tt.hash); got != tt.want {
			t.Errorf("NeedsRehash(%q) = %v, want %v", tt.hash, got, tt.want)
		}
	}
}

// With every slot taken, work waits; when its context ends it gives up without hashing.
func TestConcurrencyLimitRespectsContext(t *testing.T) {
	h := testHasher(t, 2)
	h.slots <- struct{}{}
	h.slots <- struct{}{}

	ctx, cancel := context.WithCancel(context.Background())
	results := make(chan error, 3)
	go func() { _, err := h.Hash(ctx, "Gq7vWm2pLx"); results <- err }()
	go func() { _, err := h.Verify(ctx, interop[0].hash, interop[0].pw); results <- err }()
	go func() { results <- h.VerifyUnknown(ctx, "Gq7vWm2pLx") }()
	cancel()

	for range 3 {
		if err := <-results; !errors.Is(err, context.Canceled) {
			t.Fatalf("blocked call returned %v, want context.Canceled", err)
		}
	}
	if h.Calls() != 0 {
		t.Fatalf("Calls() = %d, want 0: no bcrypt work may start without a slot", h.Calls())
	}

	// Freeing a slot lets work through again.
	<-h.slots
	if ok, err := h.Verify(context.Background(), interop[0].hash, interop[0].pw); !ok ||
		err != nil {
		t.Fatalf("Verify after a slot freed = %v, %v", ok, err)
	}
}

func FuzzParseHash(f *testing.F) {
	for _, v := range interop {
		f.Add(v.hash)
	}
	f.Add("$2x$04$sketchmakerinteropsaleFRJJpnGB22WBup4995edvUpC1ZmJIYS")
	f.Add("$2b$99$sketchmakerinteropsaleFRJJpnGB22WBup4995edvUpC1ZmJIYS")
	f.Add("")

	f.Fuzz(func(t *testing.T, hash string) {
		cost, err := parseHash(hash)
		if err != nil {
			return
		}
		if len(hash) != 60 || cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
			t.Fatalf("parseHash(%q) accepted cost %d", hash, cost)
		}

		// Whatever parseHash accepts, bcrypt must be able to read too.
		if got, err := bcrypt.Cost([]byte(hash)); err != nil || got != cost {
			t.Fatalf("bcrypt.Cost(%q) = %d, %v; parseHash said %d", hash, got, err, cost)
		}
	})
}

// BenchmarkVerify measures one sign-in check through the Hasher at the production cost.
func BenchmarkVerify(b *testing.B) {
	h := NewHasher(12, 1)
	hash, err := h.Hash(context.Background(), "mauve kettle orbit 7")
	if err != nil {
		b.Fatal(err)
	}

	b.ResetTimer()
	for b.Loop() {
		if ok, err := h.Verify(context.Background(), hash, "mauve kettle orbit 7"); !ok ||
			err != nil {
			b.Fatalf("Verify = %v, %v", ok, err)
		}
	}
}

// BenchmarkRawBcrypt measures bcrypt alone at the same cost, for comparison with
// BenchmarkVerify: the difference is what the Hasher adds.
func BenchmarkRawBcrypt(b *testing.B) {
	hash, err := bcrypt.GenerateFromPassword([]byte("mauve kettle orbit 7"), 12)
	if err != nil {
		b.Fatal(err)
	}

	b.ResetTimer()
	for b.Loop() {
		if err := bcrypt.CompareHashAndPassword(hash, []byte("mauve kettle orbit 7")); err != nil {
			b.Fatal(err)
		}
	}
}
