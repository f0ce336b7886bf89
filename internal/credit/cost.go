package credit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Features that cost credits.
const (
	FeatureImage    = "image_generation"
	FeaturePrompt   = "prompt_enhancement"
	FeatureTraining = "training"
)

// defaultCosts are the prices of features nobody has priced in the settings table.
var defaultCosts = map[string]Milli{
	FeatureImage:    One,
	FeaturePrompt:   MinCost,
	FeatureTraining: 40 * One,
}

// Features lists the features that cost credits, in the order an admin page shows them.
func Features() []string {
	return []string{FeatureImage, FeaturePrompt, FeatureTraining}
}

// ErrUnknownFeature refuses a price for something that is not a priced feature.
var ErrUnknownFeature = &Error{Message: "There is no such feature to price."}

// costKey is the settings key holding a feature's price, as a decimal number of credits.
func costKey(feature string) string {
	return "cost." + feature
}

// Cost returns the price of one use of feature (one image, one enhancement, one training):
// the settings value "cost.<feature>" when set, otherwise the default (1 credit per image,
// 0.1 per prompt enhancement, 40 per training).
func (s *Service) Cost(ctx context.Context, feature string) (Milli, error) {
	def, ok := defaultCosts[feature]
	if !ok {
		return 0, fmt.Errorf("cost of %q: %w", feature, ErrUnknownFeature)
	}

	var value string
	err := s.db.GetContext(ctx, &value,
		s.db.Rebind(`SELECT value FROM settings WHERE key = ?`), costKey(feature))
	if errors.Is(err, sql.ErrNoRows) {
		return def, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read cost of %s: %w", feature, err)
	}

	// A value that no longer parses is an operator's mistake to fix, not a free feature.
	m, err := ParseCredits(value)
	if err == nil {
		err = ValidCost(m)
	}
	if err != nil {
		return 0, fmt.Errorf("setting %s holds %q: %w", costKey(feature), value, err)
	}
	return m, nil
}

// Costs returns the price of every feature Features lists.
func (s *Service) Costs(ctx context.Context) (map[string]Milli, error) {
	out := make(map[string]Milli, len(defaultCosts))
	for _, f := range Features() {
		m, err := s.Cost(ctx, f)
		if err != nil {
			return nil, err
		}
		out[f] = m
	}
	return out, nil
}

// SetCost prices feature at m, which must be from 0.1 to 1000 credits, on behalf of the
// administrator actorID. A refusal is an *Error.
func (s *Service) SetCost(ctx context.Context, feature string, m Milli, actorID int64) error {
	if _, ok := defaultCosts[feature]; !ok {
		return fmt.Errorf("price %q: %w", feature, ErrUnknownFeature)
	}
	if err := ValidCost(m); err != nil {
		return err
	}

	_, err := s.db.ExecContext(ctx, s.db.Rebind(`
		INSERT INTO settings (key, value, updated_at, updated_by) VALUES (?, ?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value,
			updated_at = excluded.updated_at, updated_by = excluded.updated_by`),
		costKey(feature), m.String(), s.now().UnixMilli(), actorID)
	if err != nil {
		return fmt.Errorf("price %s: %w", feature, err)
	}
	return nil
}
