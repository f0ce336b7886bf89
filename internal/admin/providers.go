package admin

import (
	"context"
	"errors"
	"fmt"

	"github.com/sketchmaker/sketchmaker/internal/audit"
	"github.com/sketchmaker/sketchmaker/internal/engine"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/role"
	"github.com/sketchmaker/sketchmaker/internal/vault"
)

// Tester checks that a provider answers with the saved settings. key is "" when none is
// saved. It returns a sentence for the administrator, or an error: ErrNotTestable when it
// has no check for the provider.
type Tester interface {
	Test(ctx context.Context, p vault.Provider, key string) (string, error)
}

// ErrNotTestable says a Tester has no connection check for a provider.
var ErrNotTestable = errors.New("no connection test for this provider")

// OfflineTester checks the built-in engine by rendering a small picture, and has no check
// for any other provider. The providers' own checks (internal/provider) replace it when
// the application is wired.
type OfflineTester struct{}

// Test renders a small picture with the built-in engine, or returns ErrNotTestable.
func (OfflineTester) Test(ctx context.Context, p vault.Provider, _ string) (string, error) {
	if p.ID != vault.Builtin {
		return "", ErrNotTestable
	}
	img, err := engine.Render(engine.Params{Prompt: "connection test", Style: "modern",
		Width: 256, Height: 256, Seed: 1})
	if err != nil {
		return "", fmt.Errorf("render a test picture: %w", err)
	}
	b := img.Bounds()
	return fmt.Sprintf("The built-in engine rendered a %d×%d test picture.", b.Dx(), b.Dy()),
		nil
}

// SaveProviderKey seals key and saves it for provider id. It needs API_KEY_ENCRYPTION_KEY.
func (s *Service) SaveProviderKey(ctx context.Context, a Actor, id, key string) error {
	if err := s.require(ctx, a, role.ManageProviders, "save_provider_key"); err != nil {
		return err
	}
	p, err := s.Vault.Provider(ctx, id)
	if err != nil {
		return err
	}
	if err := s.Vault.SetKey(ctx, id, key, a.User.ID); err != nil {
		return err
	}
	change := "set"
	if p.KeySet() {
		change = "replaced"
	}
	s.record(ctx, a, audit.APIKeyChange, a.User.ID, map[string]any{"provider": id,
		"change": change})
	return nil
}

// RemoveProviderKey forgets the key of provider id.
func (s *Service) RemoveProviderKey(ctx context.Context, a Actor, id string) error {
	if err := s.require(ctx, a, role.ManageProviders, "remove_provider_key"); err != nil {
		return err
	}
	p, err := s.Vault.Provider(ctx, id)
	if err != nil {
		return err
	}
	if !p.KeySet() {
		return nil
	}
	if err := s.Vault.ClearKey(ctx, id, a.User.ID); err != nil {
		return err
	}
	s.record(ctx, a, audit.APIKeyChange, a.User.ID, map[string]any{"provider": id,
		"change": "removed"})
	return nil
}

// ConfigureProvider sets the base URL of provider id and switches it on or off.
func (s *Service) ConfigureProvider(ctx context.Context, a Actor, id, baseURL string,
	enabled bool) error {
	if err := s.require(ctx, a, role.ManageProviders, "configure_provider"); err != nil {
		return err
	}
	old, err := s.Vault.Provider(ctx, id)
	if err != nil {
		return err
	}
	if err := s.Vault.Configure(ctx, id, baseURL, enabled, a.User.ID); err != nil {
		return err
	}
	p, err := s.Vault.Provider(ctx, id)
	if err != nil {
		return err
	}
	if p.BaseURL == old.BaseURL && p.Enabled == old.Enabled {
		return nil
	}
	s.record(ctx, a, audit.SettingChanged, a.User.ID, map[string]any{
		"setting": "provider " + id,
		"old":     map[string]any{"base_url": old.BaseURL, "enabled": old.Enabled},
		"new":     map[string]any{"base_url": p.BaseURL, "enabled": p.Enabled}})
	return nil
}

// TestProvider runs the connection test of provider id, keeps its result with the entry
// and returns it.
func (s *Service) TestProvider(ctx context.Context, a Actor, id string) (vault.Provider,
	error) {
	if err := s.require(ctx, a, role.ManageProviders, "test_provider"); err != nil {
		return vault.Provider{}, err
	}
	p, err := s.Vault.Provider(ctx, id)
	if err != nil {
		return vault.Provider{}, err
	}
	key, err := s.Vault.Key(ctx, id)
	if err != nil && !errors.Is(err, vault.ErrNoKey) {
		return vault.Provider{}, err
	}

	status := vault.CheckOK
	msg, err := s.Tester.Test(ctx, p, key)
	switch {
	case errors.Is(err, ErrNotTestable):
		status = vault.CheckUntested
		msg = "Testing the connection is not implemented for " + p.Name + " yet."
	case err != nil:
		status = vault.CheckFailed
		msg = "The test failed."
		if fe := fault.As(err); fe != nil {
			msg = fe.Message
		}
		s.Log.Warn("provider test failed", "provider", id, "error", err)
	}
	if err := s.Vault.RecordCheck(ctx, id, status, msg); err != nil {
		return vault.Provider{}, err
	}
	return s.Vault.Provider(ctx, id)
}
