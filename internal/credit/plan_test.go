package credit

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
)

func TestPlans(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		svc := New(db, newClock(t0).Now)

		// An inactive plan goes after every active one, whatever its sort order.
		_, err := db.ExecContext(ctx, `UPDATE plans SET active = FALSE WHERE slug = 'free'`)
		if err != nil {
			t.Fatal(err)
		}
		plans, err := svc.Plans(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var slugs []string
		for _, p := range plans {
			slugs = append(slugs, p.Slug)
		}
		if want := []string{"premium", "professional", "free"}; !slices.Equal(slugs, want) {
			t.Fatalf("Plans order = %v, want %v", slugs, want)
		}
		if plans[2].Active || !plans[0].Active {
			t.Errorf("active flags: %+v", plans)
		}

		pro, err := svc.PlanBySlug(ctx, "professional")
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"All models", "API access", "Style training"}
		if pro.MonthlyCredits != 1000*One || pro.PriceCents != 9900 ||
			!slices.Equal(pro.Features, want) {
			t.Errorf("professional = %+v", pro)
		}
		byID, err := svc.PlanByID(ctx, pro.ID)
		if err != nil || byID.Slug != "professional" {
			t.Errorf("PlanByID(%d) = %+v, %v", pro.ID, byID, err)
		}

		if _, err := svc.PlanBySlug(ctx, "gold"); !errors.Is(err, ErrUnknownPlan) {
			t.Errorf("PlanBySlug(gold) error = %v, want ErrUnknownPlan", err)
		}
		if _, err := svc.PlanByID(ctx, 999); !errors.Is(err, ErrUnknownPlan) {
			t.Errorf("PlanByID(999) error = %v, want ErrUnknownPlan", err)
		}
	})
}

func TestAssignPlan(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		clk := newClock(t0)
		svc := New(db, clk.Now)
		id := newUser(t, db, svc, "a@example.com", "free")

		var u struct {
			PlanID        int64 `db:"plan_id"`
			Credits       int64 `db:"credits"`
			NextResetAt   int64 `db:"next_reset_at"`
			PlanStartedAt int64 `db:"plan_started_at"`
		}
		read := func() {
			t.Helper()
			err := db.GetContext(ctx, &u, db.Rebind(`SELECT plan_id, credits, next_reset_at,
				plan_started_at FROM users WHERE id = ?`), id)
			if err != nil {
				t.Fatal(err)
			}
		}
		read()
		free, _ := svc.PlanBySlug(ctx, "free")
		feb28 := time.Date(2026, time.February, 28, 9, 30, 0, 0, time.UTC)
		if u.PlanID != free.ID || u.Credits != 3000 || u.NextResetAt != feb28.UnixMilli() ||
			u.PlanStartedAt != t0.UnixMilli() {
			t.Fatalf("after registration: %+v", u)
		}

		// A later upgrade sets the balance, restarts the anniversary, and is an adjustment.
		if _, err := startJob(ctx, db, svc, id, "j1", 2000); err != nil {
			t.Fatal(err)
		}
		later := time.Date(2026, time.March, 10, 12, 0, 0, 0, time.UTC)
		clk.Set(later)
		if err := svc.SetPlan(ctx, id, "premium", 7, "upgrade"); err != nil {
			t.Fatal(err)
		}
		read()
		if u.Credits != 100_000 || u.NextResetAt != later.AddDate(0, 1, 0).UnixMilli() {
			t.Fatalf("after upgrade: %+v", u)
		}
		h, _ := svc.History(ctx, id, 1)
		if h[0].Kind != KindAdjustment || h[0].Amount != 99_000 || h[0].ActorID != 7 ||
			h[0].Reason != "upgrade" {
			t.Errorf("upgrade row = %+v", h[0])
		}
		checkLedger(t, db, id)

		if err := svc.SetPlan(ctx, id, "gold", 7, ""); !errors.Is(err, ErrUnknownPlan) {
			t.Errorf("SetPlan(gold) = %v, want ErrUnknownPlan", err)
		}
		if err := svc.SetPlan(ctx, 4242, "free", 7, ""); !errors.Is(err, database.ErrNotFound) {
			t.Errorf("SetPlan(missing user) = %v, want ErrNotFound", err)
		}
	})
}
