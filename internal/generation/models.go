package generation

import (
	"strings"

	"github.com/sketchmaker/sketchmaker/internal/fault"
)

// DefaultModel is the built-in offline engine, available on every instance.
const DefaultModel = "builtin/sketch"

// Model is an image model a request can name.
type Model struct {
	ID        string
	Provider  string
	Name      string
	Offline   bool // runs inside SketchMaker with no network
	Available bool // configured on this instance
}

// models lists every model id SketchMaker knows. Only the built-in engine runs today; the
// hosted providers are recognised so that a request for one gets a precise answer.
// TODO(#5): configure and run the hosted and self-hosted providers.
var models = []Model{
	{ID: DefaultModel, Provider: "builtin", Name: "Offline sketch engine", Offline: true,
		Available: true},
	{ID: "fal-ai/flux-pro/v1.1", Provider: "fal", Name: "FLUX1.1 [pro]"},
	{ID: "fal-ai/flux-pro/v1.1-ultra", Provider: "fal", Name: "FLUX1.1 [pro] ultra"},
	{ID: "fal-ai/flux/dev", Provider: "fal", Name: "FLUX.1 [dev]"},
	{ID: "fal-ai/flux-lora", Provider: "fal", Name: "FLUX.1 with LoRA"},
	{ID: "fal-ai/flux-realism", Provider: "fal", Name: "FLUX realism"},
	{ID: "fal-ai/recraft-v3", Provider: "fal", Name: "Recraft V3"},
	{ID: "fal-ai/ideogram/v3", Provider: "fal", Name: "Ideogram 3"},
	{ID: "fal-ai/imagen4/preview", Provider: "fal", Name: "Imagen 4"},
	{ID: "openai/gpt-image-1", Provider: "openai", Name: "GPT Image 1"},
	{ID: "gemini/gemini-2.5-flash-image", Provider: "gemini", Name: "Gemini image"},
	{ID: "a1111/default", Provider: "a1111", Name: "AUTOMATIC1111 / Forge"},
	{ID: "comfyui/default", Provider: "comfyui", Name: "ComfyUI workflow"},
}

// Models returns the models people can choose on this instance.
func Models() []Model {
	var out []Model
	for _, m := range models {
		if m.Available {
			out = append(out, m)
		}
	}
	return out
}

// LookupModel returns the model with id when it is available here.
func LookupModel(id string) (Model, error) {
	for _, m := range models {
		if m.ID != id {
			continue
		}
		if !m.Available {
			return m, fault.Field("model", "The model "+id+" is not configured on this "+
				"server. Choose one of: "+availableIDs()+".")
		}
		return m, nil
	}
	return Model{}, fault.Field("model", "Unknown model. Choose one of: "+availableIDs()+".")
}

func availableIDs() string {
	var ids []string
	for _, m := range Models() {
		ids = append(ids, m.ID)
	}
	return strings.Join(ids, ", ")
}
