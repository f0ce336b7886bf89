package provider

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// LLM providers and their defaults: base URL and a small, fast model. Every one but
// Anthropic and Gemini speaks OpenAI's chat completions API.
var llmDefaults = map[string]struct{ base, model, keyVar string }{
	"openai":     {"https://api.openai.com/v1", "gpt-4o-mini", "OPENAI_API_KEY"},
	"groq":       {"https://api.groq.com/openai/v1", "llama-3.1-8b-instant", "GROQ_API_KEY"},
	"cerebras":   {"https://api.cerebras.ai/v1", "llama3.1-8b", "CEREBRAS_API_KEY"},
	"xai":        {"https://api.x.ai/v1", "grok-3-mini", "XAI_API_KEY"},
	"openrouter": {"https://openrouter.ai/api/v1", "openai/gpt-4o-mini", "OPENROUTER_API_KEY"},
	"ollama":     {"http://127.0.0.1:11434/v1", "llama3.2", ""},
	"anthropic":  {"https://api.anthropic.com", "claude-3-5-haiku-latest", "ANTHROPIC_API_KEY"},
	"gemini":     {DefaultGeminiBase, "gemini-2.0-flash", "GEMINI_API_KEY"},
}

// LLMProviders lists the language-model providers LLM_PROVIDER may name.
func LLMProviders() []string {
	return []string{"openai", "groq", "cerebras", "xai", "openrouter", "ollama", "anthropic",
		"gemini"}
}

// LLMKeyVariable returns the conventional environment variable of a language-model
// provider's key, such as GROQ_API_KEY; empty when it needs none.
func LLMKeyVariable(name string) string { return llmDefaults[name].keyVar }

// maxAnswerTokens bounds an enhanced prompt.
const maxAnswerTokens = 400

// chatProvider speaks OpenAI's chat completions API (OpenAI, Groq, Cerebras, xAI,
// OpenRouter, Ollama and other compatible servers).
type chatProvider struct {
	call  *caller
	base  string
	model string
	label string
}

// Complete sends one system and one user message and returns the answer's text.
func (p *chatProvider) Complete(ctx context.Context, system, user string) (string, error) {
	body := map[string]any{
		"model": p.model,
		"messages": []map[string]string{
			{"role": "system", "content": system}, {"role": "user", "content": user}},
		"max_tokens": maxAnswerTokens, "temperature": 0.7,
	}
	var out struct {
		Choices []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
		} `json:"choices"`
	}
	err := p.call.do(ctx, request{method: http.MethodPost, url: p.base + "/chat/completions",
		body: body, out: &out, retry: true})
	if err != nil {
		return "", userError(p.label, err)
	}
	if len(out.Choices) == 0 || strings.TrimSpace(out.Choices[0].Message.Content) == "" {
		return "", userError(p.label, fmt.Errorf("%w: no answer", ErrMalformed))
	}
	return out.Choices[0].Message.Content, nil
}

// anthropicVersion is the Messages API version SketchMaker is written against.
const anthropicVersion = "2023-06-01"

// anthropicProvider speaks Anthropic's Messages API.
type anthropicProvider struct {
	call  *caller
	base  string
	model string
}

// Complete sends the system prompt and one user message to /v1/messages.
func (p *anthropicProvider) Complete(ctx context.Context, system, user string) (string,
	error) {
	body := map[string]any{
		"model": p.model, "max_tokens": maxAnswerTokens, "system": system,
		"messages": []map[string]string{{"role": "user", "content": user}},
	}
	var out struct {
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
	}
	err := p.call.do(ctx, request{method: http.MethodPost, url: p.base + "/v1/messages",
		body: body, out: &out, retry: true})
	if err != nil {
		return "", userError("Anthropic", err)
	}
	var b strings.Builder
	for _, c := range out.Content {
		if c.Type == "text" {
			b.WriteString(c.Text)
		}
	}
	if strings.TrimSpace(b.String()) == "" {
		return "", userError("Anthropic", fmt.Errorf("%w: no text", ErrMalformed))
	}
	return b.String(), nil
}

// geminiTextProvider asks Gemini's generateContent for text.
type geminiTextProvider struct {
	call  *caller
	base  string
	model string
}

// Complete sends the system instruction and the user's text.
func (p *geminiTextProvider) Complete(ctx context.Context, system, user string) (string,
	error) {
	body := map[string]any{
		"systemInstruction": map[string]any{"parts": []geminiPart{{Text: system}}},
		"contents":          []map[string]any{{"role": "user", "parts": []geminiPart{{Text: user}}}},
		"generationConfig":  map[string]any{"maxOutputTokens": maxAnswerTokens},
	}
	var out geminiAnswer
	err := p.call.do(ctx, request{method: http.MethodPost,
		url: generateURL(p.base, p.model), body: body, out: &out, retry: true})
	if err != nil {
		return "", userError("Gemini", err)
	}
	var b strings.Builder
	for _, c := range out.Candidates {
		for _, part := range c.Content.Parts {
			b.WriteString(part.Text)
		}
	}
	if strings.TrimSpace(b.String()) == "" {
		return "", userError("Gemini", fmt.Errorf("%w: no text", ErrMalformed))
	}
	return b.String(), nil
}
