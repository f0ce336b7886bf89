package credit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
)

// clock is a time source tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

var t0 = time.Date(2026, time.January, 31, 9, 30, 0, 0, time.UTC)

// newUser stores a user and, when plan is not empty, assigns it in the same transaction,
// the way registration does.
func newUser(t *testing.T, db *database.DB, svc *Service, email, plan string) int64 {
	t.Helper()
	ctx := context.Background()
	var id int64
	err := db.Tx(ctx, func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &id, tx.Rebind(`INSERT INTO users (email, created_at, updated_at)
			VALUES (?, 0, 0) RETURNING id`), email)
		if err != nil || plan == "" {
			return err
		}
		return svc.AssignPlan(ctx, tx, id, plan, 0, "new account")
	})
	if err != nil {
		t.Fatalf("create user %s: %v", email, err)
	}
	return id
}

// checkLedger asserts the ledger's invariants for a user whose first row is a grant: the
// amounts add up to the balance, and each row's balance_after is the running sum.
func checkLedger(t *testing.T, db *database.DB, userID int64) {
	t.Helper()
	ctx := context.Background()
	var rows []entryRow
	err := db.SelectContext(ctx, &rows, db.Rebind(`SELECT id, kind, amount, balance_after,
		job_id, actor_id, reason, created_at FROM credit_ledger WHERE user_id = ? ORDER BY id`),
		userID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 || rows[0].Kind != KindGrant {
		t.Fatalf("user %d: first ledger row is %+v, want a grant", userID, rows)
	}

	var sum int64
	for _, r := range rows {
		sum += r.Amount
		if r.BalanceAfter != sum {
			t.Errorf("row %d (%s %d): balance_after %d, running sum %d",
				r.ID, r.Kind, r.Amount, r.BalanceAfter, sum)
		}
	}
	var balance int64
	if err := db.GetContext(ctx, &balance,
		db.Rebind(`SELECT credits FROM users WHERE id = ?`), userID); err != nil {
		t.Fatal(err)
	}
	if sum != balance {
		t.Errorf("user %d: ledger sums to %d, balance is %d", userID, sum, balance)
	}
}

// startJob stores a job row and reserves its cost in one transaction, as the jobs service
// does.
func startJob(ctx context.Context, db *database.DB, svc *Service, userID int64, jobID string,
	cost Milli) (Milli, error) {
	var left Milli
	err := db.Tx(ctx, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO jobs
			(id, user_id, kind, provider, model, input, status, cost_reserved, created_at)
			VALUES (?, ?, 'image', 'builtin', 'offline', '{}', 'queued', ?, 0)`),
			jobID, userID, int64(cost))
		if err != nil {
			return fmt.Errorf("insert job: %w", err)
		}
		left, err = svc.Reserve(ctx, tx, userID, cost, jobID)
		return err
	})
	return left, err
}

func TestBalanceAndHistory(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		svc := New(db, newClock(t0).Now)
		id := newUser(t, db, svc, "a@example.com", "free")

		if _, err := startJob(ctx, db, svc, id, "job-1", 1500); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Adjust(ctx, id, 250, 99, "goodwill"); err != nil {
			t.Fatal(err)
		}

		bal, err := svc.Balance(ctx, id)
		if err != nil || bal != 1750 {
			t.Fatalf("Balance = %s, %v; want 1.75", bal, err)
		}
		h, err := svc.History(ctx, id, 0)
		if err != nil {
			t.Fatal(err)
		}
		kinds := []string{KindAdjustment, KindReserve, KindGrant}
		if len(h) != len(kinds) {
			t.Fatalf("History has %d rows, want %d: %+v", len(h), len(kinds), h)
		}
		for i, k := range kinds {
			if h[i].Kind != k {
				t.Errorf("History[%d].Kind = %q, want %q", i, h[i].Kind, k)
			}
		}
		if h[0].ActorID != 99 || h[0].Reason != "goodwill" || !h[0].At.Equal(t0) {
			t.Errorf("adjustment row = %+v", h[0])
		}
		if h[1].JobID != "job-1" || h[1].Amount != -1500 || h[1].BalanceAfter != 1500 {
			t.Errorf("reserve row = %+v", h[1])
		}
		if one, _ := svc.History(ctx, id, 1); len(one) != 1 || one[0].ID != h[0].ID {
			t.Errorf("History(limit 1) = %+v", one)
		}

		if _, err := svc.Balance(ctx, 12345); !errors.Is(err, database.ErrNotFound) {
			t.Errorf("Balance of a missing user: %v, want ErrNotFound", err)
		}
		checkLedger(t, db, id)
	})
}
