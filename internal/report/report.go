// Package report answers the administrators' questions about use: credits spent and images
// made per day, per model and per feature, the heaviest users, and the figures of the
// admin dashboard. The credit ledger is the source for credits, so a refunded job costs
// nothing in a report either. It also writes CSV files that spreadsheets open safely.
package report

import (
	"context"
	"fmt"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/credit"
	"github.com/sketchmaker/sketchmaker/internal/database"
)

// dayMillis is the length of a day in the Unix-millisecond columns; reports use UTC days.
const (
	dayMillis  = 24 * 60 * 60 * 1000
	dayLiteral = "86400000"
)

// MaxDays is the longest period a daily report covers.
const MaxDays = 366

// usedKinds are the ledger rows whose amounts, negated, are the credits that jobs used: a
// reservation takes, a refund gives back.
const usedKinds = `kind IN ('reserve', 'refund')`

// Service reads the reports.
type Service struct {
	db  *database.DB
	now func() time.Time
}

// New returns a Service.
func New(db *database.DB, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: db, now: now}
}

// StartOfDay returns midnight UTC of t's day.
func StartOfDay(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// StartOfMonth returns midnight UTC of the first day of t's month.
func StartOfMonth(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// Summary holds the dashboard's figures.
type Summary struct {
	ImagesToday  int
	ImagesMonth  int
	CreditsToday credit.Milli
	CreditsMonth credit.Milli
	JobsQueued   int
	JobsRunning  int
	FailedToday  int
}

// Summary returns the dashboard's figures for today and this month (UTC).
func (s *Service) Summary(ctx context.Context) (Summary, error) {
	now := s.now()
	today, month := StartOfDay(now).UnixMilli(), StartOfMonth(now).UnixMilli()
	var out Summary

	q := s.db.Rebind(`SELECT
		COALESCE(SUM(CASE WHEN created_at >= ? THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN created_at >= ? THEN 1 ELSE 0 END), 0)
		FROM images WHERE created_at >= ?`)
	row := s.db.QueryRowxContext(ctx, q, today, month, min(today, month))
	if err := row.Scan(&out.ImagesToday, &out.ImagesMonth); err != nil {
		return Summary{}, fmt.Errorf("count images: %w", err)
	}

	var todayUsed, monthUsed int64
	q = s.db.Rebind(`SELECT
		CAST(COALESCE(SUM(CASE WHEN created_at >= ? THEN -amount ELSE 0 END), 0) AS BIGINT),
		CAST(COALESCE(SUM(-amount), 0) AS BIGINT)
		FROM credit_ledger WHERE ` + usedKinds + ` AND created_at >= ?`)
	if err := s.db.QueryRowxContext(ctx, q, today, min(today, month)).
		Scan(&todayUsed, &monthUsed); err != nil {
		return Summary{}, fmt.Errorf("sum credits used: %w", err)
	}
	out.CreditsToday, out.CreditsMonth = credit.Milli(todayUsed), credit.Milli(monthUsed)

	q = s.db.Rebind(`SELECT
		COALESCE(SUM(CASE WHEN status = 'queued' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN status = 'running' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN status = 'failed' AND finished_at >= ? THEN 1 ELSE 0 END), 0)
		FROM jobs WHERE status IN ('queued', 'running') OR finished_at >= ?`)
	if err := s.db.QueryRowxContext(ctx, q, today, today).
		Scan(&out.JobsQueued, &out.JobsRunning, &out.FailedToday); err != nil {
		return Summary{}, fmt.Errorf("count jobs: %w", err)
	}
	return out, nil
}

// Day is one day of a daily report.
type Day struct {
	Day     time.Time // midnight UTC
	Credits credit.Milli
	Images  int
}

// Daily returns the credits used and images made on each of the last days days (today
// included, 1 to MaxDays), oldest first, with days without activity present as zeros.
func (s *Service) Daily(ctx context.Context, days int) ([]Day, error) {
	days = min(max(days, 1), MaxDays)
	first := StartOfDay(s.now()).AddDate(0, 0, -(days - 1))
	out := make([]Day, days)
	for i := range out {
		out[i].Day = first.AddDate(0, 0, i)
	}
	index := func(day int64) (int, bool) {
		i := int(day - first.UnixMilli()/dayMillis)
		return i, i >= 0 && i < days
	}

	var credits []struct {
		Day  int64 `db:"day"`
		Used int64 `db:"used"`
	}
	// The day length is written into the SQL, not bound, so that PostgreSQL sees the
	// same expression in SELECT and GROUP BY.
	q := s.db.Rebind(`SELECT created_at / ` + dayLiteral + ` AS day,
		CAST(COALESCE(SUM(-amount), 0) AS BIGINT) AS used
		FROM credit_ledger WHERE ` + usedKinds + ` AND created_at >= ?
		GROUP BY created_at / ` + dayLiteral)
	err := s.db.SelectContext(ctx, &credits, q, first.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("credits per day: %w", err)
	}
	for _, c := range credits {
		if i, ok := index(c.Day); ok {
			out[i].Credits = credit.Milli(c.Used)
		}
	}

	var images []struct {
		Day int64 `db:"day"`
		N   int   `db:"n"`
	}
	q = s.db.Rebind(`SELECT created_at / ` + dayLiteral + ` AS day, COUNT(*) AS n
		FROM images WHERE created_at >= ? GROUP BY created_at / ` + dayLiteral)
	err = s.db.SelectContext(ctx, &images, q, first.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("images per day: %w", err)
	}
	for _, im := range images {
		if i, ok := index(im.Day); ok {
			out[i].Images = im.N
		}
	}
	return out, nil
}

// Share is one group of a breakdown: a model or a feature.
type Share struct {
	Label   string       `db:"label"`
	Credits credit.Milli `db:"credits"`
	Jobs    int          `db:"jobs"`
}

// ByModel returns the credits used and jobs run per model since the given time, the
// largest first.
func (s *Service) ByModel(ctx context.Context, since time.Time) ([]Share, error) {
	return s.shares(ctx, "j.model", since)
}

// ByFeature returns the credits used and jobs run per feature (image generation, prompt
// enhancement, training) since the given time, the largest first.
func (s *Service) ByFeature(ctx context.Context, since time.Time) ([]Share, error) {
	shares, err := s.shares(ctx, "j.kind", since)
	for i := range shares {
		shares[i].Label = featureOf(shares[i].Label)
	}
	return shares, err
}

// featureOf names the priced feature of a job kind.
func featureOf(kind string) string {
	switch kind {
	case "image":
		return credit.FeatureImage
	case "prompt", "enhance":
		return credit.FeaturePrompt
	case "training", "train":
		return credit.FeatureTraining
	}
	return kind
}

// shares groups the credits jobs used since the given time by a column of jobs (a
// constant, never input).
func (s *Service) shares(ctx context.Context, column string, since time.Time) ([]Share, error) {
	var out []Share
	q := s.db.Rebind(`SELECT ` + column + ` AS label,
		CAST(COALESCE(SUM(-l.amount), 0) AS BIGINT) AS credits,
		COUNT(DISTINCT j.id) AS jobs
		FROM credit_ledger l JOIN jobs j ON j.id = l.job_id
		WHERE l.kind IN ('reserve', 'refund') AND l.created_at >= ?
		GROUP BY ` + column + ` ORDER BY credits DESC, label`)
	if err := s.db.SelectContext(ctx, &out, q, since.UnixMilli()); err != nil {
		return nil, fmt.Errorf("credits by %s: %w", column, err)
	}
	return out, nil
}

// TopUser is one of the heaviest users.
type TopUser struct {
	UserID   int64        `db:"user_id"`
	Email    string       `db:"email"` // "" when the account was deleted
	Username string       `db:"username"`
	Credits  credit.Milli `db:"credits"`
	Jobs     int          `db:"jobs"`
}

// TopUsers returns the limit users (1 to 100) who used the most credits since the given
// time, the heaviest first.
func (s *Service) TopUsers(ctx context.Context, since time.Time, limit int) ([]TopUser, error) {
	limit = min(max(limit, 1), 100)
	var out []TopUser
	q := s.db.Rebind(`SELECT l.user_id AS user_id, COALESCE(u.email, '') AS email,
		COALESCE(u.username, '') AS username,
		CAST(COALESCE(SUM(-l.amount), 0) AS BIGINT) AS credits,
		COUNT(DISTINCT l.job_id) AS jobs
		FROM credit_ledger l LEFT JOIN users u ON u.id = l.user_id
		WHERE l.kind IN ('reserve', 'refund') AND l.created_at >= ?
		GROUP BY l.user_id, u.email, u.username
		ORDER BY credits DESC, l.user_id LIMIT ?`)
	if err := s.db.SelectContext(ctx, &out, q, since.UnixMilli(), limit); err != nil {
		return nil, fmt.Errorf("top users: %w", err)
	}
	return out, nil
}
