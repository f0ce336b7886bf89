package job_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
	"github.com/sketchmaker/sketchmaker/internal/job"
)

// recorder is a job kind that counts settlements.
type recorder struct {
	mu      sync.Mutex
	settled map[string]int
}

func (r *recorder) Run(context.Context, *job.Job, func(int, string)) (job.Outcome, error) {
	return job.Outcome{}, nil
}

func (r *recorder) Settle(_ context.Context, j *job.Job) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.settled[j.ID]++
	return nil
}

func (r *recorder) count(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.settled[id]
}

// TestRecoverySettlesJobsLeftUnsettled mimics a crash between a job's end and its
// settlement: recovery must square it, once.
func TestRecoverySettlesJobsLeftUnsettled(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		clk := &ticking{t: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)}
		store := job.NewStore(db, clk.now)
		ids := queue(t, db, store, 1, 2)

		// The first ended a minute ago without settlement; the second is still queued.
		old := clk.now().Add(-time.Minute).UnixMilli()
		q := db.Rebind(`UPDATE jobs SET status = ?, finished_at = ? WHERE id = ?`)
		if _, err := db.ExecContext(context.Background(), q, job.Failed, old, ids[0]); err != nil {
			t.Fatal(err)
		}

		rec := &recorder{settled: map[string]int{}}
		ctx, cancel := context.WithCancel(context.Background())
		pool := job.NewPool(store, 1, slog.New(slog.NewTextHandler(io.Discard, nil)))
		pool.Register("image", rec)
		done := make(chan struct{})
		go func() { pool.Run(ctx); close(done) }()

		// Wait for the settlement to be recorded, not just begun: stopping the pool between
		// Settle and MarkSettled would leave the job unsettled for the next start.
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			j, err := store.Get(context.Background(), ids[0])
			if err != nil {
				t.Fatal(err)
			}
			if j.SettledAt != 0 {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
		<-done

		if rec.count(ids[0]) != 1 {
			t.Fatalf("the unsettled job was settled %d times, want 1", rec.count(ids[0]))
		}
		left, err := store.Unsettled(context.Background(), 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range left {
			if j.ID == ids[0] {
				t.Fatal("the job is still unsettled after recovery")
			}
		}
	})
}
