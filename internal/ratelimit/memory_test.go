package ratelimit

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestMemorySweep checks that recovered keys are dropped and that a dropped key behaves like
// one never seen.
func TestMemorySweep(t *testing.T) {
	clock := newFakeClock()
	m := NewMemory(clock.Now)
	ctx := context.Background()
	rate := Rate{2, time.Minute}

	for i := range 1000 {
		if _, err := m.Hit(ctx, fmt.Sprintf("k%d", i), rate); err != nil {
			t.Fatal(err)
		}
	}
	exhaust(t, m, "busy", rate)

	clock.Advance(30 * time.Second)
	if n := m.Sweep(); n != 1000 {
		t.Errorf("Sweep after half a period removed %d keys, want the 1000 single hits", n)
	}
	if m.Len() != 1 {
		t.Errorf("Len = %d, want only the exhausted key", m.Len())
	}

	clock.Advance(30 * time.Second)
	if n := m.Sweep(); n != 1 || m.Len() != 0 {
		t.Errorf("Sweep after a period removed %d, Len = %d; want 1 and 0", n, m.Len())
	}
	if res, _ := m.Hit(ctx, "busy", rate); !res.Allowed || res.Remaining != 1 {
		t.Errorf("hit on a swept key = %+v, want a fresh limit", res)
	}
}

// TestMemoryBoundedWithoutSweeper checks that a stream of new keys does not grow the store
// without bound even when nobody calls Sweep or Run.
func TestMemoryBoundedWithoutSweeper(t *testing.T) {
	clock := newFakeClock()
	m := NewMemory(clock.Now)
	ctx := context.Background()
	rate := Rate{5, time.Second}

	// 1000 new keys per second; each recovers within a second, so about 1000 are live.
	const live = 1000
	peak := 0
	for i := range 100 * live {
		if i%live == 0 {
			clock.Advance(time.Second)
		}
		if _, err := m.Hit(ctx, fmt.Sprintf("ip:%d", i), rate); err != nil {
			t.Fatal(err)
		}
		peak = max(peak, m.lenSample(i))
	}

	if limit := 2*live + 2*shardCount*minSweep; peak > limit {
		t.Errorf("store peaked at %d keys for %d live ones, want at most %d", peak, live, limit)
	}
}

// lenSample returns Len every thousandth call and 0 otherwise, to keep the test fast.
func (m *Memory) lenSample(i int) int {
	if i%1000 != 999 {
		return 0
	}
	return m.Len()
}

func TestMemoryRunSweepsUntilCanceled(t *testing.T) {
	clock := newFakeClock()
	m := NewMemory(clock.Now)
	m.Hit(context.Background(), "k", Rate{1, time.Second})
	clock.Advance(time.Second)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		m.Run(ctx, time.Millisecond)
		close(done)
	}()

	for m.Len() != 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
}

func TestMemoryBlocksBounded(t *testing.T) {
	clock := newFakeClock()
	s := NewMemoryBlocks(clock.Now)
	ctx := context.Background()

	// Each address violates once per window; with a minute window, about 1000 counts are live.
	const live = 1000
	peak := 0
	for i := range 50 * live {
		if i%live == 0 {
			clock.Advance(time.Minute)
		}
		if _, err := s.AddViolation(ctx, fmt.Sprint(i), 3, time.Minute, time.Hour); err != nil {
			t.Fatal(err)
		}
		peak = max(peak, s.Len())
	}

	if limit := 2*live + minSweep; peak > limit {
		t.Errorf("store peaked at %d entries for %d live ones, want at most %d", peak, live, limit)
	}

	clock.Advance(time.Minute)
	if n := s.Sweep(); n == 0 || s.Len() != 0 {
		t.Errorf("Sweep removed %d, Len = %d; want everything gone", n, s.Len())
	}
}
