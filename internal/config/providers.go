package config

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Providers configure the image and language-model providers. Each base URL an
// administrator sets here is trusted even at a private or loopback address, because it
// names a self-hosted backend on purpose.
type Providers struct {
	FALKey         string
	FALBaseURL     string
	FALResultHosts []string
	FALJWKSURL     string
	FALWebhooks    bool

	OpenAIKey       string
	OpenAIBaseURL   string
	GeminiKey       string
	GeminiBaseURL   string
	A1111URL        string
	ComfyUIURL      string
	ComfyUIWorkflow string // path of the workflow file, API format

	LLMProvider   string
	LLMBaseURL    string
	LLMModel      string
	LLMKey        string
	AnthropicKey  string
	GroqKey       string
	CerebrasKey   string
	XAIKey        string
	OpenRouterKey string

	Concurrency    map[string]int
	Timeout        time.Duration
	MaxResultBytes int64
	CAFile         string
	ModelsFile     string // extra or changed image models, JSON
}

// LLMProviders are the values LLM_PROVIDER accepts besides auto and builtin.
var LLMProviders = []string{"openai", "groq", "cerebras", "xai", "openrouter", "ollama",
	"anthropic", "gemini"}

// imageProviders are the names PROVIDER_CONCURRENCY accepts.
var imageProviders = []string{"fal", "openai", "gemini", "a1111", "comfyui",
	"openai_compatible"}

// text returns a setter that stores v in the string dst points at.
func text(dst func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *dst(c) = v; return nil }
}

// baseURL returns a setter for an optional absolute http or https URL.
func baseURL(dst func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		if v == "" {
			*dst(c) = ""
			return nil
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.RawQuery != "" || u.Fragment != "" {
			return errors.New("must be an absolute http or https URL without a query, " +
				"such as https://api.example.com/v1")
		}
		*dst(c) = strings.TrimRight(v, "/")
		return nil
	}
}

func setFALResultHosts(c *Config, v string) error {
	c.Providers.FALResultHosts = nil
	for _, h := range strings.Split(v, ",") {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" {
			continue
		}
		name := strings.TrimPrefix(h, "*.")
		if strings.ContainsAny(name, "/:*@ ") || !strings.Contains(name, ".") &&
			name != "localhost" && name != "127.0.0.1" {
			return fmt.Errorf("%q is not a host name or *.domain pattern", h)
		}
		c.Providers.FALResultHosts = append(c.Providers.FALResultHosts, h)
	}
	return nil
}

func setFALWebhooks(c *Config, v string) error {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return errors.New("must be true or false")
	}
	if b && !strings.HasPrefix(c.BaseURL, "https://") {
		return errors.New("needs SKETCHMAKER_BASE_URL to be a public https URL that FAL " +
			"can call")
	}
	c.Providers.FALWebhooks = b
	return nil
}

func setLLMProvider(c *Config, v string) error {
	v = strings.ToLower(v)
	switch v {
	case "", "auto":
		c.Providers.LLMProvider = "auto"
		return nil
	case "builtin", "offline", "none":
		c.Providers.LLMProvider = "builtin"
		return nil
	}
	for _, p := range LLMProviders {
		if v == p {
			c.Providers.LLMProvider = v
			return nil
		}
	}
	return fmt.Errorf("must be auto, builtin or one of %s", strings.Join(LLMProviders, ", "))
}

// setConcurrency reads "fal=8,openai=4": requests at once per provider.
func setConcurrency(c *Config, v string) error {
	c.Providers.Concurrency = map[string]int{}
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, num, ok := strings.Cut(part, "=")
		n, err := strconv.Atoi(strings.TrimSpace(num))
		name = strings.TrimSpace(name)
		if !ok || err != nil || n < 1 || n > 256 || !known(imageProviders, name) {
			return fmt.Errorf("%q must be provider=number with a provider among %s and a "+
				"number from 1 to 256", part, strings.Join(imageProviders, ", "))
		}
		c.Providers.Concurrency[name] = n
	}
	return nil
}

func setProviderTimeout(c *Config, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 5 || n > 3600 {
		return errors.New("must be a whole number of seconds from 5 to 3600")
	}
	c.Providers.Timeout = time.Duration(n) * time.Second
	return nil
}

func setMaxResultBytes(c *Config, v string) error {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1<<20 || n > 1<<30 {
		return errors.New("must be a number of bytes from 1048576 to 1073741824")
	}
	c.Providers.MaxResultBytes = n
	return nil
}

func known(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
