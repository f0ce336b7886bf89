package catalog_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/catalog"
	"github.com/sketchmaker/sketchmaker/internal/credit"
	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/generation"
	"github.com/sketchmaker/sketchmaker/internal/provider"
	"github.com/sketchmaker/sketchmaker/internal/setting"
)

const flux = "fal-ai/flux/dev"

// newCatalog returns a catalog whose users 1, 2 and 3 are on the free, premium and no plan.
func newCatalog(t *testing.T, db *database.DB) *catalog.Service {
	t.Helper()
	now := func() time.Time { return time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC) }
	plans := map[int64]string{1: "free", 2: "premium"}
	planOf := func(_ context.Context, uid int64) (string, error) { return plans[uid], nil }
	return catalog.New(db, setting.New(db, now), credit.New(db, now), planOf, now)
}

func TestUnconfiguredModelsAreOpen(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		c := newCatalog(t, db)
		for _, uid := range []int64{1, 2, 3} {
			if err := c.Allowed(ctx, uid, generation.DefaultModel); err != nil {
				t.Fatalf("user %d: %v", uid, err)
			}
		}
		if _, ok, _ := c.Price(ctx, generation.DefaultModel); ok {
			t.Fatal("an unpriced model has a price")
		}
		entries, err := c.Entries(ctx)
		if err != nil || len(entries) != len(generation.Catalog()) || !entries[0].Default {
			t.Fatalf("entries: %d, %v", len(entries), err)
		}
	})
}

func TestPlansAndSwitches(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		c := newCatalog(t, db)

		_, err := c.Save(ctx, catalog.Choice{ModelID: generation.DefaultModel, Enabled: true,
			Cost: 2500, Plans: []string{"premium"}}, 9)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Allowed(ctx, 2, generation.DefaultModel); err != nil {
			t.Fatalf("premium user: %v", err)
		}
		for _, uid := range []int64{1, 3} {
			err := c.Allowed(ctx, uid, generation.DefaultModel)
			if fe := fault.As(err); fe == nil || fe.Field != "model" {
				t.Fatalf("user %d outside the plan: %v", uid, err)
			}
		}
		if p, ok, _ := c.Price(ctx, generation.DefaultModel); !ok || p != 2500 {
			t.Fatalf("price = %v %v", p, ok)
		}

		// The studio offers nothing to the free user now, and the default to premium.
		if offered, pick, _ := c.Offer(ctx, 1); len(offered) != 0 || pick != "" {
			t.Fatalf("free user is offered %v (%q)", offered, pick)
		}
		if offered, pick, _ := c.Offer(ctx, 2); len(offered) != 1 ||
			pick != generation.DefaultModel {
			t.Fatalf("premium user is offered %v (%q)", offered, pick)
		}
	})
}

func TestSaveRefusals(t *testing.T) {
	ctx := context.Background()
	c := newCatalog(t, dbtest.SQLite(t))
	tests := []struct {
		name string
		in   catalog.Choice
	}{
		{"unknown model", catalog.Choice{ModelID: "nope", Enabled: true}},
		{"price too low", catalog.Choice{ModelID: flux, Enabled: true, Cost: 50}},
		{"price too high", catalog.Choice{ModelID: flux, Enabled: true, Cost: 1_000_001}},
		{"unknown plan", catalog.Choice{ModelID: flux, Enabled: true, Plans: []string{"gold"}}},
		{"default switched off", catalog.Choice{ModelID: generation.DefaultModel}},
	}
	for _, tt := range tests {
		if _, err := c.Save(ctx, tt.in, 1); fault.As(err) == nil {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	if old, err := c.Save(ctx, catalog.Choice{ModelID: flux, Cost: 0}, 1); err != nil ||
		!old.Enabled {
		t.Fatalf("switching FLUX off: old %+v, %v", old, err)
	}
	if err := c.Allowed(ctx, 2, flux); fault.As(err) == nil {
		t.Fatalf("a switched-off model was allowed: %v", err)
	}
}

func TestDefault(t *testing.T) {
	ctx := context.Background()
	c := newCatalog(t, dbtest.SQLite(t))
	if _, err := c.SetDefault(ctx, flux, 1); fault.As(err) == nil {
		t.Fatalf("a model whose provider is not configured became the default: %v", err)
	}
	if _, err := c.SetDefault(ctx, "nope", 1); !errors.Is(err, catalog.ErrUnknownModel) {
		t.Fatalf("unknown model: %v", err)
	}
	old, err := c.SetDefault(ctx, generation.DefaultModel, 1)
	if err != nil || old != generation.DefaultModel {
		t.Fatalf("set default: %q %v", old, err)
	}
	if got, _ := c.DefaultFor(ctx, 3); got != generation.DefaultModel {
		t.Fatalf("default for a user = %q", got)
	}
}

func TestSetPlanModels(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		c := newCatalog(t, db)

		// The free plan keeps only the built-in engine: every other model, open to every
		// plan until now, stays open to the other plans by name.
		n, err := c.SetPlanModels(ctx, "free", []string{generation.DefaultModel}, 1)
		if err != nil || n != len(generation.Catalog())-1 {
			t.Fatalf("changed %d, %v", n, err)
		}
		got, _ := c.PlanModels(ctx, "free")
		if !slices.Equal(got, []string{generation.DefaultModel}) {
			t.Fatalf("free plan models = %v", got)
		}
		if premium, _ := c.PlanModels(ctx, "premium"); len(premium) != len(generation.Catalog()) {
			t.Fatalf("premium lost models: %v", premium)
		}
		if err := c.Allowed(ctx, 1, flux); fault.As(err) == nil {
			t.Fatalf("free user allowed FLUX: %v", err)
		}

		// Giving it back adds the plan by name.
		both := []string{generation.DefaultModel, flux}
		if _, err := c.SetPlanModels(ctx, "free", both, 1); err != nil {
			t.Fatal(err)
		}
		if err := c.Allowed(ctx, 1, flux); err != nil {
			t.Fatalf("free user after FLUX was given back: %v", err)
		}
		if _, err := c.SetPlanModels(ctx, "gold", nil, 1); fault.As(err) == nil {
			t.Fatalf("unknown plan: %v", err)
		}
	})
}

// TestUnreadProviderSettings makes every provider check fail to read the settings: the
// studio's offer, the default for a request without a model, and a new default model are
// refused as passing, not answered as if the providers were not configured.
func TestUnreadProviderSettings(t *testing.T) {
	ctx := context.Background()
	c := newCatalog(t, dbtest.SQLite(t))
	t.Cleanup(func() { generation.Configure(provider.Catalog(), nil) })
	cases := []struct {
		name   string
		answer error // of every provider check
	}{
		{name: "not configured"},
		{name: "settings read timed out", answer: context.DeadlineExceeded},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			generation.ConfigureChecked(provider.Catalog(), func(context.Context, string) (
				bool, error) {
				return false, tc.answer
			})
			unread := func(err error) bool {
				fe := fault.As(err)
				return fe != nil && fe.Kind == fault.Unavailable &&
					errors.Is(err, generation.ErrUnchecked) && errors.Is(err, tc.answer)
			}

			offered, _, err := c.Offer(ctx, 1)
			if tc.answer != nil && (!unread(err) || offered != nil) {
				t.Fatalf("offer: %v, %v", offered, err)
			}
			if tc.answer == nil && (err != nil || len(offered) != 1) {
				t.Fatalf("offer without providers: %v, %v", offered, err)
			}

			def, err := c.DefaultFor(ctx, 1)
			if tc.answer != nil && (!unread(err) || def != "") {
				t.Fatalf("default for a request: %q, %v", def, err)
			}
			if tc.answer == nil && (err != nil || def != generation.DefaultModel) {
				t.Fatalf("default without providers: %q, %v", def, err)
			}

			_, err = c.SetDefault(ctx, flux, 1)
			fe := fault.As(err)
			if tc.answer != nil && !unread(err) {
				t.Fatalf("new default: %v", err)
			}
			if tc.answer == nil && (fe == nil || fe.Field != "model") {
				t.Fatalf("new default without its provider: %v", err)
			}
		})
	}
}
