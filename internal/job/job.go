// Package job runs durable background work: every generation and training is a row that
// workers claim, run under a lease, and finish, so that a restart loses nothing. A job whose
// worker died is claimed again when its lease runs out, or failed after too many attempts.
package job

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/fault"
)

// The states of a job.
const (
	Queued    = "queued"
	Running   = "running"
	Succeeded = "succeeded"
	Failed    = "failed"
	Canceled  = "canceled"
)

// MaxAttempts is how often a job is started before a crash-looping job is failed.
const MaxAttempts = 3

// Job is one unit of durable work.
type Job struct {
	ID                string `db:"id"`
	UserID            int64  `db:"user_id"`
	Kind              string `db:"kind"`
	Provider          string `db:"provider"`
	Model             string `db:"model"`
	Input             string `db:"input"`
	Status            string `db:"status"`
	Progress          int    `db:"progress"`
	Message           string `db:"message"`
	ProviderRequestID string `db:"provider_request_id"`
	Attempts          int    `db:"attempts"`
	CostReserved      int64  `db:"cost_reserved"`
	CostSettled       int64  `db:"cost_settled"`
	Result            string `db:"result"`
	Error             string `db:"error"`
	Worker            string `db:"worker"`
	LeaseUntil        int64  `db:"lease_until"`
	CreatedAt         int64  `db:"created_at"`
	StartedAt         int64  `db:"started_at"`
	FinishedAt        int64  `db:"finished_at"`
	SettledAt         int64  `db:"settled_at"`
}

// Done reports whether the job has reached a final state.
func (j *Job) Done() bool {
	return j.Status == Succeeded || j.Status == Failed || j.Status == Canceled
}

const jobColumns = `id, user_id, kind, provider, model, input, status, progress, message,
	provider_request_id, attempts, cost_reserved, cost_settled, result, error, worker,
	lease_until, created_at, started_at, finished_at, settled_at`

// ErrNotFound answers a job that does not exist or is not the caller's.
var ErrNotFound = fault.New(fault.NotFound, "That job does not exist.")

// Store keeps jobs.
type Store struct {
	db  *database.DB
	now func() time.Time

	// Counters for ClaimStats: how often workers asked the database for work.
	claims, empty, checks atomic.Int64
}

// NewStore returns a job store.
func NewStore(db *database.DB, now func() time.Time) *Store {
	return &Store{db: db, now: now}
}

// NewID returns a fresh random job id.
func NewID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return hex.EncodeToString(b)
}

// Insert adds a queued job inside tx, the transaction that also reserves its credits.
func (s *Store) Insert(ctx context.Context, tx *sqlx.Tx, j *Job) error {
	if j.ID == "" {
		j.ID = NewID()
	}
	j.Status, j.CreatedAt = Queued, s.now().UnixMilli()
	q := tx.Rebind(`INSERT INTO jobs (id, user_id, kind, provider, model, input, status,
		cost_reserved, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	_, err := tx.ExecContext(ctx, q, j.ID, j.UserID, j.Kind, j.Provider, j.Model, j.Input,
		j.Status, j.CostReserved, j.CreatedAt)
	if err != nil {
		return fmt.Errorf("insert job: %w", err)
	}
	return nil
}

// Get returns job id, whoever owns it.
func (s *Store) Get(ctx context.Context, id string) (*Job, error) {
	var j Job
	q := s.db.Rebind(`SELECT ` + jobColumns + ` FROM jobs WHERE id = ?`)
	err := s.db.GetContext(ctx, &j, q, id)
	if errors.Is(database.NotFound(err), database.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get job: %w", err)
	}
	return &j, nil
}

// GetForUser returns job id when userID owns it, and ErrNotFound otherwise.
func (s *Store) GetForUser(ctx context.Context, userID int64, id string) (*Job, error) {
	if len(id) != 32 {
		return nil, ErrNotFound
	}
	j, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if j.UserID != userID {
		return nil, ErrNotFound
	}
	return j, nil
}

// Claim takes the next queued job for worker and marks it running under a lease. Jobs are
// taken round-robin between users: the oldest job of the user with the fewest jobs
// running goes first and, among users running as many, of the user served least
// recently, so one user's long queue cannot starve the others even with a single worker.
func (s *Store) Claim(ctx context.Context, worker string, lease time.Duration) (*Job, error) {
	s.claims.Add(1)
	var claimed *Job
	err := s.db.Tx(ctx, func(tx *sqlx.Tx) error {
		id, err := s.pick(ctx, tx)
		if errors.Is(database.NotFound(err), database.ErrNotFound) {
			s.empty.Add(1)
			return nil
		}
		if err != nil {
			return fmt.Errorf("pick job: %w", err)
		}

		now := s.now()
		q := tx.Rebind(`UPDATE jobs SET status = ?, worker = ?, lease_until = ?,
			attempts = attempts + 1, started_at = ? WHERE id = ? AND status = ?`)
		_, err = tx.ExecContext(ctx, q, Running, worker, now.Add(lease).UnixMilli(),
			now.UnixMilli(), id, Queued)
		if err != nil {
			return fmt.Errorf("claim job: %w", err)
		}

		var j Job
		q = tx.Rebind(`SELECT ` + jobColumns + ` FROM jobs WHERE id = ?`)
		if err := tx.GetContext(ctx, &j, q, id); err != nil {
			return fmt.Errorf("read claimed job: %w", err)
		}
		claimed = &j
		return nil
	})
	return claimed, err
}

// pick returns the id of the job Claim takes. It first chooses the user, ranking each user
// with queued jobs once, then takes that user's oldest queued job: ranking every queued
// job instead cost two subqueries per job, and with a thousand queued jobs a claim took a
// fifth of a second while holding SQLite's write lock (BenchmarkClaim). On PostgreSQL the
// chosen user's queued jobs may all be locked by other claims; the exhaustive ranking,
// which skips locked rows, then decides.
func (s *Store) pick(ctx context.Context, tx *sqlx.Tx) (string, error) {
	var id string
	q := tx.Rebind(`SELECT id FROM jobs WHERE status = ? AND user_id = (
			SELECT u.user_id FROM (SELECT DISTINCT user_id FROM jobs WHERE status = ?) u
			ORDER BY (SELECT COUNT(*) FROM jobs r WHERE r.user_id = u.user_id
					AND r.status = ?),
				(SELECT COALESCE(MAX(r.started_at), 0) FROM jobs r
					WHERE r.user_id = u.user_id),
				(SELECT MIN(r.created_at) FROM jobs r WHERE r.user_id = u.user_id
					AND r.status = ?),
				u.user_id
			LIMIT 1)
		ORDER BY created_at, id LIMIT 1` + s.db.SkipLocked())
	err := tx.GetContext(ctx, &id, q, Queued, Queued, Running, Queued)
	if !errors.Is(database.NotFound(err), database.ErrNotFound) {
		return id, err
	}

	q = tx.Rebind(`SELECT id FROM jobs q WHERE status = ?
		ORDER BY (SELECT COUNT(*) FROM jobs r WHERE r.user_id = q.user_id
			AND r.status = ?),
			(SELECT COALESCE(MAX(r.started_at), 0) FROM jobs r
				WHERE r.user_id = q.user_id),
			created_at, id
		LIMIT 1` + s.db.SkipLocked())
	err = tx.GetContext(ctx, &id, q, Queued, Running)
	return id, err
}

// Progress records how far a running job is and extends its lease. It returns false when the
// job is no longer this worker's (canceled, or taken over after the lease ran out).
func (s *Store) Progress(ctx context.Context, id, worker string, pct int, msg string,
	lease time.Duration) (bool, error) {
	q := s.db.Rebind(`UPDATE jobs SET progress = ?, message = ?, lease_until = ?
		WHERE id = ? AND worker = ? AND status = ?`)
	res, err := s.db.ExecContext(ctx, q, pct, msg, s.now().Add(lease).UnixMilli(), id,
		worker, Running)
	if err != nil {
		return false, fmt.Errorf("job progress: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// SetProviderRequest records the provider's id for a job so a restart can poll it again.
func (s *Store) SetProviderRequest(ctx context.Context, id, requestID string) error {
	q := s.db.Rebind(`UPDATE jobs SET provider_request_id = ? WHERE id = ?`)
	if _, err := s.db.ExecContext(ctx, q, requestID, id); err != nil {
		return fmt.Errorf("job provider request: %w", err)
	}
	return nil
}

// Postpone hands a running job of worker back for a later attempt: the job keeps its
// attempts and stays running, without a worker, until its lease runs out at until and
// Recover queues it again (or fails it, when it used every attempt). It returns false
// when the job was no longer this worker's.
func (s *Store) Postpone(ctx context.Context, id, worker string, until time.Time,
	msg string) (bool, error) {
	q := s.db.Rebind(`UPDATE jobs SET worker = '', lease_until = ?, message = ?
		WHERE id = ? AND worker = ? AND status = ?`)
	res, err := s.db.ExecContext(ctx, q, until.UnixMilli(), msg, id, worker, Running)
	if err != nil {
		return false, fmt.Errorf("postpone job: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// Finish moves a running job of worker to its final state. It returns false when the job was
// not this worker's to finish.
func (s *Store) Finish(ctx context.Context, j *Job, worker string) (bool, error) {
	j.FinishedAt = s.now().UnixMilli()
	q := s.db.Rebind(`UPDATE jobs SET status = ?, progress = ?, message = ?, result = ?,
		error = ?, cost_settled = ?, finished_at = ?, lease_until = 0
		WHERE id = ? AND worker = ? AND status = ?`)
	res, err := s.db.ExecContext(ctx, q, j.Status, j.Progress, j.Message, j.Result, j.Error,
		j.CostSettled, j.FinishedAt, j.ID, worker, Running)
	if err != nil {
		return false, fmt.Errorf("finish job: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// Cancel cancels userID's job id while it is still queued or running. It returns the job as
// it was, so the caller can refund what it reserved; a job already done is left alone.
func (s *Store) Cancel(ctx context.Context, userID int64, id string) (*Job, bool, error) {
	j, err := s.GetForUser(ctx, userID, id)
	if err != nil {
		return nil, false, err
	}
	if j.Done() {
		return j, false, nil
	}
	q := s.db.Rebind(`UPDATE jobs SET status = ?, message = ?, finished_at = ?, worker = ''
		WHERE id = ? AND status IN (?, ?)`)
	res, err := s.db.ExecContext(ctx, q, Canceled, "Canceled by you.", s.now().UnixMilli(),
		id, Queued, Running)
	if err != nil {
		return nil, false, fmt.Errorf("cancel job: %w", err)
	}
	n, _ := res.RowsAffected()
	return j, n == 1, nil
}

// Recover returns jobs whose worker stopped renewing their lease to the queue, and fails
// those that already used every attempt. It returns the failed jobs, so their credits can be
// refunded, and how many jobs went back to the queue, so idle workers can be woken.
func (s *Store) Recover(ctx context.Context) ([]Job, int, error) {
	now := s.now().UnixMilli()
	var dead []Job
	q := s.db.Rebind(`SELECT ` + jobColumns + ` FROM jobs
		WHERE status = ? AND lease_until < ? AND attempts >= ?`)
	if err := s.db.SelectContext(ctx, &dead, q, Running, now, MaxAttempts); err != nil {
		return nil, 0, fmt.Errorf("find dead jobs: %w", err)
	}

	var failed []Job
	for _, j := range dead {
		q := s.db.Rebind(`UPDATE jobs SET status = ?, error = ?, finished_at = ?,
			lease_until = 0 WHERE id = ? AND status = ? AND lease_until < ?`)
		res, err := s.db.ExecContext(ctx, q, Failed, "The job stopped too often and was "+
			"given up. Your credits were refunded.", now, j.ID, Running, now)
		if err != nil {
			return failed, 0, fmt.Errorf("fail dead job: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			j.Status = Failed
			failed = append(failed, j)
		}
	}

	q = s.db.Rebind(`UPDATE jobs SET status = ?, worker = '', lease_until = 0
		WHERE status = ? AND lease_until < ? AND attempts < ?`)
	res, err := s.db.ExecContext(ctx, q, Queued, Running, now, MaxAttempts)
	if err != nil {
		return failed, 0, fmt.Errorf("requeue jobs: %w", err)
	}
	requeued, _ := res.RowsAffected()
	return failed, int(requeued), nil
}

// HasQueued reports whether any job waits to be claimed. It is a plain read, unlike
// Claim's write transaction, so a pool can afford to ask it now and then for jobs that
// another instance queued without waking this one.
func (s *Store) HasQueued(ctx context.Context) (bool, error) {
	s.checks.Add(1)
	var oldest sql.NullInt64
	q := s.db.Rebind(`SELECT MIN(created_at) FROM jobs WHERE status = ?`)
	if err := s.db.GetContext(ctx, &oldest, q, Queued); err != nil {
		return false, fmt.Errorf("look for queued jobs: %w", err)
	}
	return oldest.Valid, nil
}

// QueuePosition estimates how many queued jobs will start before j (0 when it is next or
// running). Claims go round-robin between users, so ahead of j are its owner's older jobs
// and, from each other user, at most one job per turn j has to wait.
func (s *Store) QueuePosition(ctx context.Context, j *Job) (int, error) {
	if j.Status != Queued {
		return 0, nil
	}
	var own int
	q := s.db.Rebind(`SELECT COUNT(*) FROM jobs WHERE status = ? AND user_id = ? AND
		(created_at < ? OR (created_at = ? AND id < ?))`)
	if err := s.db.GetContext(ctx, &own, q, Queued, j.UserID, j.CreatedAt, j.CreatedAt,
		j.ID); err != nil {
		return 0, fmt.Errorf("queue position: %w", err)
	}

	var others []struct {
		Count  int   `db:"n"`
		Oldest int64 `db:"oldest"`
	}
	q = s.db.Rebind(`SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM jobs
		WHERE status = ? AND user_id <> ? GROUP BY user_id`)
	if err := s.db.SelectContext(ctx, &others, q, Queued, j.UserID); err != nil {
		return 0, fmt.Errorf("queue position: %w", err)
	}
	n := own
	for _, o := range others {
		turns := own
		if o.Oldest < j.CreatedAt {
			turns++ // in j's own turn, this user's older job goes first
		}
		n += min(o.Count, turns)
	}
	return n, nil
}

// MarkSettled records that job id's credits were squared.
func (s *Store) MarkSettled(ctx context.Context, id string) error {
	q := s.db.Rebind(`UPDATE jobs SET settled_at = ? WHERE id = ? AND settled_at = 0`)
	if _, err := s.db.ExecContext(ctx, q, s.now().UnixMilli(), id); err != nil {
		return fmt.Errorf("mark job settled: %w", err)
	}
	return nil
}

// Unsettled returns jobs that reached a final state at least grace ago but whose credits
// were never squared, because the process stopped between the two steps.
func (s *Store) Unsettled(ctx context.Context, grace time.Duration) ([]Job, error) {
	var out []Job
	q := s.db.Rebind(`SELECT ` + jobColumns + ` FROM jobs
		WHERE settled_at = 0 AND status IN (?, ?, ?) AND finished_at <= ?
		ORDER BY finished_at LIMIT 100`)
	cutoff := s.now().Add(-grace).UnixMilli()
	err := s.db.SelectContext(ctx, &out, q, Succeeded, Failed, Canceled, cutoff)
	if err != nil {
		return nil, fmt.Errorf("find unsettled jobs: %w", err)
	}
	return out, nil
}

// ForgetUser erases what a deleted account wrote into its jobs (prompts and results) and
// cancels those still queued; the rows stay, so the credit ledger still points somewhere.
func (s *Store) ForgetUser(ctx context.Context, userID int64) error {
	q := s.db.Rebind(`UPDATE jobs SET status = ?, finished_at = ? WHERE user_id = ? AND status = ?`)
	if _, err := s.db.ExecContext(ctx, q, Canceled, s.now().UnixMilli(), userID, Queued); err != nil {
		return fmt.Errorf("cancel jobs of a deleted user: %w", err)
	}
	q = s.db.Rebind(`UPDATE jobs SET input = '{}', result = '', message = '', error = ''
		WHERE user_id = ?`)
	if _, err := s.db.ExecContext(ctx, q, userID); err != nil {
		return fmt.Errorf("erase jobs of a deleted user: %w", err)
	}
	return nil
}

// CountActive returns how many jobs are queued or running.
func (s *Store) CountActive(ctx context.Context) (int, error) {
	var n int
	q := s.db.Rebind(`SELECT COUNT(*) FROM jobs WHERE status IN (?, ?)`)
	if err := s.db.GetContext(ctx, &n, q, Queued, Running); err != nil {
		return 0, fmt.Errorf("count jobs: %w", err)
	}
	return n, nil
}
