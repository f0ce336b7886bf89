package credit

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
)

func TestAdjustAndSet(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		svc := New(db, newClock(t0).Now)
		id := newUser(t, db, svc, "a@example.com", "free") // 3 credits
		const admin = 1000

		bal, err := svc.Adjust(ctx, id, 2500, admin, "  contest prize ")
		if err != nil || bal != 5500 {
			t.Fatalf("Adjust(+2.5) = %s, %v; want 5.5", bal, err)
		}
		bal, err = svc.Adjust(ctx, id, -5500, admin, "chargeback")
		if err != nil || bal != 0 {
			t.Fatalf("Adjust(-5.5) = %s, %v; want 0", bal, err)
		}
		if err := svc.Set(ctx, id, 12*One, admin, "support ticket 12"); err != nil {
			t.Fatal(err)
		}
		if err := svc.Set(ctx, id, 12*One, admin, "no change"); err != nil {
			t.Fatalf("Set to the same balance: %v", err)
		}

		refusals := []struct {
			name string
			err  error
			msg  string
		}{
			{"below zero", second(svc.Adjust(ctx, id, -13*One, admin, "oops")), "below zero"},
			{"no reason", second(svc.Adjust(ctx, id, One, admin, " ")), "reason"},
			{"zero", second(svc.Adjust(ctx, id, 0, admin, "nothing")), "other than 0"},
			{"own credits", second(svc.Adjust(ctx, id, One, id, "me")), "your own"},
			{"too large", second(svc.Adjust(ctx, id, MaxBalance, admin, "rich")), "above"},
			{"set negative", svc.Set(ctx, id, -1, admin, "x"), "between 0"},
			{"set no reason", svc.Set(ctx, id, One, admin, ""), "reason"},
			{"set own raise", svc.Set(ctx, id, 20*One, id, "me"), "your own"},
		}
		for _, r := range refusals {
			var e *Error
			if !errors.As(r.err, &e) || !strings.Contains(e.Message, r.msg) {
				t.Errorf("%s: %v; want an *Error mentioning %q", r.name, r.err, r.msg)
			}
		}

		// Lowering one's own balance is allowed; only raising it is not.
		if _, err := svc.Adjust(ctx, id, -One, id, "give back"); err != nil {
			t.Errorf("own decrease: %v", err)
		}
		if bal, _ := svc.Balance(ctx, id); bal != 11*One {
			t.Errorf("balance = %s, want 11", bal)
		}
		if _, err := svc.Adjust(ctx, 4242, One, admin, "x"); !errors.Is(err, database.ErrNotFound) {
			t.Errorf("Adjust(missing user) = %v, want ErrNotFound", err)
		}

		h, _ := svc.History(ctx, id, 1)
		if h[0].Kind != KindAdjustment || h[0].ActorID != id || h[0].Reason != "give back" {
			t.Errorf("last row = %+v", h[0])
		}
		checkLedger(t, db, id)
	})
}

func second(_ Milli, err error) error { return err }
