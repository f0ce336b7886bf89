package ratelimit

import (
	"context"
	"sync"
	"time"
)

// MemoryBlocks is a BlockStore kept in the process, the default when no Redis is configured.
// Expired counts and blocks are swept whenever the store doubles in size, so memory stays
// proportional to the clients seen within one window or block.
type MemoryBlocks struct {
	now func() time.Time

	mu        sync.Mutex
	counts    map[string]violations
	blocks    map[string]time.Time
	nextSweep int
}

// violations is the count of one key in the window that ends at end.
type violations struct {
	n   int
	end time.Time
}

var _ BlockStore = (*MemoryBlocks)(nil)

// NewMemoryBlocks returns an empty in-process BlockStore that reads the time from now.
func NewMemoryBlocks(now func() time.Time) *MemoryBlocks {
	return &MemoryBlocks{
		now:       now,
		counts:    make(map[string]violations),
		blocks:    make(map[string]time.Time),
		nextSweep: minSweep,
	}
}

// AddViolation counts one violation for key and starts a block at threshold.
func (m *MemoryBlocks) AddViolation(
	ctx context.Context,
	key string,
	threshold int,
	window, blockFor time.Duration,
) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()

	now := m.now()
	if until, ok := m.blocks[key]; ok && until.After(now) {
		return false, nil
	}

	c := m.counts[key]
	if !c.end.After(now) {
		m.sweepOnGrowth(now)
		c = violations{end: now.Add(window)}
	}
	c.n++
	if c.n < threshold {
		m.counts[key] = c
		return false, nil
	}

	delete(m.counts, key)
	m.blocks[key] = now.Add(blockFor)
	return true, nil
}

// BlockedFor returns how long key stays blocked.
func (m *MemoryBlocks) BlockedFor(ctx context.Context, key string) (time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()

	until, ok := m.blocks[key]
	if !ok {
		return 0, nil
	}

	left := until.Sub(m.now())
	if left <= 0 {
		delete(m.blocks, key)
		return 0, nil
	}
	return left, nil
}

// Unblock lifts the block on key and clears its count.
func (m *MemoryBlocks) Unblock(ctx context.Context, key string) error {
	m.mu.Lock()
	delete(m.blocks, key)
	delete(m.counts, key)
	m.mu.Unlock()
	return nil
}

// List returns the blocks in force.
func (m *MemoryBlocks) List(ctx context.Context) ([]Block, error) {
	m.mu.Lock()
	defer m.mu.Unlock()

	now := m.now()
	list := make([]Block, 0, len(m.blocks))
	for key, until := range m.blocks {
		if until.After(now) {
			list = append(list, Block{IP: key, Until: until})
		}
	}
	return list, nil
}

// Sweep removes expired counts and blocks and returns how many it removed.
func (m *MemoryBlocks) Sweep() int {
	m.mu.Lock()
	defer m.mu.Unlock()

	return m.sweep(m.now())
}

// Len returns the number of counts and blocks currently held, expired or not.
func (m *MemoryBlocks) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()

	return len(m.counts) + len(m.blocks)
}

// sweepOnGrowth sweeps when the store has doubled since the last sweep; the caller holds m.mu.
func (m *MemoryBlocks) sweepOnGrowth(now time.Time) {
	if len(m.counts)+len(m.blocks) < m.nextSweep {
		return
	}

	m.sweep(now)
	m.nextSweep = max(2*(len(m.counts)+len(m.blocks)), minSweep)
}

// sweep deletes expired entries; the caller holds m.mu.
func (m *MemoryBlocks) sweep(now time.Time) int {
	removed := 0
	for key, c := range m.counts {
		if !c.end.After(now) {
			delete(m.counts, key)
			removed++
		}
	}
	for key, until := range m.blocks {
		if !until.After(now) {
			delete(m.blocks, key)
			removed++
		}
	}
	return removed
}
