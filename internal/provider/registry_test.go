package provider_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/provider"
)

func TestConnectionTests(t *testing.T) {
	f, sl := newFake(t), &sleeps{}
	f.on("GET /fal-ai/flux/requests/00000000-0000-0000-0000-000000000000/status",
		func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Key good" {
				writeJSON(w, http.StatusUnauthorized, map[string]any{"detail": "bad"})
				return
			}
			writeJSON(w, http.StatusNotFound, map[string]any{"detail": "not found"})
		})
	f.on("GET /sdapi/v1/progress", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"progress": 0})
	})
	f.on("GET /v1/models", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("x-api-key") != "ak" || r.Header.Get("anthropic-version") == "" {
			writeJSON(w, http.StatusUnauthorized, map[string]any{})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"data": []any{}})
	})
	reg := provider.NewRegistry(f.settings(sl), nil)
	cases := []struct {
		name string
		b    provider.Backend
		ok   bool
	}{
		{provider.FAL, provider.Backend{Key: "good", BaseURL: f.URL}, true},
		{provider.FAL, provider.Backend{Key: "bad", BaseURL: f.URL}, false},
		{provider.A1111, provider.Backend{BaseURL: f.URL}, true},
		{provider.ComfyUI, provider.Backend{BaseURL: f.URL}, false}, // no /system_stats
		{"anthropic", provider.Backend{Key: "ak", BaseURL: f.URL}, true},
		{"anthropic", provider.Backend{Key: "wrong", BaseURL: f.URL}, false},
		{provider.A1111, provider.Backend{}, false},
	}
	for _, c := range cases {
		msg, err := reg.TestBackend(context.Background(), c.name, c.b)
		if c.ok && (err != nil || msg == "") {
			t.Errorf("%s %+v: %v", c.name, c.b.Key, err)
		}
		if !c.ok && fault.As(err) == nil {
			t.Errorf("%s %+v: error %v without a safe face", c.name, c.b.Key, err)
		}
	}
}

// overrides is an admin panel with saved settings.
type overrides map[string]provider.Backend

func (o overrides) Backend(_ context.Context, name string) (provider.Backend, bool, error) {
	b, ok := o[name]
	return b, ok, nil
}

func TestAdminSettingsTakePrecedence(t *testing.T) {
	f, sl := newFake(t), &sleeps{}
	s := f.settings(sl)
	s.Backends = map[string]provider.Backend{}
	reg := provider.NewRegistry(s, nil)
	ctx := context.Background()
	if reg.Configured(ctx, provider.FAL) {
		t.Fatal("FAL configured without a key")
	}
	reg.SetOverrides(overrides{provider.FAL: {Key: "saved"}, "groq": {Key: "gk"}})
	if !reg.Configured(ctx, provider.FAL) {
		t.Fatal("a key saved in the admin panel does not configure FAL")
	}
	_, label, err := reg.Language(ctx)
	if err != nil || label != "groq/llama-3.1-8b-instant" {
		t.Fatalf("language model %q, %v; want the admin panel's Groq", label, err)
	}
}

func TestConcurrencyLimit(t *testing.T) {
	reg := provider.NewRegistry(provider.Settings{Concurrency: map[string]int{"fal": 2}}, nil)
	ctx := context.Background()
	r1, err1 := reg.Acquire(ctx, provider.FAL, nil)
	r2, err2 := reg.Acquire(ctx, provider.FAL, nil)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := reg.Acquire(short, provider.FAL, nil); err == nil {
		t.Fatal("a third request ran beside two with a limit of two")
	}
	if r, err := reg.Acquire(ctx, provider.A1111, nil); err != nil {
		t.Fatal("another provider's slots are shared with FAL's")
	} else {
		r()
	}
	r1()
	got := make(chan error, 1)
	go func() { r, err := reg.Acquire(ctx, provider.FAL, nil); got <- err; r() }()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	r2()
}
