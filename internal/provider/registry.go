package provider

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/outbound"
)

// Backend is how SketchMaker reaches one provider: its key and, for self-hosted or
// compatible servers, its base URL.
type Backend struct {
	Key     string
	BaseURL string // empty: the provider's public API
}

// LLMSettings choose the language model used for prompt enhancement.
type LLMSettings struct {
	// Provider is one of LLMProviders, "builtin" for the offline enhancer, or "auto":
	// the first provider with a key (or LLM_BASE_URL), else the offline enhancer.
	Provider string
	BaseURL  string
	Model    string
	Key      string
	// Keys holds the conventional key of each provider (GROQ_API_KEY, ...), by name.
	Keys map[string]string
}

// Settings configure every provider. The command line fills them from the configuration;
// tests fill them directly.
type Settings struct {
	Backends       map[string]Backend // by provider name
	ComfyWorkflow  []byte             // the uploaded workflow, API format
	FALResultHosts []string           // hosts FAL results may come from
	FALWebhookURL  string             // public URL of POST /webhooks/fal; empty: polling only
	FALJWKSURL     string             // FAL's published webhook keys
	LLM            LLMSettings
	Concurrency    map[string]int // requests at once per provider, in this process
	Timeout        time.Duration  // one synchronous generation request
	MaxBytes       int64          // largest downloaded result
	PollInterval   time.Duration  // between status requests

	RootCAs  *x509.CertPool    // extra trust for self-hosted backends; nil: the system's
	Resolver outbound.Resolver // nil: the system resolver
	Sleep    func(ctx context.Context, d time.Duration) error
	Now      func() time.Time
}

// Overrides supplies provider settings saved in the admin panel, which take precedence
// over the environment. The admin side implements it over its encrypted provider table.
type Overrides interface {
	// Backend returns the saved settings of provider name, and whether any are saved.
	Backend(ctx context.Context, name string) (Backend, bool, error)
}

// Registry builds the configured providers and limits how many requests each runs at once.
type Registry struct {
	s         Settings
	overrides Overrides

	mu      sync.Mutex
	clients map[string]*http.Client
	slots   map[string]chan struct{}

	webhooks *Webhooks
}

// defaultConcurrency is how many requests each provider runs at once unless configured.
var defaultConcurrency = map[string]int{FAL: 8, OpenAI: 4, Gemini: 4, A1111: 1, ComfyUI: 1,
	OpenAICompatible: 2}

// NewRegistry returns a registry over s. overrides may be nil.
func NewRegistry(s Settings, overrides Overrides) *Registry {
	if s.Timeout <= 0 {
		s.Timeout = 5 * time.Minute
	}
	if s.PollInterval <= 0 {
		s.PollInterval = time.Second
	}
	if s.Sleep == nil {
		s.Sleep = sleepCtx
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if len(s.FALResultHosts) == 0 {
		s.FALResultHosts = DefaultFALResultHosts
	}
	r := &Registry{s: s, overrides: overrides, clients: map[string]*http.Client{},
		slots: map[string]chan struct{}{}}
	_, policy, err := r.endpointOr("FAL webhook keys", s.FALJWKSURL, DefaultFALJWKSURL,
		15*time.Second)
	if err != nil {
		policy = outbound.Policy{RootCAs: s.RootCAs, Resolver: s.Resolver,
			Timeout: 15 * time.Second}
	}
	r.webhooks = NewWebhooks(s.FALJWKSURL, r.client(policy), s.Now)
	return r
}

// SetOverrides plugs in the admin panel's provider settings.
func (r *Registry) SetOverrides(o Overrides) { r.overrides = o }

// Webhooks returns the verifier of FAL's webhooks.
func (r *Registry) Webhooks() *Webhooks { return r.webhooks }

// WebhooksEnabled reports whether FAL requests ask for a webhook.
func (r *Registry) WebhooksEnabled() bool { return r.s.FALWebhookURL != "" }

// defaultBase is each provider's public API; self-hosted ones have none.
var defaultBase = map[string]string{FAL: DefaultFALBase, OpenAI: DefaultOpenAIBase,
	Gemini: DefaultGeminiBase}

// ErrUnread is in the chain of every error about provider settings saved in the admin
// panel that could not be read, such as from a database that refused the connection or
// did not answer in time. Whether the provider is configured is then not known, and
// reading again later may well succeed.
var ErrUnread = errors.New("read provider settings")

// unread wraps the failed read of provider name's saved settings.
func unread(name string, err error) error {
	return fmt.Errorf("%w of %s: %w", ErrUnread, name, err)
}

// backend returns the settings of provider name: the admin panel's when saved, the
// environment's otherwise. A failed read of the saved settings is an error with ErrUnread
// in its chain.
func (r *Registry) backend(ctx context.Context, name string) (Backend, error) {
	b := r.s.Backends[name]
	if r.overrides == nil {
		return b, nil
	}
	o, ok, err := r.overrides.Backend(ctx, name)
	if err != nil {
		return b, unread(name, err)
	}
	if ok {
		if o.Key != "" {
			b.Key = o.Key
		}
		if o.BaseURL != "" {
			b.BaseURL = o.BaseURL
		}
	}
	return b, nil
}

// Check reports whether provider name can run as configured now. It answers false with
// no error only when the settings were read and do not make the provider usable; when the
// admin panel's saved settings could not be read, the error has ErrUnread in its chain
// and whether the provider can run is not known.
func (r *Registry) Check(ctx context.Context, name string) (bool, error) {
	b, err := r.backend(ctx, name)
	if err != nil {
		return false, err
	}
	return r.usable(name, b), nil
}

// usable reports whether b lets provider name run: hosted providers need a key (an
// OpenAI-compatible server may do with a base URL alone); self-hosted ones a base URL,
// and ComfyUI a workflow too.
func (r *Registry) usable(name string, b Backend) bool {
	switch name {
	case FAL, Gemini:
		return b.Key != ""
	case OpenAI:
		return b.Key != "" || b.BaseURL != ""
	case A1111, OpenAICompatible:
		return b.BaseURL != ""
	case ComfyUI:
		return b.BaseURL != "" && len(r.s.ComfyWorkflow) > 0
	}
	return false
}

// errNotConfigured answers a model whose provider is not set up.
var errNotConfigured = fault.New(fault.Unavailable, "This model's provider is not "+
	"configured on this server any more. Choose another model.")

// Image returns the image provider name as configured now. When the admin panel's saved
// settings could not be read, the error has ErrUnread in its chain rather than saying
// the provider is not configured.
func (r *Registry) Image(ctx context.Context, name string) (Image, error) {
	b, err := r.backend(ctx, name)
	if err != nil {
		return nil, err
	}
	if !r.usable(name, b) {
		return nil, errNotConfigured
	}
	base, policy, err := r.endpoint(name, b.BaseURL, r.s.Timeout)
	if err != nil {
		return nil, err
	}
	short := policy
	short.Timeout = min(time.Minute, r.s.Timeout)
	c := &caller{sleep: r.s.Sleep, header: http.Header{}}

	switch name {
	case FAL:
		c.name, c.client = "FAL", r.client(short)
		c.header.Set("Authorization", "Key "+b.Key)
		return &falProvider{call: c, base: base, poll: r.s.PollInterval,
			slowPoll: max(r.s.PollInterval, 10*time.Second), webhook: r.s.FALWebhookURL,
			fetcher: r.fetcher(policy, r.s.FALResultHosts), now: r.s.Now}, nil
	case OpenAI, OpenAICompatible:
		c.name, c.client = "OpenAI", r.client(policy)
		if name == OpenAICompatible {
			c.name = "The OpenAI-compatible server"
		}
		if b.Key != "" {
			c.header.Set("Authorization", "Bearer "+b.Key)
		}
		return &openaiProvider{call: c, base: trimBase(base), fetcher: r.fetcher(policy, nil),
			now: r.s.Now}, nil
	case Gemini:
		c.name, c.client = "Gemini", r.client(policy)
		c.header.Set("x-goog-api-key", b.Key)
		return &geminiProvider{call: c, base: trimBase(base), now: r.s.Now}, nil
	case A1111:
		c.name, c.client = "AUTOMATIC1111", r.client(policy)
		setBasicAuth(c.header, base)
		return &a1111Provider{call: c, base: trimBase(base), poll: r.s.PollInterval}, nil
	case ComfyUI:
		wf, err := ParseWorkflow(r.s.ComfyWorkflow)
		if err != nil {
			return nil, fault.Wrap(fault.Unavailable, "The ComfyUI workflow on this server "+
				"is not usable. An administrator needs to upload it again.", err)
		}
		c.name, c.client = "ComfyUI", r.client(short)
		setBasicAuth(c.header, base)
		return &comfyProvider{call: c, base: trimBase(base), workflow: wf,
			fetcher: r.fetcher(policy, nil), poll: r.s.PollInterval, now: r.s.Now}, nil
	}
	return nil, errNotConfigured
}

// endpoint parses a provider's base URL (its default when empty) and returns the outbound
// policy for it: an explicitly configured base URL is trusted, so a self-hosted backend
// may sit at a private or loopback address; a default one is not.
func (r *Registry) endpoint(name, raw string, timeout time.Duration) (*url.URL,
	outbound.Policy, error) {
	return r.endpointOr(name, raw, defaultBase[name], timeout)
}

// endpointOr is endpoint with the default base URL given.
func (r *Registry) endpointOr(name, raw, def string, timeout time.Duration) (*url.URL,
	outbound.Policy, error) {
	policy := outbound.Policy{RootCAs: r.s.RootCAs, Resolver: r.s.Resolver, Timeout: timeout}
	explicit := raw != ""
	if !explicit {
		raw = def
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, policy, fault.Wrap(fault.Unavailable, "The base URL configured for "+
			name+" is not a valid http or https URL.", fmt.Errorf("parse %s base URL", name))
	}
	if explicit {
		policy.Trusted = []string{outbound.HostPort(u)}
	}
	return u, policy, nil
}

// client returns a cached HTTP client for policy, so connections are reused.
func (r *Registry) client(p outbound.Policy) *http.Client {
	key := fmt.Sprint(p.Trusted, p.Timeout)
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.clients[key]; ok {
		return c
	}
	c := outbound.Client(p)
	r.clients[key] = c
	return c
}

func (r *Registry) fetcher(p outbound.Policy, hosts []string) *outbound.Fetcher {
	return outbound.NewFetcher(p, hosts, r.s.MaxBytes)
}

func trimBase(u *url.URL) string {
	c := *u
	c.User = nil
	return strings.TrimRight(c.String(), "/")
}

// setBasicAuth sends the user and password of a base URL such as
// http://user:pass@host:7860 as basic authentication (A1111's --api-auth).
func setBasicAuth(h http.Header, u *url.URL) {
	if u.User == nil {
		return
	}
	pw, _ := u.User.Password()
	req := &http.Request{Header: http.Header{}}
	req.SetBasicAuth(u.User.Username(), pw)
	h.Set("Authorization", req.Header.Get("Authorization"))
}

// Acquire waits for one of provider name's request slots. wait, when not nil, is called
// every few seconds while waiting (to keep a job's lease). The returned function frees
// the slot.
func (r *Registry) Acquire(ctx context.Context, name string, wait func()) (func(), error) {
	slot := r.slot(name)
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case slot <- struct{}{}:
			return func() { <-slot }, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
			if wait != nil {
				wait()
			}
		}
	}
}

func (r *Registry) slot(name string) chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.slots[name]; ok {
		return s
	}
	n := r.s.Concurrency[name]
	if n <= 0 {
		n = max(defaultConcurrency[name], 1)
	}
	s := make(chan struct{}, n)
	r.slots[name] = s
	return s
}

// Language returns the configured language model and a label naming it, or nil when
// prompt enhancement runs offline. Keys and base URLs saved in the admin panel for a
// language-model provider take precedence over the environment's.
func (r *Registry) Language(ctx context.Context) (Language, string, error) {
	l := r.s.LLM
	keys, bases := map[string]string{}, map[string]string{}
	for name, k := range l.Keys {
		keys[name] = k
	}
	if r.overrides != nil {
		for _, name := range LLMProviders() {
			o, ok, err := r.overrides.Backend(ctx, name)
			if err != nil {
				return nil, "", unread(name, err)
			}
			if ok {
				keys[name] = firstOf(o.Key, keys[name])
				bases[name] = o.BaseURL
			}
		}
	}
	l.Keys = keys
	name := resolveLLM(l)
	if name == "" {
		return nil, "", nil
	}

	d := llmDefaults[name]
	key := firstOf(l.Key, keys[name])
	base, policy, err := r.endpointOr(name, firstOf(l.BaseURL, bases[name]), d.base,
		time.Minute)
	if err != nil {
		return nil, "", err
	}
	if name == "ollama" {
		// Ollama runs beside SketchMaker; choosing it is the administrator's say-so.
		policy.Trusted = []string{outbound.HostPort(base)}
	}
	model := firstOf(l.Model, d.model)
	c := &caller{name: name, client: r.client(policy), sleep: r.s.Sleep, header: http.Header{}}
	return r.language(name, key, trimBase(base), model, c), name + "/" + model, nil
}

// language builds the adapter of a resolved language-model provider.
func (r *Registry) language(name, key, base, model string, c *caller) Language {
	switch name {
	case "anthropic":
		c.name = "Anthropic"
		c.header.Set("x-api-key", key)
		c.header.Set("anthropic-version", anthropicVersion)
		return &anthropicProvider{call: c, base: base, model: model}
	case "gemini":
		c.name = "Gemini"
		c.header.Set("x-goog-api-key", key)
		return &geminiTextProvider{call: c, base: base, model: model}
	}
	if key != "" {
		c.header.Set("Authorization", "Bearer "+key)
	}
	label := map[string]string{"openai": "OpenAI", "groq": "Groq", "cerebras": "Cerebras",
		"xai": "xAI", "openrouter": "OpenRouter", "ollama": "Ollama"}[name]
	c.name = label
	return &chatProvider{call: c, base: base, model: model, label: label}
}

// resolveLLM picks the language-model provider: the one named, or under "auto" the first
// with a key (an LLM_BASE_URL alone means an OpenAI-compatible server); "" for offline.
func resolveLLM(l LLMSettings) string {
	switch l.Provider {
	case "builtin", "offline", "none":
		return ""
	case "", "auto":
	default:
		return l.Provider
	}
	if l.BaseURL != "" {
		return "openai"
	}
	for _, name := range []string{"anthropic", "openai", "gemini", "groq", "cerebras", "xai",
		"openrouter"} {
		if l.Keys[name] != "" || (l.Key != "" && name == "openai") {
			return name
		}
	}
	return ""
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// Test checks that provider name answers and accepts its key with a cheap request, for
// the admin panel's "Test connection". The error has a safe face.
func (r *Registry) Test(ctx context.Context, name string) (string, error) {
	b, err := r.backend(ctx, name)
	if err != nil {
		return "", err
	}
	return r.TestBackend(ctx, name, b)
}

// TestBackend checks provider name (an image or language-model provider) with the
// settings b, such as those an administrator just saved, and returns a sentence for the
// administrator. The error has a safe face.
func (r *Registry) TestBackend(ctx context.Context, name string, b Backend) (string, error) {
	def := defaultBase[name]
	if d, ok := llmDefaults[name]; ok && def == "" {
		def = d.base
	}
	if def == "" && b.BaseURL == "" {
		return "", fault.New(fault.Invalid, "Set the server's base URL first.")
	}
	base, policy, err := r.endpointOr(name, b.BaseURL, def, 20*time.Second)
	if err != nil {
		return "", err
	}
	if name == "ollama" {
		policy.Trusted = []string{outbound.HostPort(base)}
	}
	c := &caller{name: name, client: r.client(policy), sleep: r.s.Sleep, header: http.Header{}}
	probe := probeOf(name, trimBase(base), b.Key, base, c.header)
	if probe == "" {
		return "", fault.New(fault.Invalid, "There is no connection test for "+name+".")
	}

	err = c.do(ctx, request{method: http.MethodGet, url: probe, maxBody: 8 << 20})
	var se *StatusError
	if name == FAL && errors.As(err, &se) && se.Status == http.StatusNotFound {
		err = nil // an unknown request id with a good key
	}
	if err != nil {
		return "", userError(name, err)
	}
	return "The provider answered and accepted the settings.", nil
}

// probeOf returns a cheap authenticated URL of provider name and sets its headers.
func probeOf(name, u, key string, base *url.URL, h http.Header) string {
	switch name {
	case FAL:
		// A status request for a request id that does not exist: 404 with a good key,
		// 401 or 403 with a bad one.
		h.Set("Authorization", "Key "+key)
		return u + "/fal-ai/flux/requests/00000000-0000-0000-0000-000000000000/status"
	case Gemini, "gemini_text":
		h.Set("x-goog-api-key", key)
		return u + "/models"
	case A1111:
		setBasicAuth(h, base)
		return u + "/sdapi/v1/progress"
	case ComfyUI:
		setBasicAuth(h, base)
		return u + "/system_stats"
	case "anthropic":
		h.Set("x-api-key", key)
		h.Set("anthropic-version", anthropicVersion)
		return u + "/v1/models"
	case OpenAI, OpenAICompatible, "groq", "cerebras", "xai", "openrouter", "ollama":
		if key != "" {
			h.Set("Authorization", "Bearer "+key)
		}
		return u + "/models"
	}
	return ""
}

// Fingerprint returns a short digest of a key, for logs that must tell keys apart
// without showing them.
func Fingerprint(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:4])
}
