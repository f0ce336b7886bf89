package upload

import (
	"context"
	"log/slog"
	"runtime"
	"sync/atomic"

	"golang.org/x/sync/semaphore"
)

// DefaultDecodeBudget is how many bytes of decoded pixels the uploads being cleaned may
// hold at once, unless Options.DecodeBudget says otherwise: one picture of 16 megapixels
// at four bytes a pixel, or several smaller ones.
const DefaultDecodeBudget = 64 << 20

// admission lets pictures be decoded while the memory their pixels take together stays
// within a budget. One slot per processor let two 25 MB uploads decode at once on two
// processors, each holding its file, its pixels and its cleaned copy (issue 8); counting
// bytes instead has large pictures take their turn one at a time while small ones still
// share the processors.
type admission struct {
	sem     *semaphore.Weighted
	budget  int64
	least   int64        // what the smallest picture counts for
	waiting atomic.Int64 // pictures waiting for their turn
	log     *slog.Logger
}

// newAdmission returns an admission for budget bytes of pixels. Every picture counts for
// at least a share of the budget per processor, so that no more pictures are decoded at
// once than there are processors.
func newAdmission(budget int64, procs int, log *slog.Logger) *admission {
	budget = max(budget, 1)
	return &admission{sem: semaphore.NewWeighted(budget), budget: budget,
		least: max(budget/int64(max(procs, 1)), 1), log: log}
}

// admit waits until a picture whose pixels take size bytes may be decoded, or until ctx
// ends, and returns the function that gives its share back once the pixels are dropped.
// A picture there is room for is let in at once, whatever ctx. A picture larger than the
// whole budget counts for all of it: it waits until no other picture is being decoded and
// is then decoded alone, rather than never. Waiting pictures are let in in the order they
// came, so small ones cannot keep a large one waiting for ever.
func (a *admission) admit(ctx context.Context, size int64) (func(), error) {
	n := min(max(size, a.least), a.budget)
	release := func() {
		if 2*size > a.budget {
			// A large picture's file and pixels, tens of megabytes, have just become
			// garbage. Collecting them before the next picture is let in lets it reuse
			// that memory; otherwise they stay beside its own until the heap reaches
			// twice what was live at the last collection (GOGC=100): part of why twenty
			// 25 MB uploads grew the server by 300 to 500 MB (issue 8).
			runtime.GC()
		}
		a.sem.Release(n)
	}
	if a.sem.TryAcquire(n) {
		return release, nil
	}

	waiting := a.waiting.Add(1)
	defer a.waiting.Add(-1)
	a.log.Debug("upload waits for memory to decode", "pixel_bytes", size, "waiting", waiting)
	if err := a.sem.Acquire(ctx, n); err != nil {
		return nil, err
	}
	return release, nil
}
