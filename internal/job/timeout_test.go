package job_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
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
