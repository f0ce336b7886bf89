package job_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
	"github.com/sketchmaker/sketchmaker/internal/job"
)

// counter is a job kind that counts its runs.
type counter struct{ recorder }

func (c *counter) Run(_ context.Context, j *job.Job, _ func(int, string)) (job.Outcome, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.settled["run:"+j.ID]++
	return job.Outcome{}, nil
}

func (c *counter) runs(id string) int { return c.count("run:" + id) }

// startPool runs a pool of workers over store, looking for unannounced jobs every poll on
// average, until the test ends. It returns once the pool's first claim found the queue
// empty, so that any job queued afterwards can only start through a wake-up or the poll.
func startPool(t *testing.T, store *job.Store, workers int, poll time.Duration) (*job.Pool,
	*counter) {
	t.Helper()
	c := &counter{recorder{settled: map[string]int{}}}
	pool := job.NewPool(store, workers, slog.New(slog.NewTextHandler(io.Discard, nil)))
	pool.Register("image", c)
	pool.SetPoll(poll)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { pool.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	waitFor(t, "the pool's first claim", func() bool { return store.ClaimStats().Empty >= 1 })
	return pool, c
}

// waitFor waits until cond holds, and fails the test when it still does not after a
// generous while: a deadline for a hang, not a measure of speed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// isDone reports whether job id reached a final state.
func isDone(t *testing.T, store *job.Store, id string) bool {
	t.Helper()
	j, err := store.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return j.Done()
}

// TestNotifiedJobStartsWithoutThePoll queues jobs and wakes the pool as a submission does:
// they must run although the pool would not look for unannounced jobs for half an hour.
func TestNotifiedJobStartsWithoutThePoll(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		store := job.NewStore(db, time.Now)
		pool, c := startPool(t, store, 4, time.Hour)

		ids := queue(t, db, store, 1, 3)
		pool.Notify()
		for _, id := range ids {
			waitFor(t, "the notified job", func() bool { return isDone(t, store, id) })
			if c.runs(id) != 1 {
				t.Fatalf("job ran %d times, want 1", c.runs(id))
			}
		}
		if n := store.ClaimStats().Checks; n != 0 {
			t.Fatalf("the pool polled the queue %d times; the jobs should not need it", n)
		}
	})
}

// TestIdleWorkersDoNotClaim lets the pool's queue check run many times over an empty
// queue: the workers must not run a single claim meanwhile.
func TestIdleWorkersDoNotClaim(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		store := job.NewStore(db, time.Now)
		startPool(t, store, 8, 50*time.Millisecond)

		before := store.ClaimStats()
		// About a second and a half: long enough to catch workers polling each second.
		waitFor(t, "the queue checks", func() bool {
			return store.ClaimStats().Checks >= before.Checks+30
		})
		if after := store.ClaimStats(); after.Claims != before.Claims {
			t.Fatalf("idle workers ran %d claims over %d checks of an empty queue",
				after.Claims-before.Claims, after.Checks-before.Checks)
		}
	})
}

// TestJobOfAnotherInstanceIsPickedUp queues a job through a second store on the same
// database, as another server would, without waking this pool: its poll must find it.
func TestJobOfAnotherInstanceIsPickedUp(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		store := job.NewStore(db, time.Now)
		_, c := startPool(t, store, 2, 100*time.Millisecond)

		other := job.NewStore(db, time.Now)
		id := queue(t, db, other, 1, 1)[0]
		waitFor(t, "the other instance's job", func() bool { return isDone(t, store, id) })
		if c.runs(id) != 1 {
			t.Fatalf("job ran %d times here, want 1", c.runs(id))
		}
		if store.ClaimStats().Checks == 0 {
			t.Fatal("the job ran without the pool checking the queue")
		}
	})
}

// TestExpiredLeaseWakesAWorker leaves a job with a worker that died: when recovery puts it
// back in the queue, a worker must take it without waiting for the poll.
func TestExpiredLeaseWakesAWorker(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		store := job.NewStore(db, time.Now)
		_, c := startPool(t, store, 2, time.Hour)

		id := queue(t, db, store, 1, 1)[0]
		j, err := store.Claim(context.Background(), "dead", -time.Minute)
		if err != nil || j == nil || j.ID != id {
			t.Fatalf("claim for the dead worker: %v, %v", j, err)
		}
		waitFor(t, "the recovered job", func() bool { return isDone(t, store, id) })
		if c.runs(id) != 1 {
			t.Fatalf("job ran %d times, want 1", c.runs(id))
		}
		if n := store.ClaimStats().Checks; n != 0 {
			t.Fatalf("the pool polled the queue %d times; recovery should wake it", n)
		}
	})
}

// gate is a job kind whose runs each wait until want of them run at once.
type gate struct {
	recorder
	want    int
	started chan struct{}
}

func (g *gate) Run(ctx context.Context, _ *job.Job, _ func(int, string)) (job.Outcome, error) {
	g.started <- struct{}{}
	for {
		if len(g.started) == g.want {
			return job.Outcome{}, nil
		}
		select {
		case <-ctx.Done():
			return job.Outcome{}, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// TestOneWakeUpSpreadsOverIdleWorkers queues three jobs that can only finish while all
// three run at once and wakes the pool once, as a single Notify coalesces many: each
// worker that claims a job must wake the next.
func TestOneWakeUpSpreadsOverIdleWorkers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		store := job.NewStore(db, time.Now)
		g := &gate{recorder: recorder{settled: map[string]int{}}, want: 3,
			started: make(chan struct{}, 3)}
		pool := job.NewPool(store, 3, slog.New(slog.NewTextHandler(io.Discard, nil)))
		pool.Register("image", g)
		pool.SetPoll(time.Hour)
		ids := queue(t, db, store, 1, 3)

		ctx, cancel := context.WithCancel(context.Background())
		stopped := make(chan struct{})
		go func() { pool.Run(ctx); close(stopped) }()
		defer func() { cancel(); <-stopped }()
		for _, id := range ids {
			waitFor(t, "the three jobs together", func() bool { return isDone(t, store, id) })
		}
	})
}
