package generation

import (
	"context"
	"fmt"

	"github.com/sketchmaker/sketchmaker/internal/credit"
)

// Policy is what the administrators decided about models: which a person may use, which
// is the default, and what one image of each costs. The admin panel's model settings
// implement it; without one, every available model is open at the feature's price.
type Policy interface {
	// Allowed refuses, with an error a person can read, a model that is switched off or
	// outside the person's plan.
	Allowed(ctx context.Context, userID int64, modelID string) error
	// DefaultFor returns the model a request without one uses for the person.
	DefaultFor(ctx context.Context, userID int64) (string, error)
	// Price returns the price of one image of the model, when the administrators set one.
	Price(ctx context.Context, modelID string) (credit.Milli, bool, error)
}

// SetPolicy makes Submit ask p which models a person may use and what they cost. Call it
// while wiring, before the server starts.
func (s *Service) SetPolicy(p Policy) { s.policy = p }

// applyPolicy puts the administrators' default in place of a model the request did not
// name, and refuses a model the person may not use.
func (s *Service) applyPolicy(ctx context.Context, userID int64, p *Params) error {
	if s.policy == nil {
		return nil
	}
	if p.modelDefaulted {
		id, err := s.policy.DefaultFor(ctx, userID)
		if err != nil {
			return err
		}
		p.Model = id
	}
	return s.policy.Allowed(ctx, userID, p.Model)
}

// unitPrice is the price of one image of m: the administrators' price for it when they
// set one, otherwise the provider catalog's, otherwise the image_generation feature's
// price.
func (s *Service) unitPrice(ctx context.Context, m Model) (credit.Milli, error) {
	if s.policy != nil {
		price, ok, err := s.policy.Price(ctx, m.ID)
		if err != nil {
			return 0, fmt.Errorf("price of %s: %w", m.ID, err)
		}
		if ok {
			return price, nil
		}
	}
	// The provider catalog's price of the model, when it names one (issue 5).
	if m.Def.Cost != "" {
		price, err := credit.ParseCredits(m.Def.Cost)
		if err != nil {
			return 0, fmt.Errorf("catalog price of %s: %w", m.ID, err)
		}
		return price, nil
	}
	unit, err := s.credits.Cost(ctx, credit.FeatureImage)
	if err != nil {
		return 0, fmt.Errorf("image cost: %w", err)
	}
	return unit, nil
}
