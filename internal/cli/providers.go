package cli

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/sketchmaker/sketchmaker/internal/admin"
	"github.com/sketchmaker/sketchmaker/internal/config"
	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/enhance"
	"github.com/sketchmaker/sketchmaker/internal/generation"
	"github.com/sketchmaker/sketchmaker/internal/provider"
	"github.com/sketchmaker/sketchmaker/internal/vault"
)

// Providers holds the image and language-model providers and prompt enhancement (issue 5).
type Providers struct {
	Registry *provider.Registry
	Enhancer *enhance.Service
}

// wireProviders builds the provider registry from the configuration, with the admin
// panel's saved keys and base URLs taking precedence, makes the generation service run
// provider models through it, and plugs its connection tests into the admin panel.
func (a *App) wireProviders(cfg *config.Config, log *slog.Logger, db *database.DB,
	gen *generation.Service) error {
	s, err := providerSettings(cfg)
	if err != nil {
		return err
	}
	defs, err := modelDefinitions(cfg.Providers.ModelsFile)
	if err != nil {
		return err
	}

	var overrides provider.Overrides
	if a.Admin != nil && a.Admin.Vault != nil {
		overrides = vaultOverrides{a.Admin.Vault}
	}
	reg := provider.NewRegistry(s, overrides)
	// Check tells saved settings that could not be read from a provider not configured,
	// so a database outage postpones jobs rather than failing them.
	generation.ConfigureChecked(defs, reg.Check)
	gen.UseProviders(reg, log)
	if a.Admin != nil && a.Admin.Service != nil {
		a.Admin.Service.Tester = providerTester{reg: reg}
	}

	source := func(ctx context.Context) (enhance.Writer, string, error) {
		lm, label, err := reg.Language(ctx)
		if err != nil || lm == nil {
			return nil, "", err
		}
		return lm, label, nil
	}
	a.Providers = &Providers{Registry: reg, Enhancer: enhance.New(db, a.Credits, source)}
	return nil
}

// providerSettings turns the configuration into provider settings, reading the ComfyUI
// workflow and the extra certificate authorities.
func providerSettings(cfg *config.Config) (provider.Settings, error) {
	p := cfg.Providers
	s := provider.Settings{
		Backends: map[string]provider.Backend{
			provider.FAL:     {Key: p.FALKey, BaseURL: p.FALBaseURL},
			provider.OpenAI:  {Key: p.OpenAIKey, BaseURL: p.OpenAIBaseURL},
			provider.Gemini:  {Key: p.GeminiKey, BaseURL: p.GeminiBaseURL},
			provider.A1111:   {BaseURL: p.A1111URL},
			provider.ComfyUI: {BaseURL: p.ComfyUIURL},
		},
		FALResultHosts: p.FALResultHosts,
		FALJWKSURL:     p.FALJWKSURL,
		LLM: provider.LLMSettings{Provider: p.LLMProvider, BaseURL: p.LLMBaseURL,
			Model: p.LLMModel, Key: p.LLMKey, Keys: map[string]string{
				"openai": p.OpenAIKey, "gemini": p.GeminiKey, "anthropic": p.AnthropicKey,
				"groq": p.GroqKey, "cerebras": p.CerebrasKey, "xai": p.XAIKey,
				"openrouter": p.OpenRouterKey}},
		Concurrency: p.Concurrency,
		Timeout:     p.Timeout,
		MaxBytes:    p.MaxResultBytes,
	}
	if p.FALWebhooks {
		s.FALWebhookURL = cfg.BaseURL + "/webhooks/fal"
	}

	if p.ComfyUIWorkflow != "" {
		data, err := os.ReadFile(p.ComfyUIWorkflow)
		if err != nil {
			return s, fmt.Errorf("COMFYUI_WORKFLOW: %w", err)
		}
		if _, err := provider.ParseWorkflow(data); err != nil {
			return s, fmt.Errorf("COMFYUI_WORKFLOW %s: %w", p.ComfyUIWorkflow, err)
		}
		s.ComfyWorkflow = data
	}
	if p.CAFile != "" {
		pool, err := certPool(p.CAFile)
		if err != nil {
			return s, err
		}
		s.RootCAs = pool
	}
	return s, nil
}

// certPool returns the system's authorities plus those in the PEM file path.
func certPool(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("PROVIDER_CA_FILE: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("PROVIDER_CA_FILE %s holds no PEM certificate", path)
	}
	return pool, nil
}

// modelDefinitions returns the built-in model catalog with the models of the optional
// file added, or replacing those with the same id.
func modelDefinitions(path string) ([]provider.Model, error) {
	defs := provider.Catalog()
	if path == "" {
		return defs, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("PROVIDER_MODELS_FILE: %w", err)
	}
	extra, err := provider.ParseModels(data)
	if err != nil {
		return nil, fmt.Errorf("PROVIDER_MODELS_FILE %s: %w", path, err)
	}
	for _, m := range extra {
		replaced := false
		for i := range defs {
			if defs[i].ID == m.ID {
				defs[i], replaced = m, true
			}
		}
		if !replaced {
			defs = append(defs, m)
		}
	}
	return defs, nil
}

// vaultOverrides reads the admin panel's provider entries: an entry that is switched on
// supplies its base URL and key; one switched off leaves the environment's settings.
type vaultOverrides struct{ v *vault.Service }

// Backend returns the saved settings of provider name.
func (o vaultOverrides) Backend(ctx context.Context, name string) (provider.Backend, bool,
	error) {
	p, err := o.v.Provider(ctx, name)
	if errors.Is(err, vault.ErrUnknownProvider) {
		return provider.Backend{}, false, nil
	}
	if err != nil || !p.Enabled {
		return provider.Backend{}, false, err
	}
	key, err := o.v.Key(ctx, name)
	if err != nil && !errors.Is(err, vault.ErrNoKey) {
		return provider.Backend{}, false, err
	}
	return provider.Backend{Key: key, BaseURL: p.BaseURL}, true, nil
}

// providerTester runs the providers' connection checks for the admin panel, and the
// built-in engine's own check for the built-in entry.
type providerTester struct{ reg *provider.Registry }

// Test checks provider p with the key saved for it.
func (t providerTester) Test(ctx context.Context, p vault.Provider, key string) (string,
	error) {
	if p.ID == vault.Builtin {
		return admin.OfflineTester{}.Test(ctx, p, key)
	}
	return t.reg.TestBackend(ctx, p.ID, provider.Backend{Key: key, BaseURL: p.BaseURL})
}
