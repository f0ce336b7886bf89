package credit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// resetBatch is how many due users ResetDue reads at a time.
const resetBatch = 200

// due is a user whose monthly reset has come, as first seen.
type due struct {
	ID          int64 `db:"id"`
	NextResetAt int64 `db:"next_reset_at"`
}

// ResetDue gives every user with a plan whose reset time has come the plan's monthly
// allowance (the balance becomes the allowance; a "monthly_reset" row holds the difference)
// and moves their next reset to the first anniversary after now. After downtime a user is
// reset once, not once per missed month. Several instances may call it at the same time:
// each reset is a compare-and-set on the user's next reset time, so it happens exactly once.
// It returns how many users this call reset; a failure for one user does not stop the others.
func (s *Service) ResetDue(ctx context.Context) (int, error) {
	now := s.now().UTC()

	var (
		count int
		after int64
		errs  []error
	)
	for {
		var batch []due
		err := s.db.SelectContext(ctx, &batch, s.db.Rebind(`
			SELECT id, next_reset_at FROM users
			WHERE plan_id IS NOT NULL AND next_reset_at > 0 AND next_reset_at <= ? AND id > ?
			ORDER BY id LIMIT ?`), now.UnixMilli(), after, resetBatch)
		if err != nil {
			return count, fmt.Errorf("find due resets: %w", err)
		}

		for _, u := range batch {
			done, err := s.resetOne(ctx, u, now)
			if err != nil {
				errs = append(errs, fmt.Errorf("reset user %d: %w", u.ID, err))
			}
			if done {
				count++
			}
			after = u.ID
		}
		if len(batch) < resetBatch {
			return count, errors.Join(errs...)
		}
	}
}

// resetOne resets the user u if nobody has since moved their next reset, and reports
// whether it did.
func (s *Service) resetOne(ctx context.Context, u due, now time.Time) (bool, error) {
	done := false
	err := s.db.Tx(ctx, func(tx *sqlx.Tx) error {
		var cur struct {
			Credits       int64         `db:"credits"`
			NextResetAt   int64         `db:"next_reset_at"`
			PlanStartedAt int64         `db:"plan_started_at"`
			PlanID        sql.NullInt64 `db:"plan_id"`
		}
		q := `SELECT credits, next_reset_at, plan_started_at, plan_id FROM users WHERE id = ?`
		if err := tx.GetContext(ctx, &cur, tx.Rebind(q+s.forUpdate()), u.ID); err != nil {
			return fmt.Errorf("read user: %w", err)
		}
		if !cur.PlanID.Valid || cur.NextResetAt != u.NextResetAt {
			// Another instance reset this user, or the plan changed, since the list was read.
			return nil
		}

		plan, err := planWhere(ctx, tx, "id", cur.PlanID.Int64)
		if err != nil {
			return err
		}
		next := nextReset(anchorOf(cur.PlanStartedAt, cur.NextResetAt), now)

		res, err := tx.ExecContext(ctx, tx.Rebind(`
			UPDATE users SET credits = ?, next_reset_at = ?
			WHERE id = ? AND next_reset_at = ?`),
			int64(plan.MonthlyCredits), next.UnixMilli(), u.ID, u.NextResetAt)
		if err != nil {
			return fmt.Errorf("reset balance: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("reset balance: %w", err)
		}
		if n != 1 {
			return nil
		}

		done = true
		return s.write(ctx, tx, entry{
			userID: u.ID, kind: KindMonthlyReset, amount: plan.MonthlyCredits - Milli(cur.Credits),
			balance: plan.MonthlyCredits, reason: "monthly allowance of plan " + plan.Slug,
		})
	})
	if err != nil {
		return false, err
	}
	return done, nil
}

// anchorOf returns the moment a user's monthly resets count from: when their plan started,
// or, for a user whose plan was set before that was recorded, their pending reset time.
func anchorOf(planStartedAt, nextResetAt int64) time.Time {
	if planStartedAt > 0 {
		return time.UnixMilli(planStartedAt).UTC()
	}
	return time.UnixMilli(nextResetAt).UTC()
}

// addMonths returns the anniversary n months after anchor: the same day of the month and
// time of day in UTC, or the last day of a month too short for that day. Because it always
// counts from the anchor, a plan started on January 31 resets on February 28 (or 29), then on
// March 31.
func addMonths(anchor time.Time, n int) time.Time {
	anchor = anchor.UTC()
	y, m, d := anchor.Date()
	h, mi, sec := anchor.Clock()

	// Day 0 of the month after the target month is the target month's last day.
	last := time.Date(y, m+time.Month(n)+1, 0, 0, 0, 0, 0, time.UTC).Day()
	return time.Date(y, m+time.Month(n), min(d, last), h, mi, sec, anchor.Nanosecond(),
		time.UTC)
}

// nextReset returns the first anniversary of anchor strictly after now, at least one month
// after the anchor.
func nextReset(anchor, now time.Time) time.Time {
	anchor, now = anchor.UTC(), now.UTC()

	// Start in now's month: the anniversary there is at most a month away from now.
	n := (now.Year()-anchor.Year())*12 + int(now.Month()) - int(anchor.Month())
	n = max(n, 1)
	next := addMonths(anchor, n)
	for !next.After(now) {
		n++
		next = addMonths(anchor, n)
	}
	return next
}
