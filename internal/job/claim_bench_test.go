package job_test

import (
	"context"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
	"github.com/sketchmaker/sketchmaker/internal/job"
)

// BenchmarkClaim measures claiming the next job of a busy instance: four users with 250
// queued jobs each, 256 of them running, behind a history of 2,000 finished jobs, as in
// the benchmark of 1,000 generation jobs in flight (issue 8). Each claimed job is put back
// in the queue outside the timed part, so every claim sees the same queue.
func BenchmarkClaim(b *testing.B) {
	db := dbtest.SQLite(b)
	clock := &ticking{t: time.Unix(1_760_000_000, 0)}
	s := job.NewStore(db, clock.now)
	ctx := context.Background()

	// The history and the running jobs are set directly: claiming them one by one is
	// what this benchmark measures, and would take minutes.
	mark := func(status string) {
		q := db.Rebind(`UPDATE jobs SET status = ?, worker = 'old', started_at = created_at
			WHERE status = ?`)
		if _, err := db.ExecContext(ctx, q, status, job.Queued); err != nil {
			b.Fatal(err)
		}
	}
	for user := int64(1); user <= 4; user++ {
		fill(b, db, s, user, 500)
	}
	mark(job.Succeeded)
	for user := int64(1); user <= 4; user++ {
		fill(b, db, s, user, 64)
	}
	mark(job.Running)
	for user := int64(1); user <= 4; user++ {
		fill(b, db, s, user, 250)
	}

	requeue := db.Rebind(`UPDATE jobs SET status = ?, worker = '' WHERE id = ?`)
	for b.Loop() {
		j, err := s.Claim(ctx, "bench", time.Minute)
		if err != nil || j == nil {
			b.Fatalf("claim: %v", err)
		}
		b.StopTimer()
		if _, err := db.ExecContext(ctx, requeue, job.Queued, j.ID); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// fill queues n jobs of userID in one transaction.
func fill(b *testing.B, db *database.DB, s *job.Store, userID int64, n int) {
	b.Helper()
	err := db.Tx(context.Background(), func(tx *sqlx.Tx) error {
		for range n {
			j := &job.Job{UserID: userID, Kind: "image", Provider: "fal", Model: "m",
				Input: "{}"}
			if err := s.Insert(context.Background(), tx, j); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}
