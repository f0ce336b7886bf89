package credit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/sketchmaker/sketchmaker/internal/database"
)

// errClosed ends a settlement or refund transaction for a job that was already closed.
var errClosed = errors.New("job already closed")

// Reserve takes amount from the user's balance for the job jobID, inside the caller's
// transaction tx (the one that stores the job row), with a single conditional update that
// cannot take the balance below zero. It returns the balance left. When the balance is
// short it returns an *InsufficientError, and a missing user gives database.ErrNotFound.
// A job can be reserved for once; a second reservation fails as a unique violation.
func (s *Service) Reserve(
	ctx context.Context,
	tx *sqlx.Tx,
	userID int64,
	amount Milli,
	jobID string,
) (remaining Milli, err error) {
	if amount <= 0 || jobID == "" {
		return 0, fmt.Errorf("reserve %s credits for job %q: need a positive amount and a job",
			amount, jobID)
	}

	var credits int64
	err = tx.GetContext(ctx, &credits, tx.Rebind(`
		UPDATE users SET credits = credits - ? WHERE id = ? AND credits >= ?
		RETURNING credits`), int64(amount), userID, int64(amount))
	if errors.Is(err, sql.ErrNoRows) {
		return 0, s.shortfall(ctx, tx, userID, amount)
	}
	if err != nil {
		return 0, fmt.Errorf("reserve credits: %w", err)
	}

	err = s.write(ctx, tx, entry{
		userID: userID, kind: KindReserve, amount: -amount, balance: Milli(credits),
		jobID: jobID, reason: "job started",
	})
	if err != nil {
		return 0, err
	}
	return Milli(credits), nil
}

// shortfall explains why a reservation matched no row: the user is gone, or poorer than
// the amount.
func (s *Service) shortfall(ctx context.Context, tx *sqlx.Tx, userID int64, amount Milli) error {
	var credits int64
	err := tx.GetContext(ctx, &credits,
		tx.Rebind(`SELECT credits FROM users WHERE id = ?`), userID)
	if err != nil {
		return fmt.Errorf("reserve credits: %w", database.NotFound(err))
	}
	return &InsufficientError{Needed: amount, Remaining: Milli(credits)}
}

// Settle closes the job jobID that reserved credits and used used of them: it writes a
// "settle" row of amount 0 whose reason names both figures, and gives the rest back with a
// "refund" row. reserved must be what the ledger holds for the job. A job closes once: when
// it was already settled or refunded, Settle does nothing and returns nil.
func (s *Service) Settle(
	ctx context.Context,
	userID int64,
	jobID string,
	reserved, used Milli,
) error {
	if used < 0 || used > reserved {
		return fmt.Errorf("settle job %q: used %s of %s credits is impossible",
			jobID, used, reserved)
	}

	err := s.db.Tx(ctx, func(tx *sqlx.Tx) error {
		balance, err := s.openJob(ctx, tx, userID, jobID, reserved)
		if err != nil {
			return err
		}

		err = s.write(ctx, tx, entry{
			userID: userID, kind: KindSettle, balance: balance, jobID: jobID,
			reason: fmt.Sprintf("used %s of %s credits", used, reserved),
		})
		if err != nil || used == reserved {
			return err
		}
		return s.refund(ctx, tx, userID, jobID, reserved-used, "unused part of the job")
	})
	return closed(err, "settle job")
}

// Refund gives amount back to the user for the job jobID and closes it; amount can be at
// most what the job reserved. A job closes once: when it was already settled or refunded,
// Refund does nothing and returns nil.
func (s *Service) Refund(
	ctx context.Context,
	userID int64,
	jobID string,
	amount Milli,
	reason string,
) error {
	if amount <= 0 {
		return fmt.Errorf("refund job %q: amount %s is not positive", jobID, amount)
	}
	if strings.TrimSpace(reason) == "" {
		reason = "job did not complete"
	}

	err := s.db.Tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := s.openJob(ctx, tx, userID, jobID, -1); err != nil {
			return err
		}
		reserved, err := s.reservedFor(ctx, tx, userID, jobID)
		if err != nil {
			return err
		}
		if amount > reserved {
			return fmt.Errorf("refund %s credits for job %q: it reserved only %s",
				amount, jobID, reserved)
		}
		return s.refund(ctx, tx, userID, jobID, amount, reason)
	})
	return closed(err, "refund job")
}

// openJob locks the user's balance and returns it, or errClosed when the job already has a
// settle or refund row. A reserved of 0 or more must match the job's reservation.
func (s *Service) openJob(
	ctx context.Context,
	tx *sqlx.Tx,
	userID int64,
	jobID string,
	reserved Milli,
) (Milli, error) {
	if jobID == "" {
		return 0, errors.New("no job named")
	}
	balance, err := s.lockBalance(ctx, tx, userID)
	if err != nil {
		return 0, err
	}

	var n int
	err = tx.GetContext(ctx, &n, tx.Rebind(`SELECT COUNT(*) FROM credit_ledger
		WHERE job_id = ? AND kind IN ('settle', 'refund')`), jobID)
	if err != nil {
		return 0, fmt.Errorf("read job ledger: %w", err)
	}
	if n > 0 {
		return 0, errClosed
	}

	if reserved < 0 {
		return balance, nil
	}
	held, err := s.reservedFor(ctx, tx, userID, jobID)
	if err != nil {
		return 0, err
	}
	if held != reserved {
		return 0, fmt.Errorf("job %q reserved %s credits, not %s", jobID, held, reserved)
	}
	return balance, nil
}

// reservedFor returns what the job reserved from the user, per the ledger.
func (s *Service) reservedFor(
	ctx context.Context,
	tx *sqlx.Tx,
	userID int64,
	jobID string,
) (Milli, error) {
	var held int64
	err := tx.GetContext(ctx, &held, tx.Rebind(`SELECT CAST(COALESCE(SUM(-amount), 0) AS BIGINT)
		FROM credit_ledger WHERE user_id = ? AND job_id = ? AND kind = 'reserve'`),
		userID, jobID)
	if err != nil {
		return 0, fmt.Errorf("read reservation: %w", err)
	}
	return Milli(held), nil
}

// refund adds amount back to the balance and writes the refund row.
func (s *Service) refund(
	ctx context.Context,
	tx *sqlx.Tx,
	userID int64,
	jobID string,
	amount Milli,
	reason string,
) error {
	balance, err := s.add(ctx, tx, userID, amount)
	if err != nil {
		return err
	}
	return s.write(ctx, tx, entry{
		userID: userID, kind: KindRefund, amount: amount, balance: balance, jobID: jobID,
		reason: reason,
	})
}

// closed turns the end of an already closed job into success, as does a unique violation
// on the ledger's one-close-per-job index (another instance closed it at the same moment).
func closed(err error, what string) error {
	if err == nil || errors.Is(err, errClosed) || database.IsUnique(err) {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}
