package ratelimit

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// BlockStore keeps violation counts and blocks for the Blocker. Keys are canonical client
// addresses (an IPv4 address or an IPv6 /64 prefix). Implementations are safe for concurrent use
// and shared by every instance that should agree on blocks.
type BlockStore interface {
	// AddViolation counts one violation for key in a window that starts at its first violation.
	// When the count reaches threshold and key is not blocked yet, it blocks key for blockFor,
	// clears the count and reports true. Exactly one caller sees true for each block, however
	// many race. A blocked key's violations are not counted.
	AddViolation(
		ctx context.Context,
		key string,
		threshold int,
		window, blockFor time.Duration,
	) (bool, error)

	// BlockedFor returns how long key stays blocked, or zero when it is not blocked.
	BlockedFor(ctx context.Context, key string) (time.Duration, error)

	// Unblock lifts the block on key and clears its violation count.
	Unblock(ctx context.Context, key string) error

	// List returns the blocks in force, in any order.
	List(ctx context.Context) ([]Block, error)
}

// Block is one blocked client: an IPv4 address or an IPv6 /64 prefix, and when the block ends.
type Block struct {
	IP    string
	Until time.Time
}

// Blocker blocks client addresses that exceed rate limits too often. IPv6 clients are counted
// and blocked by their /64 prefix, since one subscriber usually holds a whole /64. Addresses on
// the allow-list are never counted or blocked.
type Blocker struct {
	backend   BlockStore
	threshold int
	window    time.Duration
	blockFor  time.Duration

	mu    sync.RWMutex
	allow []netip.Prefix
}

// NewBlocker returns a Blocker that blocks an address for blockFor once it has exceeded a limit
// threshold times within window. Durations are at least one second.
func NewBlocker(
	backend BlockStore,
	threshold int,
	window, blockFor time.Duration,
) (*Blocker, error) {
	switch {
	case backend == nil:
		return nil, errors.New("new blocker: no block store")
	case threshold < 1:
		return nil, fmt.Errorf("new blocker: threshold %d must be at least 1", threshold)
	case window < time.Second:
		return nil, fmt.Errorf("new blocker: window %s must be at least 1s", window)
	case blockFor < time.Second:
		return nil, fmt.Errorf("new blocker: block duration %s must be at least 1s", blockFor)
	}

	b := &Blocker{backend: backend, threshold: threshold, window: window, blockFor: blockFor}
	return b, nil
}

// SetAllow replaces the allow-list. Addresses inside these prefixes are never blocked, even if a
// block on them was recorded earlier.
func (b *Blocker) SetAllow(prefixes []netip.Prefix) {
	allow := make([]netip.Prefix, 0, len(prefixes))
	for _, p := range prefixes {
		if p.IsValid() {
			allow = append(allow, p.Masked())
		}
	}

	b.mu.Lock()
	b.allow = allow
	b.mu.Unlock()
}

// Violation records that ip exceeded a limit. It returns true exactly when this violation starts
// a block, so that the caller audits the block once.
func (b *Blocker) Violation(ctx context.Context, ip string) (bool, error) {
	addr, key, err := clientKey(ip)
	if err != nil {
		return false, fmt.Errorf("record violation: %w", err)
	}
	if b.allowed(addr) {
		return false, nil
	}

	started, err := b.backend.AddViolation(ctx, key, b.threshold, b.window, b.blockFor)
	if err != nil {
		return false, fmt.Errorf("record violation: %w", err)
	}
	return started, nil
}

// Blocked reports whether ip is blocked and for how much longer.
func (b *Blocker) Blocked(ctx context.Context, ip string) (bool, time.Duration, error) {
	addr, key, err := clientKey(ip)
	if err != nil {
		return false, 0, fmt.Errorf("check block: %w", err)
	}
	if b.allowed(addr) {
		return false, 0, nil
	}

	left, err := b.backend.BlockedFor(ctx, key)
	if err != nil {
		return false, 0, fmt.Errorf("check block: %w", err)
	}
	return left > 0, left, nil
}

// Unblock lifts the block on ip, which is an address or a Block.IP value as List shows it.
func (b *Blocker) Unblock(ctx context.Context, ip string) error {
	key, err := blockKey(ip)
	if err != nil {
		return fmt.Errorf("unblock: %w", err)
	}

	if err := b.backend.Unblock(ctx, key); err != nil {
		return fmt.Errorf("unblock: %w", err)
	}
	return nil
}

// List returns the blocks in force, those ending soonest first.
func (b *Blocker) List(ctx context.Context) ([]Block, error) {
	blocks, err := b.backend.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list blocks: %w", err)
	}

	slices.SortFunc(blocks, func(x, y Block) int {
		return cmp.Or(x.Until.Compare(y.Until), cmp.Compare(x.IP, y.IP))
	})
	return blocks, nil
}

// allowed reports whether addr is on the allow-list.
func (b *Blocker) allowed(addr netip.Addr) bool {
	b.mu.RLock()
	defer b.mu.RUnlock()

	for _, p := range b.allow {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// ClientKey returns the key under which the client at ip is counted: the IPv4 address itself,
// or the /64 prefix of an IPv6 address. Rate limits keyed by it treat a whole IPv6 subscriber
// as one client, as the Blocker does.
func ClientKey(ip string) (string, error) {
	_, key, err := clientKey(ip)
	return key, err
}

// clientKey parses a client address and returns it with the key it is counted under.
func clientKey(ip string) (netip.Addr, string, error) {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return netip.Addr{}, "", fmt.Errorf("client address %q is not an IP address", ip)
	}

	addr = addr.Unmap().WithZone("")
	if addr.Is4() {
		return addr, addr.String(), nil
	}
	return addr, netip.PrefixFrom(addr, 64).Masked().String(), nil
}

// blockKey returns the key of an address, or of a prefix as List shows it.
func blockKey(s string) (string, error) {
	if _, key, err := clientKey(s); err == nil {
		return key, nil
	}

	p, err := netip.ParsePrefix(s)
	switch {
	case err != nil:
		return "", fmt.Errorf("%q is not an IP address", s)
	case p.Addr().Is4() && p.Bits() == 32:
		return p.Addr().String(), nil
	case p.Addr().Is6() && p.Bits() == 64:
		return p.Masked().String(), nil
	}
	return "", fmt.Errorf("%q is neither an address, an IPv4 /32 nor an IPv6 /64", s)
}
