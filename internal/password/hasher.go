package password

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"

	"golang.org/x/crypto/bcrypt"
)

// decoy is compared against a stored hash when the attempt itself cannot be used, so that
// refusing it takes as long as a real comparison. Its value never matters: the result of
// that comparison is always thrown away.
var decoy = []byte("sketchmaker-decoy-password-that-is-never-accepted")

// Hasher makes and checks bcrypt hashes at one cost, running at most a fixed number of
// bcrypt computations at a time. It is safe for concurrent use.
type Hasher struct {
	cost  int
	slots chan struct{}
	calls atomic.Int64

	// dummy is the hash VerifyUnknown compares against, made on first use; dummyLock
	// (a one-slot channel, so waiting for it can respect a context) guards its creation.
	dummy     atomic.Pointer[[]byte]
	dummyLock chan struct{}
}

// NewHasher returns a Hasher that makes hashes at the given cost and runs at most
// maxConcurrent bcrypt computations at once. A cost of 0 means DefaultCost; any other cost
// is clamped to the range MinCost to MaxCost. A maxConcurrent of 0 or less means one per CPU.
func NewHasher(cost int, maxConcurrent int) *Hasher {
	if cost == 0 {
		cost = DefaultCost
	}

	return newHasher(min(max(cost, MinCost), MaxCost), maxConcurrent)
}

// newHasher is NewHasher without the cost floor. Only tests call it directly, to run at
// bcrypt.MinCost and stay fast.
func newHasher(cost int, maxConcurrent int) *Hasher {
	if maxConcurrent <= 0 {
		maxConcurrent = runtime.NumCPU()
	}

	return &Hasher{
		cost:      cost,
		slots:     make(chan struct{}, maxConcurrent),
		dummyLock: make(chan struct{}, 1),
	}
}

// Cost returns the bcrypt cost new hashes are made with.
func (h *Hasher) Cost() int {
	return h.cost
}

// Calls returns how many bcrypt computations this Hasher has started.
func (h *Hasher) Calls() int64 {
	return h.calls.Load()
}

// Hash returns the bcrypt hash of pw. A password longer than MaxBytes is refused with an
// *Error rather than truncated. Hash does not apply a Policy; call Policy.Validate first.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	if len(pw) > MaxBytes {
		return "", tooLong(pw)
	}

	var hash []byte
	err := h.run(ctx, func() (err error) {
		hash, err = bcrypt.GenerateFromPassword([]byte(pw), h.cost)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}

	return string(hash), nil
}

// Verify reports whether pw matches hash, which may carry the $2a$, $2b$ or $2y$ prefix.
// A password longer than MaxBytes never matches, but is refused only after the same amount
// of work as a real comparison. An error means the hash is unusable or ctx ended.
func (h *Hasher) Verify(ctx context.Context, hash, pw string) (bool, error) {
	if _, err := parseHash(hash); err != nil {
		return false, fmt.Errorf("verify password: %w", err)
	}

	attempt := []byte(pw)
	if len(attempt) > MaxBytes {
		// bcrypt would compare only the first 72 bytes, so a longer attempt could match
		// a password it is not. Spend the time, then refuse.
		attempt = decoy
	}

	err := h.run(ctx, func() error {
		return bcrypt.CompareHashAndPassword([]byte(hash), attempt)
	})
	switch {
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("verify password: %w", err)
	}

	return len(pw) <= MaxBytes, nil
}

// VerifyUnknown spends the time of a failed Verify without any account to check against,
// so that signing in with an unknown email costs as much as a wrong password. It compares
// pw with a dummy hash at the Hasher's cost, made once on first use. The only errors are
// those of ctx.
func (h *Hasher) VerifyUnknown(ctx context.Context, pw string) error {
	dummy, fresh, err := h.dummyHash(ctx)
	if err != nil || fresh {
		// Making the dummy hash took as long as comparing against it would have.
		return err
	}

	attempt := []byte(pw)
	if len(attempt) > MaxBytes {
		attempt = decoy
	}

	err = h.run(ctx, func() error {
		return bcrypt.CompareHashAndPassword(dummy, attempt)
	})
	if err != nil && !errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
		return fmt.Errorf("verify unknown account: %w", err)
	}

	return nil
}

// NeedsRehash reports whether hash should be replaced by a new one: because its cost
// differs from the Hasher's, or because it is not a bcrypt hash this package can check.
// Call it after a successful Verify, while the password is at hand.
func (h *Hasher) NeedsRehash(hash string) bool {
	cost, err := parseHash(hash)
	return err != nil || cost != h.cost
}

// dummyHash returns the hash VerifyUnknown compares against, and whether this call made it.
func (h *Hasher) dummyHash(ctx context.Context) ([]byte, bool, error) {
	if p := h.dummy.Load(); p != nil {
		return *p, false, nil
	}

	select {
	case h.dummyLock <- struct{}{}:
		defer func() { <-h.dummyLock }()
	case <-ctx.Done():
		return nil, false, fmt.Errorf("wait for dummy hash: %w", ctx.Err())
	}
	if p := h.dummy.Load(); p != nil {
		return *p, false, nil
	}

	// The dummy's password is random and forgotten, so nothing ever matches it.
	var hash []byte
	err := h.run(ctx, func() (err error) {
		hash, err = bcrypt.GenerateFromPassword([]byte(rand.Text()), h.cost)
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("make dummy hash: %w", err)
	}
	h.dummy.Store(&hash)

	return hash, true, nil
}

// run performs one bcrypt computation once a slot is free, or gives up when ctx ends.
func (h *Hasher) run(ctx context.Context, work func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}

	select {
	case h.slots <- struct{}{}:
		defer func() { <-h.slots }()
	case <-ctx.Done():
		return ctx.Err()
	}

	h.calls.Add(1)
	return work()
}

// parseHash checks that hash is a bcrypt hash with a prefix this package accepts and
// returns its cost. $2x$ (hashes made by a known-broken implementation) is refused.
func parseHash(hash string) (int, error) {
	const size = 60 // "$2b$" + 2 cost digits + "$" + 22 salt + 31 hash characters

	if len(hash) != size {
		return 0, fmt.Errorf("bcrypt hash must be %d characters, got %d", size, len(hash))
	}
	switch hash[:4] {
	case "$2a$", "$2b$", "$2y$":
	default:
		return 0, errors.New("not a bcrypt hash with a $2a$, $2b$ or $2y$ prefix")
	}

	cost, err := parseCost(hash[4:6])
	if err != nil {
		return 0, err
	}
	if hash[6] != '$' {
		return 0, errors.New("bcrypt hash has no '$' after its cost")
	}
	for i := 7; i < size; i++ {
		if !isBcryptBase64(hash[i]) {
			return 0, fmt.Errorf("bcrypt hash has an invalid character at position %d", i)
		}
	}

	return cost, nil
}

func parseCost(digits string) (int, error) {
	if digits[0] < '0' || digits[0] > '9' || digits[1] < '0' || digits[1] > '9' {
		return 0, fmt.Errorf("bcrypt cost %q is not a number", digits)
	}

	cost := int(digits[0]-'0')*10 + int(digits[1]-'0')
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		return 0, fmt.Errorf("bcrypt cost %d is outside %d to %d", cost,
			bcrypt.MinCost, bcrypt.MaxCost)
	}

	return cost, nil
}

// isBcryptBase64 reports whether c belongs to bcrypt's base64 alphabet.
func isBcryptBase64(c byte) bool {
	return c == '.' || c == '/' ||
		('A' <= c && c <= 'Z') || ('a' <= c && c <= 'z') || ('0' <= c && c <= '9')
}
