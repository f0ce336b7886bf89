package provider_test

import (
	"strings"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/provider"
)

func TestCatalogHoldsTheOriginalsModels(t *testing.T) {
	want := []string{"fal-ai/flux-pro/v1.1", "fal-ai/flux-pro/v1.1-ultra", "fal-ai/flux/dev",
		"fal-ai/flux-lora", "fal-ai/flux-realism", "fal-ai/flux-2-pro", "fal-ai/flux-2-max",
		"fal-ai/flux-2-flex", "fal-ai/flux-pro/kontext/max/text-to-image", "fal-ai/recraft-v3",
		"fal-ai/ideogram/v3", "fal-ai/ideogram/v2", "fal-ai/imagen4/preview",
		"fal-ai/nano-banana-pro", "fal-ai/bytedance/seedream/v4.5/text-to-image",
		"fal-ai/z-image/turbo/lora", "openai/gpt-image-1", "gemini/gemini-2.5-flash-image",
		"a1111/default", "comfyui/default"}
	have := map[string]provider.Model{}
	for _, m := range provider.Catalog() {
		have[m.ID] = m
	}
	for _, id := range want {
		if _, ok := have[id]; !ok {
			t.Errorf("the catalog lacks %s", id)
		}
	}
	// Every FAL model that has a safety checker gets it switched on by the server.
	for _, m := range provider.Catalog() {
		if v, ok := m.Safety["enable_safety_checker"]; ok && v != true {
			t.Errorf("%s turns its safety checker off", m.ID)
		}
	}
}

func TestParseModelsRefusesMistakes(t *testing.T) {
	const base = `"provider":"fal","name":"x","size":"none"`
	cases := map[string]string{
		`[{"id":"a b",` + base + `}]`:                                              "without spaces",
		`[{"id":"x","provider":"midjourney","name":"x","size":"none"}]`:            "provider must be",
		`[{"id":"x","provider":"fal","size":"none"}]`:                              "needs a name",
		`[{"id":"x",` + base + `,"cost":"0.01"}]`:                                  "cost",
		`[{"id":"x","provider":"fal","name":"x","size":"aspect_ratio"}]`:           "aspect_ratios",
		`[{"id":"x","provider":"fal","name":"x","size":"openai","sizes":["big"]}]`: "WIDTHxHEIGHT",
		`[{"id":"x","provider":"fal","name":"x","size":"huge"}]`:                   "size must be",
		`[{"id":"x",` + base + `,"steps":{"min":5,"max":1}}]`:                      "range",
		`[{"id":"x",` + base + `,"loras":{"max":-1}}]`:                             "loras",
		`[{"id":"x",` + base + `},{"id":"x",` + base + `}]`:                        "twice",
		`{}`: "not valid JSON",
	}
	for in, want := range cases {
		_, err := provider.ParseModels([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseModels(%s) = %v, want %q", in, err, want)
		}
	}
}
