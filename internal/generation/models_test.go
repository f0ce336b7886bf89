package generation

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/provider"
)

// TestLookupTellsUnreadSettingsFromMissingProviders checks each way a provider check can
// answer: a failed read of the settings is a passing Unavailable error, never "not
// configured", and a provider that is truly not configured is still the request's field
// error.
func TestLookupTellsUnreadSettingsFromMissingProviders(t *testing.T) {
	refused := errors.New("dial tcp 10.0.0.5:5432: connect: connection refused")
	slow := func(ctx context.Context, _ string) bool { <-ctx.Done(); return false }
	cases := []struct {
		name      string
		configure func()
		ok        bool
		kind      fault.Kind
		unchecked bool
		cause     error
	}{
		{name: "configured", ok: true, configure: func() {
			Configure(provider.Catalog(), func(context.Context, string) bool { return true })
		}},
		{name: "not configured", kind: fault.Invalid, configure: func() {
			Configure(provider.Catalog(), func(context.Context, string) bool { return false })
		}},
		{name: "no check at all", kind: fault.Invalid, configure: func() {
			Configure(provider.Catalog(), nil)
		}},
		{name: "settings read timed out", kind: fault.Unavailable, unchecked: true,
			cause: context.DeadlineExceeded, configure: func() {
				Configure(provider.Catalog(), slow)
			}},
		{name: "settings read failed", kind: fault.Unavailable, unchecked: true,
			cause: refused, configure: func() {
				ConfigureChecked(provider.Catalog(), func(context.Context, string) (bool,
					error) {
					return false, refused
				})
			}},
	}
	t.Cleanup(func() { Configure(provider.Catalog(), nil) })
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.configure()
			SetCheckTimeout(20 * time.Millisecond)

			m, err := LookupModel("fal-ai/flux/dev")
			if c.ok {
				if err != nil || !m.Available || m.Unchecked() != nil {
					t.Fatalf("lookup: %+v, %v", m, err)
				}
				return
			}
			fe := fault.As(err)
			if fe == nil || fe.Kind != c.kind || errors.Is(err, ErrUnchecked) != c.unchecked {
				t.Fatalf("lookup error %v, want kind %d", err, c.kind)
			}
			if c.cause != nil && !errors.Is(err, c.cause) {
				t.Fatalf("lookup error %v lost its cause %v", err, c.cause)
			}
			if (m.Unchecked() != nil) != c.unchecked || m.Available {
				t.Fatalf("model %+v", m)
			}
			if _, err := LookupModel(DefaultModel); err != nil {
				t.Fatalf("the built-in engine: %v", err)
			}
		})
	}
}
