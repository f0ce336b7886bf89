package credit

import (
	"context"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sketchmaker/sketchmaker/internal/database"
)

// Limits on what a plan may hold.
const (
	MaxPlanFeatures = 20
	maxPlanName     = 80
	maxFeature      = 80
	maxSlug         = 40
	maxPriceCents   = 100_000_000 // a million in the currency
)

// Feature texts that open a capability, not just describe the plan: a user whose plan
// lists one may use it (administrators always may).
const (
	FeatureAPI    = "API access"     // personal API tokens
	FeatureStyles = "Style training" // uploads and style trainings
)

// GatedFeatures lists the feature texts above, in the order the admin pages show them.
func GatedFeatures() []string { return []string{FeatureAPI, FeatureStyles} }

// HasFeature reports whether the plan lists feature, ignoring case.
func (p Plan) HasFeature(feature string) bool {
	for _, f := range p.Features {
		if strings.EqualFold(f, feature) {
			return true
		}
	}
	return false
}

// PlanInput is what an administrator writes to create or edit a plan.
type PlanInput struct {
	Slug           string // set at creation, fixed afterwards
	Name           string
	MonthlyCredits Milli
	PriceCents     int
	Features       []string
	SortOrder      int
}

// check cleans in and refuses what a plan cannot hold, with an *Error a person can act on.
func (in *PlanInput) check() error {
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || utf8.RuneCountInString(in.Name) > maxPlanName || hasControl(in.Name) {
		return refuse("Give the plan a name of 1 to %d characters.", maxPlanName)
	}
	if in.MonthlyCredits < 0 || in.MonthlyCredits > MaxBalance {
		return refuse("Monthly credits must be from 0 to %s.", MaxBalance)
	}
	if in.PriceCents < 0 || in.PriceCents > maxPriceCents {
		return refuse("The price must be from 0 to 1000000.")
	}

	var features []string
	for _, f := range in.Features {
		f = strings.TrimSpace(f)
		switch {
		case f == "":
			continue
		case strings.Contains(f, ",") || hasControl(f):
			return refuse("A feature cannot contain commas or control characters: %q.", f)
		case utf8.RuneCountInString(f) > maxFeature:
			return refuse("Each feature can be at most %d characters long.", maxFeature)
		}
		features = append(features, f)
	}
	if len(features) > MaxPlanFeatures {
		return refuse("A plan can list at most %d features.", MaxPlanFeatures)
	}
	in.Features = features
	return nil
}

// checkSlug refuses a slug that is not 1 to 40 lowercase letters, digits and dashes.
func checkSlug(slug string) error {
	ok := slug != "" && len(slug) <= maxSlug && !strings.HasPrefix(slug, "-")
	for _, r := range slug {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			ok = false
		}
	}
	if !ok {
		return refuse("The plan's short name must be 1 to %d lowercase letters, digits or "+
			"dashes, such as team-2026.", maxSlug)
	}
	return nil
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, unicode.IsControl)
}

// CreatePlan stores a new, active plan.
func (s *Service) CreatePlan(ctx context.Context, in PlanInput) (Plan, error) {
	in.Slug = strings.TrimSpace(in.Slug)
	if err := checkSlug(in.Slug); err != nil {
		return Plan{}, err
	}
	if err := in.check(); err != nil {
		return Plan{}, err
	}

	var id int64
	q := s.db.Rebind(`INSERT INTO plans (slug, name, monthly_credits, price_cents, features,
		active, sort_order, created_at) VALUES (?, ?, ?, ?, ?, TRUE, ?, ?) RETURNING id`)
	err := s.db.GetContext(ctx, &id, q, in.Slug, in.Name, int64(in.MonthlyCredits),
		in.PriceCents, strings.Join(in.Features, ","), in.SortOrder, s.now().UnixMilli())
	if database.IsUnique(err) {
		return Plan{}, refuse("A plan with the short name %s exists already.", in.Slug)
	}
	if err != nil {
		return Plan{}, fmt.Errorf("create plan: %w", err)
	}
	return s.PlanByID(ctx, id)
}

// UpdatePlan changes the plan id; its slug stays. Subscribers keep their balance until
// their next monthly reset, which grants the new allowance.
func (s *Service) UpdatePlan(ctx context.Context, id int64, in PlanInput) (Plan, error) {
	if err := in.check(); err != nil {
		return Plan{}, err
	}
	if _, err := s.PlanByID(ctx, id); err != nil {
		return Plan{}, err
	}

	q := s.db.Rebind(`UPDATE plans SET name = ?, monthly_credits = ?, price_cents = ?,
		features = ?, sort_order = ? WHERE id = ?`)
	_, err := s.db.ExecContext(ctx, q, in.Name, int64(in.MonthlyCredits), in.PriceCents,
		strings.Join(in.Features, ","), in.SortOrder, id)
	if err != nil {
		return Plan{}, fmt.Errorf("update plan: %w", err)
	}
	return s.PlanByID(ctx, id)
}

// SetPlanActive offers (active) or withdraws the plan id. A withdrawn plan is no longer
// offered; its subscribers keep it.
func (s *Service) SetPlanActive(ctx context.Context, id int64, active bool) error {
	if _, err := s.PlanByID(ctx, id); err != nil {
		return err
	}
	q := s.db.Rebind(`UPDATE plans SET active = ? WHERE id = ?`)
	if _, err := s.db.ExecContext(ctx, q, active, id); err != nil {
		return fmt.Errorf("set plan active: %w", err)
	}
	return nil
}

// Subscribers returns how many accounts hold each plan, by plan id.
func (s *Service) Subscribers(ctx context.Context) (map[int64]int, error) {
	var rows []struct {
		PlanID int64 `db:"plan_id"`
		N      int   `db:"n"`
	}
	err := s.db.SelectContext(ctx, &rows, `SELECT plan_id, COUNT(*) AS n FROM users
		WHERE plan_id IS NOT NULL GROUP BY plan_id`)
	if err != nil {
		return nil, fmt.Errorf("count subscribers: %w", err)
	}
	out := make(map[int64]int, len(rows))
	for _, r := range rows {
		out[r.PlanID] = r.N
	}
	return out, nil
}
