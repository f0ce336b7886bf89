package ratelimit

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestStoreConcurrentExact races many goroutines on one key: exactly Limit may pass.
func TestStoreConcurrentExact(t *testing.T) {
	tests := []struct {
		limit, goroutines, hitsEach int
	}{
		{limit: 50, goroutines: 200, hitsEach: 1},
		{limit: 137, goroutines: 200, hitsEach: 3},
		{limit: 1, goroutines: 200, hitsEach: 1},
	}
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("limit %d", tt.limit), func(t *testing.T) {
				rate := Rate{tt.limit, time.Hour}
				key := "race:" + t.Name()
				allowed := hitConcurrently(t, b.store, key, rate, tt.goroutines, tt.hitsEach)
				if allowed != tt.limit {
					t.Errorf("%d of %d concurrent hits allowed, want exactly %d",
						allowed, tt.goroutines*tt.hitsEach, tt.limit)
				}

				res, err := b.store.Hit(context.Background(), key, rate)
				if err != nil || res.Allowed || res.Remaining != 0 || res.RetryAfter <= 0 {
					t.Errorf("hit after the race = %+v, %v; want refused with a retry time",
						res, err)
				}
			})
		}
	})
}

// hitConcurrently hits key from n goroutines, each hits times, and counts the allowed hits.
func hitConcurrently(t *testing.T, s Store, key string, rate Rate, n, hits int) int {
	t.Helper()

	var allowed atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			for range hits {
				res, err := s.Hit(context.Background(), key, rate)
				if err != nil {
					t.Errorf("hit: %v", err)
					return
				}
				if res.Allowed {
					allowed.Add(1)
				}
			}
		})
	}

	close(start)
	wg.Wait()
	return int(allowed.Load())
}

// TestStoreSequence checks Remaining, ResetAfter and RetryAfter along a burst and its recovery.
func TestStoreSequence(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		rate := Rate{3, b.unit}
		interval := b.unit / 3

		steps := []struct {
			allowed   bool
			remaining int
			reset     time.Duration
			retry     time.Duration
		}{
			{true, 2, interval, 0},
			{true, 1, 2 * interval, 0},
			{true, 0, 3 * interval, 0},
			{false, 0, 3 * interval, interval},
		}
		for i, want := range steps {
			res, err := b.store.Hit(ctx, "seq", rate)
			if err != nil {
				t.Fatalf("hit %d: %v", i+1, err)
			}
			if res.Allowed != want.allowed || res.Remaining != want.remaining ||
				res.Limit != 3 {
				t.Fatalf("hit %d = %+v, want allowed=%v remaining=%d",
					i+1, res, want.allowed, want.remaining)
			}
			checkDuration(t, b, fmt.Sprintf("hit %d reset", i+1), res.ResetAfter, want.reset)
			checkDuration(t, b, fmt.Sprintf("hit %d retry", i+1), res.RetryAfter, want.retry)
		}
	})
}

// checkDuration compares exactly on a fake clock; on a real server, time has passed since the
// hit, so got may be up to a second less than want but never more.
func checkDuration(t *testing.T, b backend, what string, got, want time.Duration) {
	t.Helper()

	if b.fake && got != want {
		t.Errorf("%s = %s, want %s", what, got, want)
	}
	if !b.fake && (got > want || got < want-time.Second) {
		t.Errorf("%s = %s, want at most %s and not much less", what, got, want)
	}
}

// TestStoreWindowRecovers checks that a refused key earns one request back after RetryAfter and
// its whole limit after a full period.
func TestStoreWindowRecovers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		rate := Rate{3, b.unit}

		res := exhaust(t, b.store, "window", rate)
		b.advance(res.RetryAfter)
		if res, err := b.store.Hit(ctx, "window", rate); err != nil || !res.Allowed {
			t.Fatalf("hit after RetryAfter = %+v, %v; want allowed", res, err)
		}
		if res, err := b.store.Hit(ctx, "window", rate); err != nil || res.Allowed {
			t.Fatalf("second hit after RetryAfter = %+v, %v; want refused", res, err)
		}

		b.advance(rate.Period)
		allowed := 0
		for range rate.Limit + 1 {
			res, err := b.store.Hit(ctx, "window", rate)
			if err != nil {
				t.Fatalf("hit: %v", err)
			}
			if res.Allowed {
				allowed++
			}
		}
		if allowed != rate.Limit {
			t.Errorf("after a full period %d hits allowed, want %d", allowed, rate.Limit)
		}
	})
}

// exhaust spends the whole limit of key and returns the first refusal.
func exhaust(t *testing.T, s Store, key string, rate Rate) Result {
	t.Helper()

	for i := range rate.Limit {
		res, err := s.Hit(context.Background(), key, rate)
		if err != nil || !res.Allowed {
			t.Fatalf("hit %d of %d = %+v, %v; want allowed", i+1, rate.Limit, res, err)
		}
	}

	res, err := s.Hit(context.Background(), key, rate)
	if err != nil || res.Allowed || res.RetryAfter <= 0 {
		t.Fatalf("hit over the limit = %+v, %v; want refused with a retry time", res, err)
	}
	return res
}

// TestStoreKeysIndependent checks that exhausting one key leaves others untouched, and that
// Reset restores a key.
func TestStoreKeysIndependent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		rate := Rate{2, time.Hour}
		exhaust(t, b.store, "user:1", rate)

		for _, key := range []string{"user:2", "user:10", "ip:user:1", "user:1 "} {
			res, err := b.store.Hit(ctx, key, rate)
			if err != nil || !res.Allowed || res.Remaining != 1 {
				t.Errorf("first hit on %q = %+v, %v; want allowed with 1 left", key, res, err)
			}
		}

		if err := b.store.Reset(ctx, "user:1"); err != nil {
			t.Fatalf("reset: %v", err)
		}
		if res, err := b.store.Hit(ctx, "user:1", rate); err != nil || res.Remaining != 1 {
			t.Errorf("hit after reset = %+v, %v; want allowed with 1 left", res, err)
		}
		if err := b.store.Reset(ctx, "never-seen"); err != nil {
			t.Errorf("reset of an unknown key: %v", err)
		}
	})
}

// TestStoreRefusesInvalidRate checks that a rate that cannot be enforced is an error, not a
// silent pass.
func TestStoreRefusesInvalidRate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, rate := range []Rate{{0, time.Minute}, {5, 0}, {MaxLimit + 1, time.Second}} {
			if res, err := b.store.Hit(context.Background(), "bad", rate); err == nil {
				t.Errorf("Hit with %+v = %+v, want an error", rate, res)
			}
		}
	})
}
