package generation

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/provider"
)

// DefaultModel is the built-in offline engine, available on every instance.
const DefaultModel = "builtin/sketch"

// Model is an image model a request can name.
type Model struct {
	ID        string
	Provider  string
	Name      string
	Offline   bool // runs inside SketchMaker with no network
	Available bool // its provider is configured on this instance
	// Def is the provider's definition of the model: its endpoint, typed arguments and
	// catalog price. It is zero for the built-in engine.
	Def provider.Model

	// unread is why it is not known whether the provider is configured: its settings
	// could not be read. The model then counts as unavailable.
	unread error
}

// Unchecked returns, when the settings of the model's provider could not be read, an
// Unavailable error that says to try again; nil when Available is the checked answer.
func (m Model) Unchecked() error { return m.unread }

// ErrUnchecked is in the chain of every error about provider settings that could not be
// read (a slow or unreachable database): whether a model can run is then not known, and
// asking again later may well succeed.
var ErrUnchecked = errors.New("provider settings could not be read")

// uncheckedMessage is the safe face of ErrUnchecked.
const uncheckedMessage = "The server could not check this model's provider just now. " +
	"Please try again in a moment."

// Availability reports whether a provider is configured now (by the environment or the
// admin panel). It cannot report a failed read of the settings, so Configure takes a no
// that came after the check ran out of time for one.
type Availability func(ctx context.Context, provider string) bool

// ProviderCheck reports whether a provider is configured now, and an error when its
// settings could not be read.
type ProviderCheck func(ctx context.Context, provider string) (bool, error)

// checkTimeout is how long checking every provider may take.
const checkTimeout = 5 * time.Second

// modelTable is the models this process knows and how to tell which can run.
type modelTable struct {
	models  []Model
	check   ProviderCheck // nil: only the built-in engine
	timeout time.Duration // of checking every provider
}

// table is process-wide because request checking and the admin panel's model settings
// read it through package functions; Configure sets it once while wiring.
var table atomic.Pointer[modelTable]

func init() {
	table.Store(&modelTable{models: modelsOf(provider.Catalog()), timeout: checkTimeout})
}

// Configure sets the models this process knows: the built-in engine, then defs (the
// provider catalog with the administrators' additions), each available when available
// says its provider is configured. A check that answers no after running out of time
// counts as a failed read, not as a missing provider. Call it while wiring, before the
// server starts.
func Configure(defs []provider.Model, available Availability) {
	var check ProviderCheck
	if available != nil {
		check = available.check
	}
	ConfigureChecked(defs, check)
}

// ConfigureChecked is Configure with a check that reports failed reads itself, such as
// provider.Registry's Check: a read refused at once then counts as unread too.
func ConfigureChecked(defs []provider.Model, check ProviderCheck) {
	table.Store(&modelTable{models: modelsOf(defs), check: check, timeout: checkTimeout})
}

// check asks a. A no given after ctx ended is no answer: the settings were being read
// from a database too slow to answer in time, and the provider may well be configured.
func (a Availability) check(ctx context.Context, name string) (bool, error) {
	if a(ctx, name) {
		return true, nil
	}
	return false, ctx.Err()
}

// modelsOf puts the built-in engine before the provider models.
func modelsOf(defs []provider.Model) []Model {
	out := []Model{{ID: DefaultModel, Provider: "builtin", Name: "Offline sketch engine",
		Offline: true}}
	for _, d := range defs {
		if d.ID == DefaultModel {
			continue
		}
		out = append(out, Model{ID: d.ID, Provider: d.Provider, Name: d.Name, Def: d})
	}
	return out
}

// Catalog returns every model SketchMaker knows, available on this instance or not.
func Catalog() []Model { return catalogOf(context.Background()) }

// catalogOf is Catalog, the providers checked under ctx and within the table's timeout.
func catalogOf(ctx context.Context) []Model {
	t := table.Load()
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()

	type answer struct {
		ok  bool
		err error
	}
	known := map[string]answer{"builtin": {ok: true}}
	out := make([]Model, len(t.models))
	for i, m := range t.models {
		a, seen := known[m.Provider]
		if !seen {
			a.ok, a.err = t.checkProvider(ctx, m.Provider)
			known[m.Provider] = a
		}
		m.Available, m.unread = a.ok, a.err
		out[i] = m
	}
	return out
}

// checkProvider reports whether provider name is configured. The error, when the
// settings could not be read, has a safe face that says to try again.
func (t *modelTable) checkProvider(ctx context.Context, name string) (bool, error) {
	if t.check == nil {
		return false, nil
	}
	ok, err := t.check(ctx, name)
	if err != nil {
		return false, unchecked(name, err)
	}
	return ok, nil
}

// unchecked is the error about provider name whose settings could not be read (err): an
// Unavailable error that says to try again, with ErrUnchecked and err in its chain.
func unchecked(name string, err error) error {
	cause := fmt.Errorf("%w: %s: %w", ErrUnchecked, name, err)
	return fault.Wrap(fault.Unavailable, uncheckedMessage, cause)
}

// Models returns the models people can choose on this instance.
func Models() []Model {
	var out []Model
	for _, m := range Catalog() {
		if m.Available {
			out = append(out, m)
		}
	}
	return out
}

// LookupModel returns the model with id when its provider is configured here. When the
// provider's settings could not be read, the error is Unchecked's.
func LookupModel(id string) (Model, error) { return lookupModel(context.Background(), id) }

// lookupModel is LookupModel, the provider checked under ctx.
func lookupModel(ctx context.Context, id string) (Model, error) {
	all := catalogOf(ctx)
	for _, m := range all {
		if m.ID != id {
			continue
		}
		if m.unread != nil {
			return m, m.unread
		}
		if !m.Available {
			return m, fault.Field("model", "The model "+id+" is not configured on this "+
				"server. Choose one of: "+availableIDs(all)+".")
		}
		return m, nil
	}
	return Model{}, fault.Field("model", "Unknown model. Choose one of: "+
		availableIDs(all)+".")
}

func availableIDs(all []Model) string {
	var ids []string
	for _, m := range all {
		if m.Available {
			ids = append(ids, m.ID)
		}
	}
	return strings.Join(ids, ", ")
}
