package credit

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
)

func TestCreateEditAndWithdrawPlans(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		svc := New(db, newClock(t0).Now)

		p, err := svc.CreatePlan(ctx, PlanInput{Slug: "team", Name: " Team ",
			MonthlyCredits: 500 * One, PriceCents: 4900,
			Features: []string{"All models", " ", FeatureAPI}, SortOrder: 4})
		if err != nil {
			t.Fatal(err)
		}
		if p.Name != "Team" || !p.Active || !slices.Equal(p.Features,
			[]string{"All models", FeatureAPI}) || !p.HasFeature("api ACCESS") {
			t.Fatalf("created %+v", p)
		}
		if _, err := svc.CreatePlan(ctx, PlanInput{Slug: "team", Name: "Again"}); err == nil {
			t.Fatal("a second plan with the same short name was created")
		}

		edited, err := svc.UpdatePlan(ctx, p.ID, PlanInput{Slug: "ignored", Name: "Team+",
			MonthlyCredits: 600 * One, Features: []string{"Style training"}})
		if err != nil {
			t.Fatal(err)
		}
		if edited.Slug != "team" || edited.Name != "Team+" || edited.MonthlyCredits != 600*One ||
			edited.HasFeature(FeatureAPI) {
			t.Fatalf("edited %+v", edited)
		}

		if err := svc.SetPlanActive(ctx, p.ID, false); err != nil {
			t.Fatal(err)
		}
		if got, _ := svc.PlanByID(ctx, p.ID); got.Active {
			t.Fatal("the plan is still active")
		}
		if err := svc.SetPlanActive(ctx, 999, false); !errors.Is(err, ErrUnknownPlan) {
			t.Fatalf("withdrawing a missing plan: %v", err)
		}
		subs, err := svc.Subscribers(ctx)
		if err != nil || subs[p.ID] != 0 {
			t.Fatalf("subscribers %v %v", subs, err)
		}
	})
}

func TestPlanInputRefusals(t *testing.T) {
	svc := New(dbtest.SQLite(t), newClock(t0).Now)
	ctx := context.Background()
	long := strings.Repeat("x", 81)
	tests := []struct {
		name string
		in   PlanInput
	}{
		{"no slug", PlanInput{Name: "A"}},
		{"upper-case slug", PlanInput{Slug: "Team", Name: "A"}},
		{"slug with a space", PlanInput{Slug: "my team", Name: "A"}},
		{"no name", PlanInput{Slug: "a"}},
		{"long name", PlanInput{Slug: "a", Name: long}},
		{"control character", PlanInput{Slug: "a", Name: "A\x07"}},
		{"negative credits", PlanInput{Slug: "a", Name: "A", MonthlyCredits: -1}},
		{"negative price", PlanInput{Slug: "a", Name: "A", PriceCents: -1}},
		{"comma in a feature", PlanInput{Slug: "a", Name: "A", Features: []string{"a,b"}}},
		{"long feature", PlanInput{Slug: "a", Name: "A", Features: []string{long}}},
		{"too many features", PlanInput{Slug: "a", Name: "A",
			Features: slices.Repeat([]string{"f"}, MaxPlanFeatures+1)}},
	}
	for _, tt := range tests {
		_, err := svc.CreatePlan(ctx, tt.in)
		var e *Error
		if !errors.As(err, &e) || e.Message == "" {
			t.Errorf("%s: %v, want a refusal with a message", tt.name, err)
		}
	}
}
