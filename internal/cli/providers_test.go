package cli

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/config"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/generation"
	"github.com/sketchmaker/sketchmaker/internal/provider"
	"github.com/sketchmaker/sketchmaker/internal/secret"
)

func writeTemp(t *testing.T, name, data string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestProviderSettingsFromTheConfiguration(t *testing.T) {
	env := map[string]string{
		"FAL_KEY": "k", "SKETCHMAKER_BASE_URL": "https://studio.example",
		"FAL_WEBHOOKS": "true", "GROQ_API_KEY": "g",
		"COMFYUI_URL": "http://127.0.0.1:8188",
		"COMFYUI_WORKFLOW": writeTemp(t, "wf.json",
			`{"1":{"class_type":"CLIPTextEncode","inputs":{"text":"{{prompt}}"}}}`),
	}
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok }, "")
	if err != nil {
		t.Fatal(err)
	}
	s, err := providerSettings(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if s.Backends["fal"].Key != "k" || s.FALWebhookURL != "https://studio.example/webhooks/fal" ||
		s.LLM.Keys["groq"] != "g" || len(s.ComfyWorkflow) == 0 {
		t.Fatalf("settings %+v", s)
	}
}

func TestProviderFilesAreChecked(t *testing.T) {
	cases := map[string]struct {
		env  map[string]string
		want string
	}{
		"missing workflow": {map[string]string{"COMFYUI_WORKFLOW": "/nonexistent/wf.json"},
			"COMFYUI_WORKFLOW"},
		"workflow without prompt": {map[string]string{"COMFYUI_WORKFLOW": writeTemp(t,
			"wf.json", `{"1":{"class_type":"SaveImage","inputs":{}}}`)}, "{{prompt}}"},
		"CA file without certificates": {map[string]string{"PROVIDER_CA_FILE": writeTemp(t,
			"ca.pem", "not a certificate")}, "PROVIDER_CA_FILE"},
	}
	for name, c := range cases {
		cfg, err := config.Load(func(k string) (string, bool) { v, ok := c.env[k]; return v, ok },
			"")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := providerSettings(cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error naming %s", name, err, c.want)
		}
	}
}

func TestModelsFileExtendsTheCatalog(t *testing.T) {
	path := writeTemp(t, "models.json", `[
		{"id":"fal-ai/flux/dev","provider":"fal","name":"FLUX dev (ours)","cost":"0.5",
		 "size":"image_size"},
		{"id":"local/sdxl","provider":"openai_compatible","name":"Local SDXL",
		 "endpoint":"sdxl","size":"openai","sizes":["1024x1024"]}]`)
	defs, err := modelDefinitions(path)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]string{}
	for _, d := range defs {
		byID[d.ID] = d.Name + "|" + d.Cost
	}
	if byID["fal-ai/flux/dev"] != "FLUX dev (ours)|0.5" || byID["local/sdxl"] != "Local SDXL|" ||
		byID["fal-ai/recraft-v3"] == "" {
		t.Fatalf("models %v", byID)
	}
	if _, err := modelDefinitions(writeTemp(t, "bad.json", `[{"id":"x"}]`)); err == nil ||
		!strings.Contains(err.Error(), "PROVIDER_MODELS_FILE") {
		t.Fatalf("bad file: %v", err)
	}
}

// TestWiredProviderCheckTellsUnreadSettings wires the providers as the server does and
// closes the database under the admin panel's provider settings: reads then fail at once,
// and a FAL model counts as unchecked (try again), never as not configured. With the
// database open, FAL is available with its key and not configured without one.
func TestWiredProviderCheckTellsUnreadSettings(t *testing.T) {
	const model = "fal-ai/flux/dev"
	t.Cleanup(func() { generation.Configure(provider.Catalog(), nil) })
	cases := []struct {
		name   string
		falKey string
		closed bool
		kind   fault.Kind // of the lookup's error; ignored when ok
		ok     bool
	}{
		{name: "key set", falKey: "fal-env-key", ok: true},
		{name: "no key", kind: fault.Invalid},
		{name: "database closed", falKey: "fal-env-key", closed: true,
			kind: fault.Unavailable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			app := buildWithFAL(t, c.falKey)
			if c.closed {
				app.DB.Close()
			}

			_, err := generation.LookupModel(model)
			if c.ok {
				if err != nil {
					t.Fatalf("lookup: %v", err)
				}
				return
			}
			fe := fault.As(err)
			if fe == nil || fe.Kind != c.kind ||
				errors.Is(err, generation.ErrUnchecked) != c.closed {
				t.Fatalf("lookup: %v", err)
			}
			if !c.closed {
				return
			}
			if !strings.Contains(fe.Message, "try again") || !strings.Contains(err.Error(),
				"database is closed") || strings.Contains(err.Error(), "fal-env-key") {
				t.Fatalf("lookup with the database closed: %v", err)
			}
			_, err = app.Providers.Registry.Image(context.Background(), provider.FAL)
			if !errors.Is(err, provider.ErrUnread) {
				t.Fatalf("image provider with the database closed: %v", err)
			}
		})
	}
}

// buildWithFAL builds an instance whose environment sets FAL's key (none when empty),
// closed when the test ends.
func buildWithFAL(t *testing.T, falKey string) *App {
	t.Helper()
	env := keysEnv(t.TempDir(), secret.GenerateKey())
	cfg, err := config.Load(func(k string) (string, bool) {
		if k == "FAL_KEY" && falKey != "" {
			return falKey, true
		}
		return env(k)
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	app, err := Build(context.Background(), cfg, slog.New(slog.DiscardHandler), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	return app
}
