package credit

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
)

func utc(y int, m time.Month, d, h, mi int) time.Time {
	return time.Date(y, m, d, h, mi, 0, 0, time.UTC)
}

func TestAddMonths(t *testing.T) {
	tests := []struct {
		name   string
		anchor time.Time
		n      int
		want   time.Time
	}{
		{"Jan 31 to Feb 28", utc(2026, 1, 31, 9, 30), 1, utc(2026, 2, 28, 9, 30)},
		{"Jan 31 keeps its day in March", utc(2026, 1, 31, 9, 30), 2, utc(2026, 3, 31, 9, 30)},
		{"Jan 31 to Apr 30", utc(2026, 1, 31, 9, 30), 3, utc(2026, 4, 30, 9, 30)},
		{"Jan 31 to Feb 29 in a leap year", utc(2028, 1, 31, 0, 0), 1, utc(2028, 2, 29, 0, 0)},
		{"Feb 29 to Mar 29", utc(2028, 2, 29, 23, 59), 1, utc(2028, 3, 29, 23, 59)},
		{"Feb 29 to Feb 28 a year on", utc(2028, 2, 29, 8, 0), 12, utc(2029, 2, 28, 8, 0)},
		{"Feb 29 to Feb 29 four years on", utc(2028, 2, 29, 8, 0), 48, utc(2032, 2, 29, 8, 0)},
		{"Dec 15 to Jan 15", utc(2026, 12, 15, 6, 0), 1, utc(2027, 1, 15, 6, 0)},
		{"Dec 31 to Jan 31", utc(2026, 12, 31, 6, 0), 1, utc(2027, 1, 31, 6, 0)},
		{"Dec 31 to Feb 28", utc(2026, 12, 31, 6, 0), 2, utc(2027, 2, 28, 6, 0)},
		{"Nov 30 to Dec 30", utc(2026, 11, 30, 6, 0), 1, utc(2026, 12, 30, 6, 0)},
		{
			"other zones count in UTC",
			time.Date(2026, 1, 31, 23, 0, 0, 0, time.FixedZone("UTC-5", -5*3600)),
			1, utc(2026, 3, 1, 4, 0),
		},
	}
	for _, tt := range tests {
		if got := addMonths(tt.anchor, tt.n); !got.Equal(tt.want) {
			t.Errorf("%s: addMonths(%s, %d) = %s, want %s", tt.name, tt.anchor, tt.n, got, tt.want)
		}
	}
}

func TestNextReset(t *testing.T) {
	anchor := utc(2026, 1, 31, 9, 30)
	tests := []struct {
		name string
		now  time.Time
		want time.Time
	}{
		{"at the anchor", anchor, utc(2026, 2, 28, 9, 30)},
		{"a minute before", utc(2026, 2, 28, 9, 29), utc(2026, 2, 28, 9, 30)},
		{"exactly at a reset", utc(2026, 2, 28, 9, 30), utc(2026, 3, 31, 9, 30)},
		{"months of downtime", utc(2026, 6, 15, 0, 0), utc(2026, 6, 30, 9, 30)},
		{"late in a month", utc(2026, 7, 31, 10, 0), utc(2026, 8, 31, 9, 30)},
		{"across a year", utc(2026, 12, 31, 9, 30), utc(2027, 1, 31, 9, 30)},
		{"years later", utc(2030, 2, 1, 0, 0), utc(2030, 2, 28, 9, 30)},
	}
	for _, tt := range tests {
		if got := nextReset(anchor, tt.now); !got.Equal(tt.want) {
			t.Errorf("%s: nextReset(now %s) = %s, want %s", tt.name, tt.now, got, tt.want)
		}
	}
}

// TestResetDueOnce runs ResetDue from several goroutines at once, as several instances
// would, on a clock that jumps over months of downtime.
func TestResetDueOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		clk := newClock(utc(2026, 1, 31, 9, 30))
		svc := New(db, clk.Now)
		free := newUser(t, db, svc, "free@example.com", "free")
		pro := newUser(t, db, svc, "pro@example.com", "premium")
		newUser(t, db, svc, "noplan@example.com", "")

		steps := []struct {
			name   string
			now    time.Time
			spend  bool // spend a credit of the free user first
			resets int
			next   time.Time
		}{
			{"before the anniversary", utc(2026, 2, 28, 9, 29), true, 0, utc(2026, 2, 28, 9, 30)},
			{"on the anniversary", utc(2026, 2, 28, 9, 30), false, 2, utc(2026, 3, 31, 9, 30)},
			{"after downtime", utc(2026, 6, 15, 0, 0), true, 2, utc(2026, 6, 30, 9, 30)},
			{"again after downtime", utc(2026, 6, 15, 0, 1), true, 0, utc(2026, 6, 30, 9, 30)},
			{"back on day 31", utc(2026, 7, 31, 9, 30), false, 2, utc(2026, 8, 31, 9, 30)},
		}
		for i, s := range steps {
			clk.Set(s.now)
			if s.spend {
				if _, err := svc.Adjust(ctx, free, -One, 1, "spend"); err != nil {
					t.Fatal(err)
				}
			}

			var total atomic.Int64
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					n, err := svc.ResetDue(ctx)
					if err != nil {
						t.Errorf("%s: ResetDue: %v", s.name, err)
					}
					total.Add(int64(n))
				})
			}
			wg.Wait()
			if total.Load() != int64(s.resets) {
				t.Fatalf("step %d %s: %d resets, want %d", i, s.name, total.Load(), s.resets)
			}

			for _, id := range []int64{free, pro} {
				var next int64
				err := db.GetContext(ctx, &next,
					db.Rebind(`SELECT next_reset_at FROM users WHERE id = ?`), id)
				if err != nil || next != s.next.UnixMilli() {
					t.Fatalf("%s: user %d next reset %s, want %s",
						s.name, id, time.UnixMilli(next).UTC(), s.next)
				}
			}
		}

		// Three resets each; the free user's balance is back to the allowance.
		for _, id := range []int64{free, pro} {
			var n int
			err := db.GetContext(ctx, &n, db.Rebind(`SELECT COUNT(*) FROM credit_ledger
				WHERE user_id = ? AND kind = 'monthly_reset'`), id)
			if err != nil || n != 3 {
				t.Errorf("user %d: %d monthly resets, want 3 (%v)", id, n, err)
			}
			checkLedger(t, db, id)
		}
		if bal, _ := svc.Balance(ctx, free); bal != 3*One {
			t.Errorf("free balance = %s, want 3", bal)
		}
		h, _ := svc.History(ctx, free, 1)
		// One credit was spent since the reset after downtime.
		if h[0].Kind != KindMonthlyReset || h[0].Amount != One {
			t.Errorf("last free row = %+v, want a reset of +1", h[0])
		}
	})
}
