package generation

import (
	"context"
	"fmt"

	"github.com/sketchmaker/sketchmaker/internal/engine"
)

// StyleSource finds the style a person trained whose trigger word appears in a prompt.
// The training service is one.
type StyleSource interface {
	// ProfileFor returns the learned profile of userID's style whose trigger word occurs
	// in prompt, or nil when none does.
	ProfileFor(ctx context.Context, userID int64, prompt string) (*engine.Profile, error)
}

// UseStyles makes the built-in engine apply trained styles found by src. Call it while
// wiring, before the workers start.
func (s *Service) UseStyles(src StyleSource) { s.styles = src }

// styleProfile returns the profile to render a prompt of userID with, or nil.
func (s *Service) styleProfile(ctx context.Context, userID int64,
	prompt string) (*engine.Profile, error) {
	if s.styles == nil {
		return nil, nil
	}
	prof, err := s.styles.ProfileFor(ctx, userID, prompt)
	if err != nil {
		return nil, fmt.Errorf("trained style: %w", err)
	}
	return prof, nil
}
