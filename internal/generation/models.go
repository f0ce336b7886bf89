package generation

import (
	"context"
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
}

// Availability reports whether a provider is configured now (by the environment or the
// admin panel).
type Availability func(ctx context.Context, provider string) bool

// modelTable is the models this process knows and how to tell which can run.
type modelTable struct {
	models    []Model
	available Availability // nil: only the built-in engine
}

// table is process-wide because request checking and the admin panel's model settings
// read it through package functions; Configure sets it once while wiring.
var table atomic.Pointer[modelTable]

func init() {
	table.Store(&modelTable{models: modelsOf(provider.Catalog())})
}

// Configure sets the models this process knows: the built-in engine, then defs (the
// provider catalog with the administrators' additions), each available when available
// says its provider is configured. Call it while wiring, before the server starts.
func Configure(defs []provider.Model, available Availability) {
	table.Store(&modelTable{models: modelsOf(defs), available: available})
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
func Catalog() []Model {
	t := table.Load()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	known := map[string]bool{"builtin": true}
	out := make([]Model, len(t.models))
	for i, m := range t.models {
		ok, seen := known[m.Provider]
		if !seen {
			ok = t.available != nil && t.available(ctx, m.Provider)
			known[m.Provider] = ok
		}
		m.Available = ok
		out[i] = m
	}
	return out
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

// LookupModel returns the model with id when its provider is configured here.
func LookupModel(id string) (Model, error) {
	all := Catalog()
	for _, m := range all {
		if m.ID != id {
			continue
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
