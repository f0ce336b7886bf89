package provider_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
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
	if ok, err := reg.Check(ctx, provider.FAL); ok || err != nil {
		t.Fatalf("FAL configured without a key: %t, %v", ok, err)
	}
	reg.SetOverrides(overrides{provider.FAL: {Key: "saved"}, "groq": {Key: "gk"}})
	if ok, err := reg.Check(ctx, provider.FAL); !ok || err != nil {
		t.Fatalf("a key saved in the admin panel does not configure FAL: %v", err)
	}
	_, label, err := reg.Language(ctx)
	if err != nil || label != "groq/llama-3.1-8b-instant" {
		t.Fatalf("language model %q, %v; want the admin panel's Groq", label, err)
	}
}

// brokenOverrides is an admin panel whose database refuses every read.
type brokenOverrides struct{ err error }

func (o brokenOverrides) Backend(context.Context, string) (provider.Backend, bool, error) {
	return provider.Backend{}, false, o.err
}

// TestFailedSettingsReadIsNoMissingProvider reads the admin panel's settings from a
// database that refuses at once: the check and the image provider answer the failed
// read, with its cause, never "not configured"; a read that succeeds and finds no key
// still says the provider is not configured.
func TestFailedSettingsReadIsNoMissingProvider(t *testing.T) {
	refused := errors.New("dial tcp 10.0.0.5:5432: connect: connection refused")
	f, sl := newFake(t), &sleeps{}
	keyless := f.settings(sl)
	keyless.Backends = map[string]provider.Backend{}
	cases := []struct {
		name      string
		settings  provider.Settings
		overrides provider.Overrides
		ok        bool
		unread    bool
	}{
		{name: "read refused", settings: f.settings(sl),
			overrides: brokenOverrides{refused}, unread: true},
		{name: "environment key, nothing saved", settings: f.settings(sl),
			overrides: overrides{}, ok: true},
		{name: "saved key", settings: keyless,
			overrides: overrides{provider.FAL: {Key: "saved"}}, ok: true},
		{name: "no key anywhere", settings: keyless, overrides: overrides{}},
	}
	ctx := context.Background()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reg := provider.NewRegistry(c.settings, c.overrides)
			ok, err := reg.Check(ctx, provider.FAL)
			if ok != c.ok || errors.Is(err, provider.ErrUnread) != c.unread ||
				(c.unread && !errors.Is(err, refused)) || (!c.unread && err != nil) {
				t.Fatalf("check: %t, %v", ok, err)
			}

			img, err := reg.Image(ctx, provider.FAL)
			switch {
			case c.ok:
				if err != nil || img == nil {
					t.Fatalf("image provider: %v", err)
				}
			case c.unread:
				if !errors.Is(err, provider.ErrUnread) || !errors.Is(err, refused) ||
					strings.Contains(err.Error(), "not configured") {
					t.Fatalf("image provider with unread settings: %v", err)
				}
			default:
				wantFault(t, err, fault.Unavailable, "not configured")
			}
		})
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
