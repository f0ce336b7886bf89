package credit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/sketchmaker/sketchmaker/internal/database"
)

// Plan is a subscription: a monthly allowance of credits, a price and what it offers.
type Plan struct {
	ID             int64
	Slug           string
	Name           string
	MonthlyCredits Milli
	PriceCents     int
	Features       []string
	Active         bool
	SortOrder      int
}

// planRow is how a plan is scanned; features are stored comma-separated.
type planRow struct {
	ID             int64  `db:"id"`
	Slug           string `db:"slug"`
	Name           string `db:"name"`
	MonthlyCredits int64  `db:"monthly_credits"`
	PriceCents     int    `db:"price_cents"`
	Features       string `db:"features"`
	Active         bool   `db:"active"`
	SortOrder      int    `db:"sort_order"`
}

const planColumns = `id, slug, name, monthly_credits, price_cents, features, active, sort_order`

// ErrUnknownPlan refuses a plan slug that names no plan.
var ErrUnknownPlan = &Error{Message: "There is no such plan."}

func (r planRow) plan() Plan {
	var features []string
	for f := range strings.SplitSeq(r.Features, ",") {
		if f = strings.TrimSpace(f); f != "" {
			features = append(features, f)
		}
	}

	return Plan{
		ID: r.ID, Slug: r.Slug, Name: r.Name, MonthlyCredits: Milli(r.MonthlyCredits),
		PriceCents: r.PriceCents, Features: features, Active: r.Active, SortOrder: r.SortOrder,
	}
}

// Plans returns every plan, the active ones first, each group in its sort order.
func (s *Service) Plans(ctx context.Context) ([]Plan, error) {
	var rows []planRow
	err := s.db.SelectContext(ctx, &rows, `SELECT `+planColumns+` FROM plans
		ORDER BY CASE WHEN active = TRUE THEN 0 ELSE 1 END, sort_order, id`)
	if err != nil {
		return nil, fmt.Errorf("list plans: %w", err)
	}

	plans := make([]Plan, len(rows))
	for i, r := range rows {
		plans[i] = r.plan()
	}
	return plans, nil
}

// PlanBySlug returns the plan with the given slug, or an error wrapping ErrUnknownPlan.
func (s *Service) PlanBySlug(ctx context.Context, slug string) (Plan, error) {
	return planWhere(ctx, s.db.DB, "slug", slug)
}

// PlanByID returns the plan with the given id, or an error wrapping ErrUnknownPlan.
func (s *Service) PlanByID(ctx context.Context, id int64) (Plan, error) {
	return planWhere(ctx, s.db.DB, "id", id)
}

// planWhere reads the plan whose column (a constant name, never user input) equals value,
// through q, which is the database or a transaction.
func planWhere(ctx context.Context, q sqlx.ExtContext, column string, value any) (Plan, error) {
	var r planRow
	query := q.Rebind(`SELECT ` + planColumns + ` FROM plans WHERE ` + column + ` = ?`)
	err := sqlx.GetContext(ctx, q, &r, query, value)
	if errors.Is(err, sql.ErrNoRows) {
		return Plan{}, fmt.Errorf("plan %v: %w", value, ErrUnknownPlan)
	}
	if err != nil {
		return Plan{}, fmt.Errorf("read plan: %w", err)
	}
	return r.plan(), nil
}

// AssignPlan gives the user the plan named by slug inside the caller's transaction tx: the
// balance becomes the plan's monthly allowance (a "grant" row for a user without a plan, an
// "adjustment" row with the difference otherwise), and the monthly resets start over from
// now, on this day of the month. Registration calls it in the transaction that creates the
// user. Inactive plans can be assigned; offering only active ones is the caller's choice.
func (s *Service) AssignPlan(
	ctx context.Context,
	tx *sqlx.Tx,
	userID int64,
	planSlug string,
	actorID int64,
	reason string,
) error {
	plan, err := planWhere(ctx, tx, "slug", planSlug)
	if err != nil {
		return err
	}

	var user struct {
		Credits int64         `db:"credits"`
		PlanID  sql.NullInt64 `db:"plan_id"`
	}
	q := `SELECT credits, plan_id FROM users WHERE id = ?` + s.forUpdate()
	if err := tx.GetContext(ctx, &user, tx.Rebind(q), userID); err != nil {
		return fmt.Errorf("assign plan: %w", database.NotFound(err))
	}

	now := s.now().UTC()
	_, err = tx.ExecContext(ctx, tx.Rebind(`
		UPDATE users SET plan_id = ?, credits = ?, plan_started_at = ?, next_reset_at = ?,
			updated_at = ?
		WHERE id = ?`),
		plan.ID, int64(plan.MonthlyCredits), now.UnixMilli(), addMonths(now, 1).UnixMilli(),
		now.UnixMilli(), userID)
	if err != nil {
		return fmt.Errorf("assign plan: %w", err)
	}

	kind := KindAdjustment
	if !user.PlanID.Valid {
		kind = KindGrant
	}
	if strings.TrimSpace(reason) == "" {
		reason = "plan " + plan.Slug
	}
	return s.write(ctx, tx, entry{
		userID: userID, kind: kind, amount: plan.MonthlyCredits - Milli(user.Credits),
		balance: plan.MonthlyCredits, actorID: actorID, reason: reason,
	})
}

// SetPlan is AssignPlan in a transaction of its own.
func (s *Service) SetPlan(
	ctx context.Context,
	userID int64,
	planSlug string,
	actorID int64,
	reason string,
) error {
	return s.db.Tx(ctx, func(tx *sqlx.Tx) error {
		return s.AssignPlan(ctx, tx, userID, planSlug, actorID, reason)
	})
}
