package ratelimit

import (
	"context"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// newTestBlocker returns a Blocker on b whose window and block last one unit.
func newTestBlocker(t *testing.T, b backend, threshold int) *Blocker {
	t.Helper()

	blocker, err := NewBlocker(b.blocks, threshold, b.unit, b.unit)
	if err != nil {
		t.Fatalf("NewBlocker: %v", err)
	}
	return blocker
}

// violate records n violations for ip and returns how many started a block.
func violate(t *testing.T, blocker *Blocker, ip string, n int) int {
	t.Helper()

	started := 0
	for range n {
		ok, err := blocker.Violation(context.Background(), ip)
		if err != nil {
			t.Fatalf("Violation(%s): %v", ip, err)
		}
		if ok {
			started++
		}
	}
	return started
}

// wantBlocked checks Blocked for ip.
func wantBlocked(t *testing.T, b backend, blocker *Blocker, ip string, want bool) {
	t.Helper()

	blocked, left, err := blocker.Blocked(context.Background(), ip)
	if err != nil {
		t.Fatalf("Blocked(%s): %v", ip, err)
	}
	if blocked != want {
		t.Fatalf("Blocked(%s) = %v, want %v", ip, blocked, want)
	}

	switch {
	case !want && left != 0:
		t.Errorf("Blocked(%s) left = %s for an address that is not blocked", ip, left)
	case want && b.fake && left != b.unit:
		t.Errorf("Blocked(%s) left = %s, want %s", ip, left, b.unit)
	case want && (left <= 0 || left > b.unit):
		t.Errorf("Blocked(%s) left = %s, want within (0, %s]", ip, left, b.unit)
	}
}

func TestBlockerThreshold(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		blocker := newTestBlocker(t, b, 5)
		ctx := context.Background()

		if n := violate(t, blocker, "203.0.113.7", 4); n != 0 {
			t.Fatalf("%d blocks started below the threshold", n)
		}
		wantBlocked(t, b, blocker, "203.0.113.7", false)

		if n := violate(t, blocker, "203.0.113.7", 1); n != 1 {
			t.Fatalf("the fifth violation started %d blocks, want 1", n)
		}
		wantBlocked(t, b, blocker, "203.0.113.7", true)
		wantBlocked(t, b, blocker, "203.0.113.8", false)

		if n := violate(t, blocker, "203.0.113.7", 20); n != 0 {
			t.Errorf("violations while blocked started %d more blocks", n)
		}

		list, err := blocker.List(ctx)
		if err != nil || len(list) != 1 || list[0].IP != "203.0.113.7" {
			t.Fatalf("List = %+v, %v; want the one block", list, err)
		}
		if b.fake && !list[0].Until.Equal(newFakeClock().Now().Add(b.unit)) {
			t.Errorf("block until %s, want one unit from the start", list[0].Until)
		}

		if err := blocker.Unblock(ctx, "203.0.113.7"); err != nil {
			t.Fatalf("Unblock: %v", err)
		}
		wantBlocked(t, b, blocker, "203.0.113.7", false)
		if list, err := blocker.List(ctx); err != nil || len(list) != 0 {
			t.Errorf("List after Unblock = %+v, %v", list, err)
		}

		// Unblocking also forgets the count: the threshold applies afresh.
		if n := violate(t, blocker, "203.0.113.7", 4); n != 0 {
			t.Errorf("after Unblock, 4 violations started %d blocks", n)
		}
	})
}

func TestBlockerConcurrentStartsOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		blocker := newTestBlocker(t, b, 50)

		var started, calls atomic.Int64
		var wg sync.WaitGroup
		for range 200 {
			wg.Go(func() {
				ok, err := blocker.Violation(context.Background(), "198.51.100.1")
				if err != nil {
					t.Errorf("Violation: %v", err)
					return
				}
				calls.Add(1)
				if ok {
					started.Add(1)
				}
			})
		}
		wg.Wait()

		if started.Load() != 1 {
			t.Errorf("%d of %d racing violations started a block, want exactly 1",
				started.Load(), calls.Load())
		}
		wantBlocked(t, b, blocker, "198.51.100.1", true)
	})
}

func TestBlockerWindowAndExpiry(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		blocker := newTestBlocker(t, b, 3)
		ctx := context.Background()

		// Violations further apart than the window never add up to a block.
		violate(t, blocker, "192.0.2.1", 2)
		b.advance(b.unit)
		if n := violate(t, blocker, "192.0.2.1", 2); n != 0 {
			t.Fatalf("violations in two windows started %d blocks", n)
		}
		if n := violate(t, blocker, "192.0.2.1", 1); n != 1 {
			t.Fatalf("three violations in one window started %d blocks, want 1", n)
		}

		// A block ends by itself and disappears from the list.
		b.advance(b.unit)
		wantBlocked(t, b, blocker, "192.0.2.1", false)
		if list, err := blocker.List(ctx); err != nil || len(list) != 0 {
			t.Errorf("List after the block ended = %+v, %v", list, err)
		}
		if n := violate(t, blocker, "192.0.2.1", 3); n != 1 {
			t.Errorf("after the block ended, 3 violations started %d blocks, want 1", n)
		}
	})
}

func TestBlockerAddressForms(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		blocker := newTestBlocker(t, b, 2)
		ctx := context.Background()

		// One IPv6 /64 is one client, whichever address in it is used.
		violate(t, blocker, "2001:db8:1:2::1", 1)
		if n := violate(t, blocker, "2001:db8:1:2:ffff::9", 1); n != 1 {
			t.Fatalf("two violations in one /64 started %d blocks, want 1", n)
		}
		wantBlocked(t, b, blocker, "2001:db8:1:2:abcd::1", true)
		wantBlocked(t, b, blocker, "2001:db8:1:3::1", false)

		// An IPv4-mapped IPv6 address is the IPv4 address.
		violate(t, blocker, "::ffff:192.0.2.9", 1)
		violate(t, blocker, "192.0.2.9", 1)
		wantBlocked(t, b, blocker, "192.0.2.9", true)

		list, err := blocker.List(ctx)
		ips := make([]string, 0, len(list))
		for _, blk := range list {
			ips = append(ips, blk.IP)
		}
		slices.Sort(ips)
		if err != nil || !slices.Equal(ips, []string{"192.0.2.9", "2001:db8:1:2::/64"}) {
			t.Fatalf("List = %v, %v", ips, err)
		}

		// List's own spelling unblocks, and so does any address in the block.
		if err := blocker.Unblock(ctx, "2001:db8:1:2::/64"); err != nil {
			t.Fatalf("Unblock by prefix: %v", err)
		}
		wantBlocked(t, b, blocker, "2001:db8:1:2::1", false)
		if err := blocker.Unblock(ctx, "::ffff:192.0.2.9"); err != nil {
			t.Fatalf("Unblock by mapped address: %v", err)
		}
		wantBlocked(t, b, blocker, "192.0.2.9", false)
	})
}

func TestBlockerAllowList(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		blocker := newTestBlocker(t, b, 2)

		violate(t, blocker, "10.1.2.3", 2)
		wantBlocked(t, b, blocker, "10.1.2.3", true)

		blocker.SetAllow([]netip.Prefix{
			netip.MustParsePrefix("10.0.0.0/8"),
			netip.MustParsePrefix("2001:db8::1/128"),
		})
		wantBlocked(t, b, blocker, "10.1.2.3", false)

		if n := violate(t, blocker, "10.9.9.9", 10); n != 0 {
			t.Errorf("an allowed address started %d blocks", n)
		}
		wantBlocked(t, b, blocker, "10.9.9.9", false)

		// Allowing one IPv6 address does not protect its neighbours in the same /64.
		if n := violate(t, blocker, "2001:db8::1", 10); n != 0 {
			t.Errorf("an allowed IPv6 address started %d blocks", n)
		}
		if n := violate(t, blocker, "2001:db8::2", 2); n != 1 {
			t.Errorf("a neighbour of an allowed IPv6 address started %d blocks, want 1", n)
		}
		wantBlocked(t, b, blocker, "2001:db8::1", false)
		wantBlocked(t, b, blocker, "2001:db8::2", true)

		// Clearing the allow-list lets the recorded block show again.
		blocker.SetAllow(nil)
		wantBlocked(t, b, blocker, "10.1.2.3", true)
	})
}

func TestBlockerRefusesBadAddresses(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		blocker := newTestBlocker(t, b, 2)
		ctx := context.Background()

		for _, ip := range []string{"", "localhost", "1.2.3", "1.2.3.4:80", "10.0.0.0/8"} {
			if _, err := blocker.Violation(ctx, ip); err == nil {
				t.Errorf("Violation(%q) accepted it", ip)
			}
			if _, _, err := blocker.Blocked(ctx, ip); err == nil {
				t.Errorf("Blocked(%q) accepted it", ip)
			}
		}
		for _, ip := range []string{"", "nobody", "10.0.0.0/8", "2001:db8::/48"} {
			if err := blocker.Unblock(ctx, ip); err == nil {
				t.Errorf("Unblock(%q) accepted it", ip)
			}
		}
	})
}

func TestBlockerListOrder(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		blocker := newTestBlocker(t, b, 1)

		// A few milliseconds apart is enough, and keeps every block alive on a real server,
		// whose blocks last one unit.
		for _, ip := range []string{"192.0.2.3", "192.0.2.1", "192.0.2.2"} {
			violate(t, blocker, ip, 1)
			b.advance(20 * time.Millisecond)
		}

		list, err := blocker.List(context.Background())
		if err != nil || len(list) != 3 {
			t.Fatalf("List = %+v, %v", list, err)
		}
		for i, want := range []string{"192.0.2.3", "192.0.2.1", "192.0.2.2"} {
			if list[i].IP != want {
				t.Errorf("List[%d] = %s, want %s (ending soonest first)", i, list[i].IP, want)
			}
		}
	})
}
