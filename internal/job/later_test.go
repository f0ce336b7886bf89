package job_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/job"
)

// flaky is a job kind whose runs meet a passing failure while failing is set.
type flaky struct {
	recorder
	failing atomic.Bool
	runs    atomic.Int32
}

// errBusy is flaky's failure, with the safe face a job's last attempt shows.
var errBusy = fault.Wrap(fault.Unavailable, "The database is busy. Your credits were "+
	"refunded.", context.DeadlineExceeded)

func (f *flaky) Run(context.Context, *job.Job, func(int, string)) (job.Outcome, error) {
	f.runs.Add(1)
	if f.failing.Load() {
		return job.Outcome{}, job.Later(errBusy)
	}
	return job.Outcome{Result: `{"ok":true}`}, nil
}

// settableClock is a clock the test moves on.
type settableClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *settableClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *settableClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// runFlaky queues one job and runs a pool of flaky over it until the test ends.
func runFlaky(t *testing.T, db *database.DB, failing bool) (*job.Store, *flaky,
	*settableClock, string) {
	clock := &settableClock{t: time.Now()}
	store := job.NewStore(db, clock.now)
	id := queue(t, db, store, 1, 1)[0]
	f := &flaky{recorder: recorder{settled: map[string]int{}}}
	f.failing.Store(failing)
	pool := job.NewPool(store, 1, slog.New(slog.NewTextHandler(io.Discard, nil)))
	pool.Register("image", f)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { pool.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return store, f, clock, id
}

// waitPostponed waits until job id waits for the attempt after attempt, failing the test
// at once when the job ends instead, and returns the job.
func waitPostponed(t *testing.T, store *job.Store, id string, attempt int) *job.Job {
	t.Helper()
	var j *job.Job
	waitFor(t, "the job to be postponed", func() bool {
		var err error
		if j, err = store.Get(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		if j.Done() {
			t.Fatalf("job ended %s instead of waiting: %q", j.Status, j.Error)
		}
		return j.Status == job.Running && j.Worker == "" && j.Attempts == attempt &&
			j.Message == "Waiting to try again"
	})
	return j
}

// TestPassingFailureWaitsForALaterAttempt fails a run with a passing error: the job is
// neither failed nor settled but waits, and runs again once its wait has passed.
func TestPassingFailureWaitsForALaterAttempt(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		store, f, clock, id := runFlaky(t, db, true)
		j := waitPostponed(t, store, id, 1)
		if wait := time.UnixMilli(j.LeaseUntil).Sub(clock.now()); wait < 5*time.Second {
			t.Fatalf("the next attempt may start in %s", wait)
		}
		if f.count(id) != 0 || f.runs.Load() != 1 {
			t.Fatalf("a waiting job was settled %d times after %d runs", f.count(id),
				f.runs.Load())
		}

		f.failing.Store(false)
		clock.add(time.Minute)
		waitFor(t, "the job to end", func() bool { return isDone(t, store, id) })
		waitFor(t, "the settlement", func() bool { return f.count(id) > 0 })
		j, _ = store.Get(context.Background(), id)
		if j.Status != job.Succeeded || j.Attempts != 2 || f.runs.Load() != 2 ||
			f.count(id) != 1 {
			t.Fatalf("job %s after %d attempts and %d runs, settled %d times", j.Status,
				j.Attempts, f.runs.Load(), f.count(id))
		}
	})
}

// TestPassingFailureAtTheLastAttemptFails keeps failing: the last attempt fails the job
// with the error's own safe message, and the job is settled once.
func TestPassingFailureAtTheLastAttemptFails(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		store, f, clock, id := runFlaky(t, db, true)
		for attempt := 1; attempt < job.MaxAttempts; attempt++ {
			waitPostponed(t, store, id, attempt)
			clock.add(time.Hour)
		}
		waitFor(t, "the job to end", func() bool { return isDone(t, store, id) })
		waitFor(t, "the settlement", func() bool { return f.count(id) > 0 })
		j, _ := store.Get(context.Background(), id)
		if j.Status != job.Failed || j.Error != errBusy.Message ||
			j.Attempts != job.MaxAttempts || f.runs.Load() != job.MaxAttempts {
			t.Fatalf("job %s after %d attempts and %d runs: %q", j.Status, j.Attempts,
				f.runs.Load(), j.Error)
		}
		time.Sleep(50 * time.Millisecond) // room for a second, wrong settlement
		if f.count(id) != 1 {
			t.Fatalf("settled %d times", f.count(id))
		}
	})
}
