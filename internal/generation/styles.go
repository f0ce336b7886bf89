package generation

import (
	"context"
	"fmt"

	"github.com/sketchmaker/sketchmaker/internal/engine"
	"github.com/sketchmaker/sketchmaker/internal/provider"
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

// WeightsSource finds the provider-hosted weights of the styles a person trained. The
// training service is one; a StyleSource that also implements it lets models that take
// LoRAs generate with the person's trained styles.
type WeightsSource interface {
	// WeightsURLs returns the weights' URLs at backend (such as "fal") of userID's styles
	// whose trigger word occurs in prompt, newest first.
	WeightsURLs(ctx context.Context, userID int64, backend, prompt string) ([]string, error)
}

// loras returns the trained styles a provider model applies to the job's prompt: the
// weights trained at the model's own provider, when the catalog says the model takes
// LoRAs. The catalog bounds their number and scale when the request is built.
func (s *Service) loras(ctx context.Context, userID int64, prompt string,
	m Model) ([]provider.Lora, error) {
	src, ok := s.styles.(WeightsSource)
	if !ok || m.Def.Loras == nil || m.Def.Loras.Max == 0 || m.Provider != provider.FAL {
		return nil, nil
	}
	urls, err := src.WeightsURLs(ctx, userID, m.Provider, prompt)
	if err != nil {
		return nil, fmt.Errorf("trained style weights: %w", err)
	}

	out := make([]provider.Lora, len(urls))
	for i, u := range urls {
		out[i] = provider.Lora{URL: u, Scale: 1}
	}
	return out, nil
}
