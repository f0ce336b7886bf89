package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestProviderDefaults(t *testing.T) {
	c, err := Load(env(nil), "")
	if err != nil {
		t.Fatal(err)
	}
	p := c.Providers
	if p.FALKey != "" || p.LLMProvider != "auto" || p.Timeout != 300*time.Second ||
		p.MaxResultBytes != 50<<20 || p.FALWebhooks {
		t.Fatalf("defaults: %+v", p)
	}
	if !reflect.DeepEqual(p.FALResultHosts, []string{"fal.media", "*.fal.media",
		"storage.googleapis.com"}) {
		t.Fatalf("FAL hosts %v", p.FALResultHosts)
	}
	if !reflect.DeepEqual(p.Concurrency, map[string]int{"fal": 8, "openai": 4, "gemini": 4,
		"a1111": 1, "comfyui": 1}) {
		t.Fatalf("concurrency %v", p.Concurrency)
	}
}

func TestProviderValues(t *testing.T) {
	c, err := Load(env(map[string]string{
		"FAL_KEY": "k", "FAL_BASE_URL": "http://127.0.0.1:9000/", "LLM_PROVIDER": "Groq",
		"PROVIDER_CONCURRENCY": "fal=2, a1111=3", "SKETCHMAKER_BASE_URL": "https://s.example",
		"FAL_WEBHOOKS": "true", "FAL_RESULT_HOSTS": "cdn.example.com, *.Fal.Media",
	}), "")
	if err != nil {
		t.Fatal(err)
	}
	p := c.Providers
	if p.FALBaseURL != "http://127.0.0.1:9000" || p.LLMProvider != "groq" || !p.FALWebhooks ||
		p.Concurrency["fal"] != 2 || p.Concurrency["a1111"] != 3 ||
		!reflect.DeepEqual(p.FALResultHosts, []string{"cdn.example.com", "*.fal.media"}) {
		t.Fatalf("values: %+v", p)
	}
}

func TestInvalidProviderValuesAreNamed(t *testing.T) {
	bad := map[string]string{
		"FAL_BASE_URL":              "queue.fal.run",
		"OPENAI_BASE_URL":           "ftp://x.example",
		"COMFYUI_URL":               "http://host:8188/?token=1",
		"LLM_PROVIDER":              "skynet",
		"PROVIDER_CONCURRENCY":      "fal=0,midjourney=3",
		"PROVIDER_TIMEOUT":          "1",
		"PROVIDER_MAX_RESULT_BYTES": "10",
		"FAL_RESULT_HOSTS":          "https://fal.media/x",
		"FAL_WEBHOOKS":              "true", // without an https base URL
	}
	_, err := Load(env(bad), "")
	if err == nil {
		t.Fatal("bad provider values accepted")
	}
	for name := range bad {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
}

func TestProviderKeysAreSecret(t *testing.T) {
	c, _ := Load(env(nil), "")
	rows := c.Describe(env(map[string]string{"FAL_KEY": "fal-secret",
		"ANTHROPIC_API_KEY": "ak-secret", "A1111_URL": "http://u:pw@127.0.0.1:7860"}))
	for _, r := range rows {
		if strings.Contains(r[1], "secret") || strings.Contains(r[1], "pw@") {
			t.Errorf("%s printed as %q", r[0], r[1])
		}
	}
}
