package admin

import (
	"context"
	"math"
	"slices"

	"github.com/sketchmaker/sketchmaker/internal/audit"
	"github.com/sketchmaker/sketchmaker/internal/catalog"
	"github.com/sketchmaker/sketchmaker/internal/credit"
	"github.com/sketchmaker/sketchmaker/internal/role"
)

// CreatePlan adds a plan.
func (s *Service) CreatePlan(ctx context.Context, a Actor, in credit.PlanInput) (
	credit.Plan, error) {
	if err := s.require(ctx, a, role.ManageCredits, "create_plan"); err != nil {
		return credit.Plan{}, err
	}
	p, err := s.Credits.CreatePlan(ctx, in)
	if err != nil {
		return credit.Plan{}, plain(err)
	}
	s.record(ctx, a, audit.PlanChanged, a.User.ID, map[string]any{"plan": p.Slug,
		"change": "created", "monthly_credits": p.MonthlyCredits.String(),
		"price_cents": p.PriceCents})
	return p, nil
}

// UpdatePlan edits the plan id.
func (s *Service) UpdatePlan(ctx context.Context, a Actor, id int64, in credit.PlanInput) (
	credit.Plan, error) {
	if err := s.require(ctx, a, role.ManageCredits, "update_plan"); err != nil {
		return credit.Plan{}, err
	}
	old, err := s.Credits.PlanByID(ctx, id)
	if err != nil {
		return credit.Plan{}, plain(err)
	}
	p, err := s.Credits.UpdatePlan(ctx, id, in)
	if err != nil {
		return credit.Plan{}, plain(err)
	}
	s.record(ctx, a, audit.PlanChanged, a.User.ID, map[string]any{"plan": p.Slug,
		"change": "edited", "old": planDetails(old), "new": planDetails(p)})
	return p, nil
}

func planDetails(p credit.Plan) map[string]any {
	return map[string]any{"name": p.Name, "monthly_credits": p.MonthlyCredits.String(),
		"price_cents": p.PriceCents, "features": p.Features}
}

// SetPlanActive offers or withdraws the plan id.
func (s *Service) SetPlanActive(ctx context.Context, a Actor, id int64, active bool) error {
	if err := s.require(ctx, a, role.ManageCredits, "set_plan_active"); err != nil {
		return err
	}
	p, err := s.Credits.PlanByID(ctx, id)
	if err != nil {
		return plain(err)
	}
	if err := s.Credits.SetPlanActive(ctx, id, active); err != nil {
		return plain(err)
	}
	change := "withdrawn"
	if active {
		change = "offered"
	}
	s.record(ctx, a, audit.PlanChanged, a.User.ID, map[string]any{"plan": p.Slug,
		"change": change})
	return nil
}

// SetPlanModels makes exactly the models ids open to the plan with slug.
func (s *Service) SetPlanModels(ctx context.Context, a Actor, slug string, ids []string) error {
	if err := s.require(ctx, a, role.ManageCredits, "set_plan_models"); err != nil {
		return err
	}
	old, err := s.Catalog.PlanModels(ctx, slug)
	if err != nil {
		return err
	}
	n, err := s.Catalog.SetPlanModels(ctx, slug, ids, a.User.ID)
	if err != nil || n == 0 {
		return err
	}
	slices.Sort(ids)
	s.record(ctx, a, audit.PlanChanged, a.User.ID, map[string]any{"plan": slug,
		"change": "models", "old": old, "new": ids})
	return nil
}

// SetCost prices one use of feature at m (0.1 to 1000 credits).
func (s *Service) SetCost(ctx context.Context, a Actor, feature string, m credit.Milli) error {
	if err := s.require(ctx, a, role.ManageCredits, "set_cost"); err != nil {
		return err
	}
	old, err := s.Credits.Cost(ctx, feature)
	if err != nil {
		return plain(err)
	}
	if old == m {
		return nil
	}
	if err := s.Credits.SetCost(ctx, feature, m, a.User.ID); err != nil {
		return plain(err)
	}
	s.record(ctx, a, audit.SettingChanged, a.User.ID, map[string]any{
		"setting": "cost." + feature, "old": old.String(), "new": m.String()})
	return nil
}

// Impact is what one plan's monthly credits buy at a set of feature prices.
type Impact struct {
	Plan credit.Plan
	// Uses is how many uses of each feature the monthly credits pay for, at the current
	// and at the proposed prices.
	Now, Then map[string]int64
}

// Preview says, for every plan, how many uses of each feature a month's credits buy at the
// current prices and at the proposed ones (features missing from proposed keep their
// price), so an administrator sees the effect of a price before saving it.
func (s *Service) Preview(ctx context.Context, proposed map[string]credit.Milli) (
	[]Impact, error) {
	current, err := s.Credits.Costs(ctx)
	if err != nil {
		return nil, err
	}
	plans, err := s.Credits.Plans(ctx)
	if err != nil {
		return nil, err
	}

	var out []Impact
	for _, p := range plans {
		im := Impact{Plan: p, Now: map[string]int64{}, Then: map[string]int64{}}
		for _, f := range credit.Features() {
			next, ok := proposed[f]
			if !ok {
				next = current[f]
			}
			im.Now[f] = uses(p.MonthlyCredits, current[f])
			im.Then[f] = uses(p.MonthlyCredits, next)
		}
		out = append(out, im)
	}
	return out, nil
}

// uses is how many whole uses at price a balance pays for.
func uses(balance, price credit.Milli) int64 {
	if price <= 0 {
		return math.MaxInt64
	}
	return int64(balance / price)
}

// SaveModel stores the administrators' choice about one model.
func (s *Service) SaveModel(ctx context.Context, a Actor, c catalog.Choice) error {
	if err := s.require(ctx, a, role.ManageProviders, "save_model"); err != nil {
		return err
	}
	old, err := s.Catalog.Save(ctx, c, a.User.ID)
	if err != nil {
		return err
	}
	s.record(ctx, a, audit.SettingChanged, a.User.ID, map[string]any{
		"setting": "model " + c.ModelID, "old": choiceDetails(old), "new": choiceDetails(c)})
	return nil
}

func choiceDetails(c catalog.Choice) map[string]any {
	plans := any("all")
	if !c.AllPlans() {
		plans = c.Plans
	}
	return map[string]any{"enabled": c.Enabled, "cost": c.Cost.String(), "plans": plans}
}

// SetDefaultModel makes modelID the default of the studio.
func (s *Service) SetDefaultModel(ctx context.Context, a Actor, modelID string) error {
	if err := s.require(ctx, a, role.ManageProviders, "set_default_model"); err != nil {
		return err
	}
	old, err := s.Catalog.SetDefault(ctx, modelID, a.User.ID)
	if err != nil {
		return err
	}
	s.record(ctx, a, audit.SettingChanged, a.User.ID, map[string]any{
		"setting": "models.default", "old": old, "new": modelID})
	return nil
}
