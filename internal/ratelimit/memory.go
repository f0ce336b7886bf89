package ratelimit

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
	"time"
)

// shardCount spreads keys over independent locks so that unrelated clients do not contend.
const shardCount = 32

// minSweep is the size below which a shard does not bother sweeping on growth.
const minSweep = 256

// Memory is a Store that keeps counters in the process. It is the default when no Redis is
// configured. Expired counters are swept whenever a shard doubles in size and by Run, so memory
// stays proportional to the number of keys seen within one period.
type Memory struct {
	now    func() time.Time
	seed   maphash.Seed
	shards [shardCount]memoryShard
}

// memoryShard holds the theoretical arrival time, in Unix microseconds, of each key.
type memoryShard struct {
	mu        sync.Mutex
	tats      map[string]int64
	nextSweep int
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-process Store that reads the time from now.
func NewMemory(now func() time.Time) *Memory {
	m := &Memory{now: now, seed: maphash.MakeSeed()}
	for i := range m.shards {
		m.shards[i].tats = make(map[string]int64)
		m.shards[i].nextSweep = minSweep
	}
	return m
}

// Hit records one request for key under rate.
func (m *Memory) Hit(ctx context.Context, key string, rate Rate) (Result, error) {
	if err := rate.Validate(); err != nil {
		return Result{}, fmt.Errorf("hit %s: %w", rate, err)
	}

	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()

	now := m.now().UnixMicro()
	tat, known := s.tats[key]
	next, res := gcra(tat, now, rate)
	if !res.Allowed {
		return res, nil
	}

	if !known && len(s.tats) >= s.nextSweep {
		s.sweep(now)
		s.nextSweep = max(2*len(s.tats), minSweep)
	}
	s.tats[key] = next
	return res, nil
}

// Reset forgets key.
func (m *Memory) Reset(ctx context.Context, key string) error {
	s := m.shard(key)
	s.mu.Lock()
	delete(s.tats, key)
	s.mu.Unlock()
	return nil
}

// Sweep removes every key whose limit has fully recovered and returns how many it removed.
// Such a key behaves exactly like one never seen.
func (m *Memory) Sweep() int {
	now := m.now().UnixMicro()
	removed := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		removed += s.sweep(now)
		s.mu.Unlock()
	}
	return removed
}

// Run sweeps expired keys every interval until ctx is done. A non-positive interval means one
// minute.
func (m *Memory) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = time.Minute
	}

	ticker := time.NewTicker(interval)
	defer ticker.Stop()

	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			m.Sweep()
		}
	}
}

// Len returns the number of keys currently held, expired or not.
func (m *Memory) Len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.tats)
		s.mu.Unlock()
	}
	return n
}

// shard returns the shard that owns key.
func (m *Memory) shard(key string) *memoryShard {
	return &m.shards[maphash.String(m.seed, key)%shardCount]
}

// sweep deletes recovered keys; the caller holds s.mu.
func (s *memoryShard) sweep(now int64) int {
	removed := 0
	for key, tat := range s.tats {
		if tat <= now {
			delete(s.tats, key)
			removed++
		}
	}
	return removed
}
