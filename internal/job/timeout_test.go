package job_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
	"github.com/sketchmaker/sketchmaker/internal/job"
)

// waiter runs until its context ends, like a provider that never answers.
type waiter struct{ recorder }

func (w *waiter) Run(ctx context.Context, _ *job.Job, _ func(int, string)) (job.Outcome, error) {
	<-ctx.Done()
	return job.Outcome{}, ctx.Err()
}

func TestKindTimeLimit(t *testing.T) {
	db := dbtest.SQLite(t)
	store := job.NewStore(db, time.Now)
	ids := queue(t, db, store, 1, 1)

	w := &waiter{recorder{settled: map[string]int{}}}
	pool := job.NewPool(store, 1, slog.New(slog.NewTextHandler(io.Discard, nil)))
	pool.RegisterTimeout("image", w, 100*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { pool.Run(ctx); close(done) }()

	var j *job.Job
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		j, _ = store.Get(context.Background(), ids[0])
		if j != nil && j.Done() {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done

	if j == nil || j.Status != job.Failed || !strings.Contains(j.Error, "too long") {
		t.Fatalf("job after its kind's limit: %+v", j)
	}
	if w.count(ids[0]) != 1 {
		t.Fatalf("settled %d times, want 1", w.count(ids[0]))
	}
}

// reporter reports progress every few milliseconds until its context ends, as a job
// waiting on a provider does.
type reporter struct{ recorder }

func (r *reporter) Run(ctx context.Context, _ *job.Job, report func(int, string)) (
	job.Outcome, error) {
	for ctx.Err() == nil {
		report(10, "Waiting")
		time.Sleep(5 * time.Millisecond)
	}
	return job.Outcome{}, ctx.Err()
}

// TestCanceledJobIsNotLoggedAsFailed cancels a running job: the worker stops it, settles
// it once, and logs that it stopped, not a failure with the context's error.
func TestCanceledJobIsNotLoggedAsFailed(t *testing.T) {
	db := dbtest.SQLite(t)
	store := job.NewStore(db, time.Now)
	ids := queue(t, db, store, 1, 1)
	var logs syncBuffer
	r := &reporter{recorder{settled: map[string]int{}}}
	pool := job.NewPool(store, 1, slog.New(slog.NewTextHandler(&logs, nil)))
	pool.Register("image", r)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { pool.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	waitFor(t, "the job to run", func() bool {
		j, _ := store.Get(context.Background(), ids[0])
		return j != nil && j.Status == job.Running
	})
	if _, _, err := store.Cancel(context.Background(), 1, ids[0]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the settlement", func() bool { return r.count(ids[0]) == 1 })
	waitFor(t, "the log line", func() bool {
		return strings.Contains(logs.String(), "job stopped")
	})

	if j, _ := store.Get(context.Background(), ids[0]); j.Status != job.Canceled {
		t.Errorf("job %s after its cancellation", j.Status)
	}
	if strings.Contains(logs.String(), "job failed") {
		t.Errorf("a canceled job was logged as failed:\n%s", logs.String())
	}
}

// syncBuffer is a log destination safe for the pool's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
