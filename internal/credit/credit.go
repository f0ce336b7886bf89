// Package credit keeps SketchMaker's credits the way a bank keeps money.
//
// Balances and costs are integers of milli-credits (Milli). Every change of a balance is
// written, in the same transaction, as a row of an append-only ledger that says what kind of
// change it was, by how much, the balance after it, the job or person behind it, and why. For
// a user whose first row is the grant of a plan, the amounts of all rows add up to the
// current balance.
//
// A job reserves its cost with one conditional update that cannot take a balance below zero,
// inside the transaction that stores the job; when it ends, Settle keeps what was delivered
// and returns the rest, or Refund returns what it names. Both happen at most once per job.
// Plans grant a monthly allowance, reset on each subscriber's own anniversary by ResetDue,
// exactly once even when several instances call it.
package credit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/sketchmaker/sketchmaker/internal/database"
)

// Kinds of ledger rows.
const (
	// KindGrant is a plan's allowance given to a user who had no plan.
	KindGrant = "grant"

	// KindReserve takes a job's cost before it runs; its amount is negative.
	KindReserve = "reserve"

	// KindSettle closes a job that delivered; its amount is always 0, since the reservation
	// already paid, and its reason says how much of the reservation was used.
	KindSettle = "settle"

	// KindRefund gives back the unused part of a reservation.
	KindRefund = "refund"

	// KindAdjustment is a change by an administrator, or by a change of plan.
	KindAdjustment = "adjustment"

	// KindMonthlyReset sets a balance to the plan's allowance on the user's anniversary.
	KindMonthlyReset = "monthly_reset"
)

// maxReason is the longest reason kept in a ledger row, in bytes.
const maxReason = 500

// Refusals of administrative changes.
var (
	// ErrReasonRequired refuses an administrative change that does not say why.
	ErrReasonRequired = &Error{Message: "Give a reason for the change; it is kept in the " +
		"credit history."}

	// ErrOwnCredits refuses an administrator raising their own balance.
	ErrOwnCredits = &Error{Message: "You cannot raise your own credits; ask another " +
		"administrator."}
)

// InsufficientError refuses a reservation larger than the balance. Its message can be shown
// to the user, for example with HTTP status 402.
type InsufficientError struct {
	Needed    Milli
	Remaining Milli
}

// Error says what the job needs and what is left.
func (e *InsufficientError) Error() string {
	return fmt.Sprintf("Not enough credits: this needs %s and you have %s.",
		e.Needed, e.Remaining)
}

// Service keeps plans, balances, the ledger and the prices of features.
type Service struct {
	db  *database.DB
	now func() time.Time
}

// New returns a Service on db that reads the time from now (time.Now when nil).
func New(db *database.DB, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: db, now: now}
}

// Entry is one row of a user's credit ledger.
type Entry struct {
	ID           int64
	Kind         string
	Amount       Milli
	BalanceAfter Milli
	JobID        string
	ActorID      int64
	Reason       string
	At           time.Time
}

// entryRow is how a ledger row is scanned.
type entryRow struct {
	ID           int64  `db:"id"`
	Kind         string `db:"kind"`
	Amount       int64  `db:"amount"`
	BalanceAfter int64  `db:"balance_after"`
	JobID        string `db:"job_id"`
	ActorID      int64  `db:"actor_id"`
	Reason       string `db:"reason"`
	CreatedAt    int64  `db:"created_at"`
}

// Balance returns the user's current balance, or database.ErrNotFound.
func (s *Service) Balance(ctx context.Context, userID int64) (Milli, error) {
	var credits int64
	err := s.db.GetContext(ctx, &credits,
		s.db.Rebind(`SELECT credits FROM users WHERE id = ?`), userID)
	if err != nil {
		return 0, fmt.Errorf("read balance: %w", database.NotFound(err))
	}
	return Milli(credits), nil
}

// History returns the user's latest ledger rows, newest first: limit rows, 50 when limit
// is not positive, and at most 1000.
func (s *Service) History(ctx context.Context, userID int64, limit int) ([]Entry, error) {
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 1000)

	var rows []entryRow
	err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`
		SELECT id, kind, amount, balance_after, job_id, actor_id, reason, created_at
		FROM credit_ledger WHERE user_id = ? ORDER BY id DESC LIMIT ?`), userID, limit)
	if err != nil {
		return nil, fmt.Errorf("read credit history: %w", err)
	}

	out := make([]Entry, len(rows))
	for i, r := range rows {
		out[i] = Entry{
			ID: r.ID, Kind: r.Kind, Amount: Milli(r.Amount), BalanceAfter: Milli(r.BalanceAfter),
			JobID: r.JobID, ActorID: r.ActorID, Reason: r.Reason,
			At: time.UnixMilli(r.CreatedAt).UTC(),
		}
	}
	return out, nil
}

// entry is a ledger row about to be written.
type entry struct {
	userID  int64
	kind    string
	amount  Milli
	balance Milli
	jobID   string
	actorID int64
	reason  string
}

// write appends e to the ledger inside tx.
func (s *Service) write(ctx context.Context, tx *sqlx.Tx, e entry) error {
	_, err := tx.ExecContext(ctx, tx.Rebind(`
		INSERT INTO credit_ledger
			(user_id, kind, amount, balance_after, job_id, actor_id, reason, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		e.userID, e.kind, int64(e.amount), int64(e.balance), e.jobID, e.actorID,
		clip(e.reason, maxReason), s.now().UnixMilli())
	if err != nil {
		return fmt.Errorf("write ledger row: %w", err)
	}
	return nil
}

// lockBalance reads the user's balance inside tx and, on PostgreSQL, locks the user's row
// until tx ends, so that checks made next cannot race another instance. SQLite's immediate
// transactions already hold the only write lock.
func (s *Service) lockBalance(ctx context.Context, tx *sqlx.Tx, userID int64) (Milli, error) {
	var credits int64
	q := `SELECT credits FROM users WHERE id = ?` + s.forUpdate()
	if err := tx.GetContext(ctx, &credits, tx.Rebind(q), userID); err != nil {
		return 0, fmt.Errorf("lock balance: %w", database.NotFound(err))
	}
	return Milli(credits), nil
}

// add changes the user's balance by delta inside tx, refusing to leave it below zero or
// above MaxBalance, and returns the new balance.
func (s *Service) add(ctx context.Context, tx *sqlx.Tx, userID int64, delta Milli) (Milli, error) {
	var credits int64
	err := tx.GetContext(ctx, &credits, tx.Rebind(`
		UPDATE users SET credits = credits + ?
		WHERE id = ? AND credits + ? >= 0 AND credits + ? <= ?
		RETURNING credits`),
		int64(delta), userID, int64(delta), int64(delta), int64(MaxBalance))
	if err == nil {
		return Milli(credits), nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("change balance: %w", err)
	}

	// The update matched nothing: the user is gone or the limit was hit.
	old, err := s.lockBalance(ctx, tx, userID)
	if err != nil {
		return 0, err
	}
	if old+delta < 0 {
		return 0, refuse("This would take the balance below zero: it is %s credits.", old)
	}
	return 0, refuse("This would take the balance above the most allowed, %s credits.",
		MaxBalance)
}

// forUpdate is the clause that locks selected rows until the transaction ends on
// PostgreSQL; SQLite has one writer at a time and needs none.
func (s *Service) forUpdate() string {
	if s.db.Dialect == database.Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// clip makes s valid UTF-8 without NUL bytes, which PostgreSQL refuses in text, and cuts
// it to at most n bytes without splitting a character.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
