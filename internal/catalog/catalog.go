// Package catalog keeps what the administrators decided about each model of the generation
// catalog: whether it is on, what one image of it costs, which plans may use it, and which
// model is the default. A model nobody configured is on, open to every plan, at the
// image_generation price. It implements generation.Policy, so the server refuses what the
// studio page does not offer.
package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sketchmaker/sketchmaker/internal/credit"
	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/generation"
	"github.com/sketchmaker/sketchmaker/internal/setting"
)

// keyDefault is the settings key of the default model.
const keyDefault = "models.default"

// allPlans is how the plans column says "every plan, present and future".
const allPlans = "*"

// Choice is what the administrators decided about one model.
type Choice struct {
	ModelID   string
	Enabled   bool
	Cost      credit.Milli // price of one image; 0 means the image_generation price
	Plans     []string     // plan slugs that may use it; nil means every plan
	UpdatedAt int64
	UpdatedBy int64
}

// AllPlans reports whether every plan may use the model.
func (c Choice) AllPlans() bool { return c.Plans == nil }

// Allows reports whether a subscriber of the plan with slug plan may use the model.
func (c Choice) Allows(plan string) bool {
	return c.AllPlans() || slices.Contains(c.Plans, plan)
}

// row is how a choice is stored.
type row struct {
	ModelID   string `db:"model_id"`
	Enabled   bool   `db:"enabled"`
	Cost      int64  `db:"cost"`
	Plans     string `db:"plans"`
	UpdatedAt int64  `db:"updated_at"`
	UpdatedBy int64  `db:"updated_by"`
}

func (r row) choice() Choice {
	c := Choice{ModelID: r.ModelID, Enabled: r.Enabled, Cost: credit.Milli(r.Cost),
		UpdatedAt: r.UpdatedAt, UpdatedBy: r.UpdatedBy}
	if r.Plans != allPlans {
		c.Plans = []string{}
		for p := range strings.SplitSeq(r.Plans, ",") {
			if p = strings.TrimSpace(p); p != "" {
				c.Plans = append(c.Plans, p)
			}
		}
	}
	return c
}

// storedPlans is the plans column for c.
func storedPlans(c Choice) string {
	if c.AllPlans() {
		return allPlans
	}
	return strings.Join(c.Plans, ",")
}

// Service reads and saves the model choices.
type Service struct {
	db       *database.DB
	settings *setting.Store
	credits  *credit.Service
	planOf   func(ctx context.Context, userID int64) (string, error)
	now      func() time.Time
}

// New returns a Service. planOf returns the slug of a user's plan ("" for none).
func New(db *database.DB, settings *setting.Store, credits *credit.Service,
	planOf func(ctx context.Context, userID int64) (string, error),
	now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: db, settings: settings, credits: credits, planOf: planOf, now: now}
}

// ErrUnknownModel answers a model id the catalog does not hold.
var ErrUnknownModel = fault.New(fault.NotFound, "There is no such model.")

// known returns the catalog's model with id.
func known(id string) (generation.Model, bool) {
	for _, m := range generation.Catalog() {
		if m.ID == id {
			return m, true
		}
	}
	return generation.Model{}, false
}

// Choice returns the decision about modelID, or the defaults when nobody made one.
func (s *Service) Choice(ctx context.Context, modelID string) (Choice, error) {
	var r row
	q := s.db.Rebind(`SELECT model_id, enabled, cost, plans, updated_at, updated_by
		FROM model_settings WHERE model_id = ?`)
	err := s.db.GetContext(ctx, &r, q, modelID)
	if errors.Is(err, sql.ErrNoRows) {
		return Choice{ModelID: modelID, Enabled: true}, nil
	}
	if err != nil {
		return Choice{}, fmt.Errorf("read model settings: %w", err)
	}
	return r.choice(), nil
}

// Entry is a model of the catalog with the decision about it.
type Entry struct {
	Model   generation.Model
	Choice  Choice
	Default bool
}

// Entries returns every model of the catalog with its choice, in catalog order.
func (s *Service) Entries(ctx context.Context) ([]Entry, error) {
	def, err := s.Default(ctx)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, m := range generation.Catalog() {
		c, err := s.Choice(ctx, m.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, Entry{Model: m, Choice: c, Default: m.ID == def})
	}
	return out, nil
}

// Save stores c on behalf of actorID and returns the choice it replaced. It refuses an
// unknown model or plan, a price outside 0.1 to 1000 credits (0 keeps the feature's
// price), and switching off the default model.
func (s *Service) Save(ctx context.Context, c Choice, actorID int64) (Choice, error) {
	if _, ok := known(c.ModelID); !ok {
		return Choice{}, ErrUnknownModel
	}
	if c.Cost != 0 {
		if err := credit.ValidCost(c.Cost); err != nil {
			return Choice{}, fault.Field("cost", "A model's price must be from 0.1 to 1000 "+
				"credits, or empty to use the image generation price.")
		}
	}
	if err := s.checkPlans(ctx, c.Plans); err != nil {
		return Choice{}, err
	}
	def, err := s.Default(ctx)
	if err != nil {
		return Choice{}, err
	}
	if !c.Enabled && c.ModelID == def {
		return Choice{}, fault.New(fault.Conflict, "This is the default model; choose "+
			"another default before switching it off.")
	}

	old, err := s.Choice(ctx, c.ModelID)
	if err != nil {
		return Choice{}, err
	}
	return old, s.write(ctx, s.db.DB, c, actorID)
}

// write stores c through q, the database or a transaction.
func (s *Service) write(ctx context.Context, q sqlx.ExecerContext, c Choice, actorID int64) error {
	_, err := q.ExecContext(ctx, s.db.Rebind(`INSERT INTO model_settings
		(model_id, enabled, cost, plans, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (model_id) DO UPDATE SET enabled = excluded.enabled,
		cost = excluded.cost, plans = excluded.plans, updated_at = excluded.updated_at,
		updated_by = excluded.updated_by`),
		c.ModelID, c.Enabled, int64(c.Cost), storedPlans(c), s.now().UnixMilli(), actorID)
	if err != nil {
		return fmt.Errorf("save model settings: %w", err)
	}
	return nil
}

// checkPlans refuses slugs that name no plan.
func (s *Service) checkPlans(ctx context.Context, slugs []string) error {
	plans, err := s.credits.Plans(ctx)
	if err != nil {
		return err
	}
	for _, slug := range slugs {
		found := slices.ContainsFunc(plans, func(p credit.Plan) bool { return p.Slug == slug })
		if !found {
			return fault.Field("plans", "There is no plan "+slug+".")
		}
	}
	return nil
}

// Default returns the default model: the administrators' choice, or the built-in engine.
func (s *Service) Default(ctx context.Context) (string, error) {
	return s.settings.String(ctx, keyDefault, generation.DefaultModel)
}

// SetDefault makes modelID the default on behalf of actorID and returns the old default.
// The model must be available on this instance and switched on.
func (s *Service) SetDefault(ctx context.Context, modelID string, actorID int64) (string, error) {
	m, ok := known(modelID)
	if !ok {
		return "", ErrUnknownModel
	}
	if err := m.Unchecked(); err != nil {
		return "", err
	}
	if !m.Available {
		return "", fault.Field("model", "The model "+m.Name+" cannot run here yet: its "+
			"provider is not configured.")
	}
	c, err := s.Choice(ctx, modelID)
	if err != nil {
		return "", err
	}
	if !c.Enabled {
		return "", fault.Field("model", "Switch the model on before making it the default.")
	}
	old, err := s.settings.Set(ctx, keyDefault, modelID, actorID)
	if old == "" {
		old = generation.DefaultModel
	}
	return old, err
}

// Allowed refuses a model that is switched off or outside the user's plan. It is part of
// generation.Policy.
func (s *Service) Allowed(ctx context.Context, userID int64, modelID string) error {
	c, err := s.Choice(ctx, modelID)
	if err != nil {
		return err
	}
	if !c.Enabled {
		return fault.Field("model", "The model "+modelID+" is switched off on this server. "+
			"Choose another one on the studio page.")
	}
	plan, err := s.planOf(ctx, userID)
	if err != nil {
		return fmt.Errorf("plan of user: %w", err)
	}
	if !c.Allows(plan) {
		return fault.Field("model", "Your plan does not include the model "+modelID+
			". Choose another model, or see the plans on the pricing page.")
	}
	return nil
}

// DefaultFor returns the model a request without one uses for userID: the default when
// the user may use it, otherwise the first model the user may use. It is part of
// generation.Policy.
func (s *Service) DefaultFor(ctx context.Context, userID int64) (string, error) {
	offered, def, err := s.Offer(ctx, userID)
	if err != nil {
		return "", err
	}
	if def != "" {
		return def, nil
	}
	if len(offered) > 0 {
		return offered[0].ID, nil
	}
	return s.Default(ctx)
}

// Price returns the administrators' price for one image of modelID, when they set one.
// It is part of generation.Policy.
func (s *Service) Price(ctx context.Context, modelID string) (credit.Milli, bool, error) {
	c, err := s.Choice(ctx, modelID)
	if err != nil {
		return 0, false, err
	}
	return c.Cost, c.Cost > 0, nil
}

// Offer returns the models userID may choose on the studio page (available here, switched
// on, and open to the user's plan) and the one to preselect ("" when the default is not
// among them). While a provider's settings cannot be read, it offers nothing and returns
// that model's Unchecked error: a shorter list would move requests to another model.
func (s *Service) Offer(ctx context.Context, userID int64) ([]generation.Model, string, error) {
	def, err := s.Default(ctx)
	if err != nil {
		return nil, "", err
	}
	plan, err := s.planOf(ctx, userID)
	if err != nil {
		return nil, "", fmt.Errorf("plan of user: %w", err)
	}

	var out []generation.Model
	pick := ""
	for _, m := range generation.Catalog() {
		if err := m.Unchecked(); err != nil {
			return nil, "", err
		}
		if !m.Available {
			continue
		}
		c, err := s.Choice(ctx, m.ID)
		if err != nil {
			return nil, "", err
		}
		if !c.Enabled || !c.Allows(plan) {
			continue
		}
		out = append(out, m)
		if m.ID == def {
			pick = def
		}
	}
	return out, pick, nil
}

// PlanModels returns the ids of the catalog's models the plan with slug may use.
func (s *Service) PlanModels(ctx context.Context, slug string) ([]string, error) {
	var ids []string
	for _, m := range generation.Catalog() {
		c, err := s.Choice(ctx, m.ID)
		if err != nil {
			return nil, err
		}
		if c.Allows(slug) {
			ids = append(ids, m.ID)
		}
	}
	return ids, nil
}

// SetPlanModels makes the models named by ids, and only those, open to the plan with slug,
// on behalf of actorID, and returns how many models changed. A model open to every plan
// that the plan loses is made open to every other plan by name.
func (s *Service) SetPlanModels(ctx context.Context, slug string, ids []string,
	actorID int64) (int, error) {
	plans, err := s.credits.Plans(ctx)
	if err != nil {
		return 0, err
	}
	if !slices.ContainsFunc(plans, func(p credit.Plan) bool { return p.Slug == slug }) {
		return 0, fault.Field("plan", "There is no plan "+slug+".")
	}
	for _, id := range ids {
		if _, ok := known(id); !ok {
			return 0, ErrUnknownModel
		}
	}

	var next []Choice
	for _, m := range generation.Catalog() {
		c, err := s.Choice(ctx, m.ID)
		if err != nil {
			return 0, err
		}
		if c, ok := withPlan(c, slug, slices.Contains(ids, m.ID), plans); ok {
			next = append(next, c)
		}
	}

	err = s.db.Tx(ctx, func(tx *sqlx.Tx) error {
		for _, c := range next {
			if err := s.write(ctx, tx, c, actorID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return len(next), nil
}

// withPlan returns c with the plan slug let in or kept out, and whether that changed it.
func withPlan(c Choice, slug string, in bool, plans []credit.Plan) (Choice, bool) {
	if c.Allows(slug) == in {
		return c, false
	}
	if in {
		c.Plans = append(slices.Clone(c.Plans), slug)
		return c, true
	}
	if c.AllPlans() {
		c.Plans = []string{}
		for _, p := range plans {
			c.Plans = append(c.Plans, p.Slug)
		}
	}
	c.Plans = slices.DeleteFunc(slices.Clone(c.Plans), func(p string) bool { return p == slug })
	return c, true
}
