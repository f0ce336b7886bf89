package credit

import (
	"context"
	"errors"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
)

func TestCosts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		svc := New(db, newClock(t0).Now)

		defaults := map[string]Milli{FeatureImage: One, FeaturePrompt: 100, FeatureTraining: 40 * One}
		for f, want := range defaults {
			if got, err := svc.Cost(ctx, f); err != nil || got != want {
				t.Errorf("default Cost(%s) = %s, %v; want %s", f, got, err, want)
			}
		}

		if err := svc.SetCost(ctx, FeatureImage, 2500, 1); err != nil {
			t.Fatal(err)
		}
		if err := svc.SetCost(ctx, FeatureImage, 1500, 2); err != nil {
			t.Fatal(err)
		}
		if got, _ := svc.Cost(ctx, FeatureImage); got != 1500 {
			t.Errorf("Cost after SetCost = %s, want 1.5", got)
		}
		var by int64
		err := db.GetContext(ctx, &by, `SELECT updated_by FROM settings
			WHERE key = 'cost.image_generation'`)
		if err != nil || by != 2 {
			t.Errorf("updated_by = %d, %v; want 2", by, err)
		}
		all, err := svc.Costs(ctx)
		if err != nil || all[FeatureImage] != 1500 || all[FeatureTraining] != 40*One {
			t.Errorf("Costs = %v, %v", all, err)
		}

		var e *Error
		for _, m := range []Milli{0, 99, MaxCost + 1} {
			if err := svc.SetCost(ctx, FeaturePrompt, m, 1); !errors.As(err, &e) {
				t.Errorf("SetCost(%s) = %v, want a refusal", m, err)
			}
		}
		if err := svc.SetCost(ctx, "video", One, 1); !errors.Is(err, ErrUnknownFeature) {
			t.Errorf("SetCost(video) = %v, want ErrUnknownFeature", err)
		}
		if _, err := svc.Cost(ctx, "video"); !errors.Is(err, ErrUnknownFeature) {
			t.Errorf("Cost(video) = %v, want ErrUnknownFeature", err)
		}

		// A value broken by hand is reported, not read as free.
		_, err = db.ExecContext(ctx, `INSERT INTO settings (key, value, updated_at)
			VALUES ('cost.training', 'lots', 0)`)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Cost(ctx, FeatureTraining); err == nil {
			t.Error("Cost read a broken setting without an error")
		}
	})
}
