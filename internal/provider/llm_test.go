package provider_test

import (
	"context"
	"net/http"
	"reflect"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/config"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/provider"
)

func TestLanguageModelsSendTheDocumentedRequests(t *testing.T) {
	cases := []struct {
		name    string
		llm     func(base string) provider.LLMSettings
		route   string
		answer  map[string]any
		label   string
		headers map[string]string
		want    map[string]any
	}{
		{name: "groq (OpenAI-compatible)",
			llm: func(base string) provider.LLMSettings {
				return provider.LLMSettings{Provider: "groq", BaseURL: base + "/openai/v1",
					Keys: map[string]string{"groq": "gsk-test"}}
			},
			route: "POST /openai/v1/chat/completions",
			answer: map[string]any{"choices": []map[string]any{
				{"message": map[string]any{"role": "assistant", "content": "A fox."}}}},
			label:   "groq/llama-3.1-8b-instant",
			headers: map[string]string{"Authorization": "Bearer gsk-test"},
			want: map[string]any{"model": "llama-3.1-8b-instant", "max_tokens": 400.0,
				"temperature": 0.7, "messages": []any{
					map[string]any{"role": "system", "content": "be brief"},
					map[string]any{"role": "user", "content": "a fox"}}}},
		{name: "anthropic",
			llm: func(base string) provider.LLMSettings {
				return provider.LLMSettings{Provider: "anthropic", BaseURL: base,
					Model: "claude-test", Keys: map[string]string{"anthropic": "ak-test"}}
			},
			route: "POST /v1/messages",
			answer: map[string]any{"content": []map[string]any{
				{"type": "text", "text": "A fox."}}},
			label: "anthropic/claude-test",
			headers: map[string]string{"x-api-key": "ak-test",
				"anthropic-version": "2023-06-01"},
			want: map[string]any{"model": "claude-test", "max_tokens": 400.0,
				"system": "be brief", "messages": []any{
					map[string]any{"role": "user", "content": "a fox"}}}},
		{name: "gemini",
			llm: func(base string) provider.LLMSettings {
				return provider.LLMSettings{Provider: "gemini", BaseURL: base + "/v1beta",
					Keys: map[string]string{"gemini": "gm-test"}}
			},
			route: "POST /v1beta/models/gemini-2.0-flash:generateContent",
			answer: map[string]any{"candidates": []map[string]any{{"content": map[string]any{
				"parts": []map[string]any{{"text": "A fox."}}}}}},
			label:   "gemini/gemini-2.0-flash",
			headers: map[string]string{"x-goog-api-key": "gm-test"},
			want: map[string]any{
				"systemInstruction": map[string]any{"parts": []any{
					map[string]any{"text": "be brief"}}},
				"contents": []any{map[string]any{"role": "user", "parts": []any{
					map[string]any{"text": "a fox"}}}},
				"generationConfig": map[string]any{"maxOutputTokens": 400.0}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, sl := newFake(t), &sleeps{}
			f.on(c.route, func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusOK, c.answer)
			})
			s := f.settings(sl)
			s.LLM = c.llm(f.URL)
			lm, label, err := provider.NewRegistry(s, nil).Language(context.Background())
			if err != nil || lm == nil {
				t.Fatalf("language model: %v", err)
			}
			if label != c.label {
				t.Errorf("label %q, want %q", label, c.label)
			}
			got, err := lm.Complete(context.Background(), "be brief", "a fox")
			if err != nil || got != "A fox." {
				t.Fatalf("answer %q, %v", got, err)
			}
			req := f.requests(c.route)[0]
			for k, v := range c.headers {
				if req.Header.Get(k) != v {
					t.Errorf("%s = %q, want %q", k, req.Header.Get(k), v)
				}
			}
			if body := req.JSON(t); !reflect.DeepEqual(body, c.want) {
				t.Errorf("sent %v\nwant %v", body, c.want)
			}
		})
	}
}

func TestLanguageModelErrors(t *testing.T) {
	f, sl := newFake(t), &sleeps{}
	route := "POST /v1/chat/completions"
	s := f.settings(sl)
	s.LLM = provider.LLMSettings{Provider: "openai", BaseURL: f.URL + "/v1", Key: "sk-test"}
	lm, _, err := provider.NewRegistry(s, nil).Language(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		status int
		body   string
		kind   fault.Kind
	}{
		{401, `{"error":{"message":"bad sk-test"}}`, fault.Unavailable},
		{500, `{}`, fault.Unavailable},
		{200, `{"choices": []}`, fault.Unavailable},
		{200, `not json`, fault.Unavailable},
	}
	for _, c := range cases {
		f.on(route, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(c.status)
			_, _ = w.Write([]byte(c.body))
		})
		_, err := lm.Complete(context.Background(), "s", "u")
		wantFault(t, err, c.kind, "")
	}
}

func TestLanguageModelChoice(t *testing.T) {
	cases := []struct {
		llm  provider.LLMSettings
		want string // "" for the offline enhancer
	}{
		{provider.LLMSettings{}, ""},
		{provider.LLMSettings{Provider: "auto"}, ""},
		{provider.LLMSettings{Provider: "builtin", Keys: map[string]string{"openai": "k"}}, ""},
		{provider.LLMSettings{Keys: map[string]string{"groq": "k"}}, "groq/"},
		{provider.LLMSettings{Keys: map[string]string{"groq": "k", "anthropic": "k"}},
			"anthropic/"},
		{provider.LLMSettings{BaseURL: "http://127.0.0.1:11434/v1", Model: "llama3"},
			"openai/llama3"},
		{provider.LLMSettings{Provider: "ollama"}, "ollama/llama3.2"},
	}
	for _, c := range cases {
		lm, label, err := provider.NewRegistry(provider.Settings{LLM: c.llm}, nil).
			Language(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if c.want == "" {
			if lm != nil {
				t.Errorf("%+v chose %s, want the offline enhancer", c.llm, label)
			}
			continue
		}
		if lm == nil || len(label) < len(c.want) || label[:len(c.want)] != c.want {
			t.Errorf("%+v chose %q, want %q", c.llm, label, c.want)
		}
	}
}

func TestConfigurationKnowsEveryLanguageModelProvider(t *testing.T) {
	if !reflect.DeepEqual(config.LLMProviders, provider.LLMProviders()) {
		t.Fatalf("LLM_PROVIDER accepts %v, the providers are %v", config.LLMProviders,
			provider.LLMProviders())
	}
}
