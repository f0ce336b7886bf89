package credit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
)

// TestReserveParallel races 50 jobs, each in its own transaction, for a balance that pays
// for 3 of them.
func TestReserveParallel(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		svc := New(db, newClock(t0).Now)
		id := newUser(t, db, svc, "a@example.com", "free") // 3 credits

		const n = 50
		var (
			wg     sync.WaitGroup
			mu     sync.Mutex
			ok     int
			short  int
			others []error
		)
		for i := range n {
			wg.Go(func() {
				_, err := startJob(ctx, db, svc, id, fmt.Sprintf("job-%02d", i), One)
				var ie *InsufficientError
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case errors.As(err, &ie):
					short++
				default:
					others = append(others, err)
				}
			})
		}
		wg.Wait()

		for _, err := range others {
			t.Errorf("unexpected error (not a shortfall): %v", err)
		}
		if ok != 3 || short != n-3 {
			t.Fatalf("%d reservations succeeded and %d were short; want 3 and %d", ok, short, n-3)
		}
		if bal, _ := svc.Balance(ctx, id); bal != 0 {
			t.Errorf("balance = %s, want 0", bal)
		}

		// Refused reservations rolled back their job rows with them.
		var jobs int
		if err := db.GetContext(ctx, &jobs, `SELECT COUNT(*) FROM jobs`); err != nil {
			t.Fatal(err)
		}
		if jobs != 3 {
			t.Errorf("%d job rows stored, want 3", jobs)
		}
		checkLedger(t, db, id)
	})
}

func TestReserveRefusals(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		svc := New(db, newClock(t0).Now)
		id := newUser(t, db, svc, "a@example.com", "free")

		left, err := startJob(ctx, db, svc, id, "j1", 2500)
		if err != nil || left != 500 {
			t.Fatalf("first reservation: %s, %v; want 0.5 left", left, err)
		}

		_, err = startJob(ctx, db, svc, id, "j2", One)
		var ie *InsufficientError
		if !errors.As(err, &ie) || ie.Needed != One || ie.Remaining != 500 {
			t.Fatalf("short reservation: %v, want InsufficientError{1, 0.5}", err)
		}
		if msg := ie.Error(); !strings.Contains(msg, "needs 1") || !strings.Contains(msg, "0.5") {
			t.Errorf("message %q does not say what is needed and left", msg)
		}

		if _, err := startJob(ctx, db, svc, 999, "j3", One); !errors.Is(err, database.ErrNotFound) {
			t.Errorf("reservation for a missing user: %v, want ErrNotFound", err)
		}
		if _, err := startJob(ctx, db, svc, id, "j4", 0); err == nil {
			t.Error("a zero reservation was accepted")
		}
		checkLedger(t, db, id)
	})
}

func TestSettleAndRefundOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		svc := New(db, newClock(t0).Now)
		id := newUser(t, db, svc, "a@example.com", "free") // 3 credits

		for _, j := range []string{"settled", "partial", "refunded"} {
			if _, err := startJob(ctx, db, svc, id, j, One); err != nil {
				t.Fatal(err)
			}
		}

		// Each close runs twice, the second time as a no-op; a refund after a settlement,
		// or the other way round, is also a no-op.
		steps := []struct {
			name string
			run  func() error
			want Milli
		}{
			{"settle all used", func() error { return svc.Settle(ctx, id, "settled", One, One) }, 0},
			{"settle all again", func() error { return svc.Settle(ctx, id, "settled", One, One) }, 0},
			{"refund settled", func() error { return svc.Refund(ctx, id, "settled", One, "") }, 0},
			{"settle part", func() error { return svc.Settle(ctx, id, "partial", One, 250) }, 750},
			{"settle part again", func() error { return svc.Settle(ctx, id, "partial", One, 250) }, 750},
			{"refund", func() error { return svc.Refund(ctx, id, "refunded", One, "failed") }, 1750},
			{"refund again", func() error { return svc.Refund(ctx, id, "refunded", One, "failed") }, 1750},
			{"settle refunded", func() error { return svc.Settle(ctx, id, "refunded", One, 0) }, 1750},
		}
		for _, s := range steps {
			if err := s.run(); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			if bal, _ := svc.Balance(ctx, id); bal != s.want {
				t.Fatalf("after %s: balance %s, want %s", s.name, bal, s.want)
			}
		}

		var closes int
		err := db.GetContext(ctx, &closes, `SELECT COUNT(*) FROM credit_ledger
			WHERE kind IN ('settle', 'refund')`)
		if err != nil {
			t.Fatal(err)
		}
		// settled: settle; partial: settle + refund; refunded: refund.
		if closes != 4 {
			t.Errorf("%d settle/refund rows, want 4", closes)
		}
		h, _ := svc.History(ctx, id, 10)
		if h[1].Kind != KindRefund || h[1].Amount != 750 || h[2].Reason != "used 0.25 of 1 credits" {
			t.Errorf("partial settlement rows: %+v, %+v", h[1], h[2])
		}
		checkLedger(t, db, id)
	})
}

func TestSettleRefusesWrongFigures(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		svc := New(db, newClock(t0).Now)
		id := newUser(t, db, svc, "a@example.com", "free")
		other := newUser(t, db, svc, "b@example.com", "free")
		if _, err := startJob(ctx, db, svc, id, "j1", One); err != nil {
			t.Fatal(err)
		}

		tests := []struct {
			name string
			err  error
		}{
			{"used more than reserved", svc.Settle(ctx, id, "j1", One, 2*One)},
			{"reserved differs from ledger", svc.Settle(ctx, id, "j1", 2*One, One)},
			{"settle unknown job", svc.Settle(ctx, id, "nope", One, 0)},
			{"refund more than reserved", svc.Refund(ctx, id, "j1", 2*One, "")},
			{"refund unknown job", svc.Refund(ctx, id, "nope", One, "")},
			{"refund another user's job", svc.Refund(ctx, other, "j1", One, "")},
			{"negative used", svc.Settle(ctx, id, "j1", One, -1)},
		}
		for _, tt := range tests {
			if tt.err == nil {
				t.Errorf("%s: accepted", tt.name)
			}
		}
		if bal, _ := svc.Balance(ctx, id); bal != 2*One {
			t.Errorf("balance = %s after refused closes, want 2", bal)
		}
		if bal, _ := svc.Balance(ctx, other); bal != 3*One {
			t.Errorf("other user's balance = %s, want 3", bal)
		}

		// A second reservation for the same job is refused by the ledger's index.
		err := db.Tx(ctx, func(tx *sqlx.Tx) error {
			_, err := svc.Reserve(ctx, tx, id, One, "j1")
			return err
		})
		if !database.IsUnique(err) {
			t.Errorf("second reservation of j1: %v, want a unique violation", err)
		}
		checkLedger(t, db, id)
	})
}

// TestSettleParallel closes the same job from many goroutines: the refund is paid once.
func TestSettleParallel(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		svc := New(db, newClock(t0).Now)
		id := newUser(t, db, svc, "a@example.com", "free")
		if _, err := startJob(ctx, db, svc, id, "j1", 2*One); err != nil {
			t.Fatal(err)
		}

		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for i := range 20 {
			wg.Go(func() {
				if i%2 == 0 {
					errs <- svc.Settle(ctx, id, "j1", 2*One, One)
				} else {
					errs <- svc.Refund(ctx, id, "j1", 2*One, "canceled")
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("close: %v", err)
			}
		}

		// Either the settlement (1 back) or the refund (2 back) won; nothing else ran.
		bal, _ := svc.Balance(ctx, id)
		if bal != 2*One && bal != 3*One {
			t.Errorf("balance = %s, want 2 or 3", bal)
		}
		checkLedger(t, db, id)
	})
}
