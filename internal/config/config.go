// Package config reads SketchMaker's configuration once, at start, from the environment and
// an optional .env file, validates it, and hands a plain struct to the rest of the program.
// Nothing else in SketchMaker reads the environment.
package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/joho/godotenv"

	"github.com/sketchmaker/sketchmaker/internal/ratelimit"
)

// Config is the validated configuration of one SketchMaker process.
type Config struct {
	Env     string // "development" or "production"
	Addr    string
	DataDir string
	BaseURL string

	SecretKey   string
	DatabaseURL string
	RedisURL    string

	// CookieSecure is "auto" (secure when the request came over HTTPS), "true" or "false".
	CookieSecure    string
	SessionLifetime time.Duration
	SessionIdle     time.Duration
	CSRFTimeLimit   time.Duration
	BcryptCost      int
	TrustedProxies  []netip.Prefix
	MaxUploadBytes  int64

	EncryptionKey string
	Workers       int
	LogLevel      string
	LogFormat     string
	PprofAddr     string // loopback address serving Go's profiler; empty for none

	// Providers configure the image and language-model providers (providers.go).
	Providers Providers

	// Abuse holds rate limits, IP blocking, content filtering, audit retention, CORS and
	// metrics.
	Abuse Abuse

	// Accounts holds mail delivery and the sign-in and registration rules.
	Accounts Accounts

	// Uploads configure the upload pipeline, malware scanning and training (uploads.go).
	Uploads Uploads

	// Storage says whether files stay in the data directory or go to S3 (storage.go).
	Storage Storage

	// GeneratedSecret is true when SecretKey came from the data directory's key file.
	GeneratedSecret bool
}

// Production reports whether the instance runs with production safeguards.
func (c *Config) Production() bool { return c.Env == "production" }

// SQLitePath returns the path of the embedded database file used when DATABASE_URL is unset.
func (c *Config) SQLitePath() string { return filepath.Join(c.DataDir, "sketchmaker.db") }

// field is one row of the configuration table: its variable, default, help and parser.
type field struct {
	name   string
	def    string
	help   string
	secret bool
	set    func(c *Config, v string) error
}

// fields is the whole configuration table. The README's configuration section mirrors it,
// and `sketchmaker config` prints it with secrets redacted.
var fields = []field{
	{"SKETCHMAKER_ENV", "development", "development or production; production refuses " +
		"to start without SECRET_KEY", false, setEnv},
	{"SKETCHMAKER_ADDR", "127.0.0.1:8080", "address the web server listens on", false,
		func(c *Config, v string) error { c.Addr = v; return nil }},
	{"SKETCHMAKER_DATA_DIR", "./data", "directory for the SQLite database, images and the " +
		"generated secret key", false,
		func(c *Config, v string) error { c.DataDir = v; return nil }},
	{"SKETCHMAKER_BASE_URL", "", "public URL of the site, such as https://studio.example; " +
		"used in links and to decide cookie security", false, setBaseURL},
	{"SECRET_KEY", "", "key for signing tokens; generated into the data directory when " +
		"unset in development", true,
		func(c *Config, v string) error { c.SecretKey = v; return nil }},
	{"DATABASE_URL", "", "postgres://... for PostgreSQL; empty for SQLite in the data " +
		"directory", true, setDatabaseURL},
	{"REDIS_URL", "", "redis://... to share rate limits and IP blocks between instances", true,
		func(c *Config, v string) error { c.RedisURL = v; return nil }},
	{"SESSION_COOKIE_SECURE", "auto", "auto, true or false: whether cookies carry Secure",
		false, setCookieSecure},
	{"PERMANENT_SESSION_LIFETIME", "86400", "absolute session lifetime in seconds", false,
		seconds(func(c *Config) *time.Duration { return &c.SessionLifetime }, 60)},
	{"SESSION_IDLE_TIMEOUT", "7200", "seconds without a request after which a session ends",
		false, seconds(func(c *Config) *time.Duration { return &c.SessionIdle }, 60)},
	{"WTF_CSRF_TIME_LIMIT", "3600", "seconds a CSRF token stays valid", false,
		seconds(func(c *Config) *time.Duration { return &c.CSRFTimeLimit }, 60)},
	{"BCRYPT_LOG_ROUNDS", "12", "bcrypt cost for new password hashes (10 to 16)", false,
		setBcryptCost},
	{"TRUSTED_PROXIES", "", "comma-separated CIDRs of reverse proxies whose " +
		"X-Forwarded-For is believed", false, setTrustedProxies},
	{"MAX_CONTENT_LENGTH", "26214400", "largest request body in bytes", false, setMaxUpload},
	{"API_KEY_ENCRYPTION_KEY", "", "base64 32-byte key that encrypts provider keys at rest",
		true, func(c *Config, v string) error { c.EncryptionKey = v; return nil }},
	{"SKETCHMAKER_WORKERS", "4", "generation jobs run at once by this instance", false,
		setWorkers},
	{"LOG_LEVEL", "info", "debug, info, warn or error", false, setLogLevel},
	{"LOG_FORMAT", "text", "text or json", false, setLogFormat},
	{"SKETCHMAKER_PPROF_ADDR", "", "loopback address, such as 127.0.0.1:6060, serving Go's " +
		"profiler at /debug/pprof/ for benchmarking; empty (the default) serves none", false,
		setPprofAddr},

	// Image and language-model providers (providers.go). An empty key leaves a provider
	// off; the built-in engine and enhancer work with none.
	{"FAL_KEY", "", "FAL API key; turns on the FAL models", true,
		text(func(c *Config) *string { return &c.Providers.FALKey })},
	{"FAL_BASE_URL", "", "FAL queue API base URL; empty for https://queue.fal.run", false,
		baseURL(func(c *Config) *string { return &c.Providers.FALBaseURL })},
	{"FAL_RESULT_HOSTS", "fal.media,*.fal.media,storage.googleapis.com", "hosts FAL " +
		"results are downloaded from (HTTPS only); *.domain allows its subdomains", false,
		setFALResultHosts},
	{"FAL_JWKS_URL", "", "FAL's webhook signing keys; empty for " +
		"https://rest.alpha.fal.ai/.well-known/jwks.json", false,
		baseURL(func(c *Config) *string { return &c.Providers.FALJWKSURL })},
	{"FAL_WEBHOOKS", "false", "true to ask FAL to call POST /webhooks/fal when a request " +
		"ends (needs an https SKETCHMAKER_BASE_URL); polling stays the fallback", false,
		setFALWebhooks},
	{"OPENAI_API_KEY", "", "OpenAI API key for OpenAI Images (and prompt enhancement)", true,
		text(func(c *Config) *string { return &c.Providers.OpenAIKey })},
	{"OPENAI_BASE_URL", "", "OpenAI-compatible server (LocalAI, ...); empty for " +
		"https://api.openai.com/v1", false,
		baseURL(func(c *Config) *string { return &c.Providers.OpenAIBaseURL })},
	{"GEMINI_API_KEY", "", "Google Gemini API key for image output (and enhancement)", true,
		text(func(c *Config) *string { return &c.Providers.GeminiKey })},
	{"GEMINI_BASE_URL", "", "Gemini API base URL; empty for " +
		"https://generativelanguage.googleapis.com/v1beta", false,
		baseURL(func(c *Config) *string { return &c.Providers.GeminiBaseURL })},
	{"A1111_URL", "", "AUTOMATIC1111/Forge server started with --api, such as " +
		"http://127.0.0.1:7860 (user:password@ for --api-auth)", true,
		baseURL(func(c *Config) *string { return &c.Providers.A1111URL })},
	{"COMFYUI_URL", "", "ComfyUI server, such as http://127.0.0.1:8188", false,
		baseURL(func(c *Config) *string { return &c.Providers.ComfyUIURL })},
	{"COMFYUI_WORKFLOW", "", "path of the ComfyUI workflow (API format) with {{prompt}}, " +
		"{{seed}}, {{width}}, {{height}}, ... placeholders", false,
		text(func(c *Config) *string { return &c.Providers.ComfyUIWorkflow })},
	{"LLM_PROVIDER", "auto", "prompt enhancement: auto (the first provider with a key, " +
		"else offline), builtin, openai, groq, cerebras, xai, openrouter, ollama, " +
		"anthropic or gemini", false, setLLMProvider},
	{"LLM_BASE_URL", "", "base URL of an OpenAI-compatible chat API for enhancement", false,
		baseURL(func(c *Config) *string { return &c.Providers.LLMBaseURL })},
	{"LLM_MODEL", "", "language model name; empty for the provider's small default", false,
		text(func(c *Config) *string { return &c.Providers.LLMModel })},
	{"LLM_API_KEY", "", "key for the chosen language model (else its own variable)", true,
		text(func(c *Config) *string { return &c.Providers.LLMKey })},
	{"ANTHROPIC_API_KEY", "", "Anthropic API key for prompt enhancement", true,
		text(func(c *Config) *string { return &c.Providers.AnthropicKey })},
	{"GROQ_API_KEY", "", "Groq API key for prompt enhancement", true,
		text(func(c *Config) *string { return &c.Providers.GroqKey })},
	{"CEREBRAS_API_KEY", "", "Cerebras API key for prompt enhancement", true,
		text(func(c *Config) *string { return &c.Providers.CerebrasKey })},
	{"XAI_API_KEY", "", "xAI API key for prompt enhancement", true,
		text(func(c *Config) *string { return &c.Providers.XAIKey })},
	{"OPENROUTER_API_KEY", "", "OpenRouter API key for prompt enhancement", true,
		text(func(c *Config) *string { return &c.Providers.OpenRouterKey })},
	{"PROVIDER_CONCURRENCY", "fal=8,openai=4,gemini=4,a1111=1,comfyui=1", "requests each " +
		"provider runs at once in this instance", false, setConcurrency},
	{"PROVIDER_TIMEOUT", "300", "seconds one synchronous provider request may take", false,
		setProviderTimeout},
	{"PROVIDER_MAX_RESULT_BYTES", "52428800", "largest result file downloaded from a " +
		"provider", false, setMaxResultBytes},
	{"PROVIDER_CA_FILE", "", "PEM file of extra certificate authorities for self-hosted " +
		"HTTPS backends", false,
		text(func(c *Config) *string { return &c.Providers.CAFile })},
	{"PROVIDER_MODELS_FILE", "", "JSON file of image models to add to the built-in " +
		"catalog or to change in it (same id), in the catalog's format", false,
		text(func(c *Config) *string { return &c.Providers.ModelsFile })},

	// Abuse protection, audit and monitoring.
	{"API_RATE_LIMIT_ENABLED", "true", "true or false: whether the rate limits below apply",
		false, boolean(func(c *Config) *bool { return &c.Abuse.RateLimitsEnabled })},
	{"RATE_LIMIT_IMAGE_GENERATION", "20 per minute", "image generations per user and per " +
		"client address", false, rate(func(c *Config) *ratelimit.Rate {
		return &c.Abuse.ImageGeneration
	})},
	{"RATE_LIMIT_PROMPT_ENHANCEMENT", "100 per minute", "prompt enhancements per user and " +
		"per client address", false, rate(func(c *Config) *ratelimit.Rate {
		return &c.Abuse.PromptEnhancement
	})},
	{"RATE_LIMIT_API_CALLS", "1000 per hour", "calls to /api/ per user and per client " +
		"address", false, rate(func(c *Config) *ratelimit.Rate { return &c.Abuse.APICalls })},
	{"RATE_LIMIT_LOGIN_ATTEMPTS", "5 per minute", "sign-in attempts per account from one " +
		"client address", false, rate(func(c *Config) *ratelimit.Rate {
		return &c.Abuse.LoginAttempts
	})},
	{"RATE_LIMIT_LOGIN_IP", "50 per minute", "sign-in, registration and setup posts per " +
		"client address, whatever the account", false,
		rate(func(c *Config) *ratelimit.Rate { return &c.Abuse.LoginIP })},
	{"RATE_LIMIT_TRAINING", "5 per hour", "training jobs per user and per client address",
		false, rate(func(c *Config) *ratelimit.Rate { return &c.Abuse.Training })},
	{"RATE_LIMIT_UPLOADS", "60 per hour", "upload requests per user and per client " +
		"address; each holds up to 20 images or one archive", false,
		rate(func(c *Config) *ratelimit.Rate { return &c.Abuse.Uploads })},
	{"RATE_LIMIT_PASSWORD_RESET", "5 per hour", "password reset and verification mails " +
		"per account and per client address", false,
		rate(func(c *Config) *ratelimit.Rate { return &c.Abuse.PasswordReset })},
	{"RATE_LIMIT_THRESHOLD", "100", "refused requests within an hour after which a " +
		"client address is blocked", false,
		count(func(c *Config) *int { return &c.Abuse.RateLimitThreshold }, 1, 1_000_000)},
	{"IP_BLOCK_SECONDS", "3600", "how long a blocked client address stays blocked", false,
		seconds(func(c *Config) *time.Duration { return &c.Abuse.IPBlock }, 1)},
	{"FAILED_LOGIN_THRESHOLD", "5", "wrong passwords in a row that lock an account", false,
		count(func(c *Config) *int { return &c.Abuse.FailedLoginThreshold }, 1, 1000)},
	{"ACCOUNT_LOCKOUT_SECONDS", "300", "how long a locked account stays locked", false,
		seconds(func(c *Config) *time.Duration { return &c.Abuse.AccountLockout }, 1)},
	{"CONTENT_FILTERING_ENABLED", "true", "true or false: whether prompts are checked " +
		"against the content policy's term list", false,
		boolean(func(c *Config) *bool { return &c.Abuse.ContentFiltering })},
	{"SUSPICIOUS_ACTIVITY_THRESHOLD", "10", "refused prompts by one user within an hour " +
		"that raise a suspicious_activity alert", false,
		count(func(c *Config) *int { return &c.Abuse.SuspiciousThreshold }, 1, 100_000)},
	{"AUDIT_RETENTION_DAYS", "365", "days audit events are kept; 0 keeps them forever",
		false, count(func(c *Config) *int { return &c.Abuse.AuditRetentionDays }, 0, 36500)},
	{"CORS_ALLOWED_ORIGINS", "", "comma-separated origins allowed to call /api/ and " +
		"/generate/ from a browser; empty allows none", false, setCORSOrigins},
	{"ALERT_EMAIL", "", "comma-separated addresses that receive critical security alerts, " +
		"besides every administrator", false, setAlertEmails},
	{"METRICS_ADDR", "", "separate address serving Prometheus metrics at /metrics, such " +
		"as 127.0.0.1:9090; empty for none", false,
		func(c *Config, v string) error { c.Abuse.MetricsAddr = v; return nil }},
	{"METRICS_TOKEN", "", "bearer token that opens /metrics on the main address; empty " +
		"keeps it closed (404)", true, setMetricsToken},

	// Accounts: mail, verification, approval, two-factor and sign-in methods.
	{"SMTP_HOST", "", "SMTP server for outgoing mail; empty keeps every message in the " +
		"outbox that the superadmin reads at /admin/outbox", false,
		func(c *Config, v string) error { c.Accounts.SMTPHost = v; return nil }},
	{"SMTP_PORT", "587", "SMTP port (587 for STARTTLS, 465 for implicit TLS)", false,
		setSMTPPort},
	{"SMTP_USERNAME", "", "SMTP user name; empty sends without authentication", false,
		func(c *Config, v string) error { c.Accounts.SMTPUsername = v; return nil }},
	{"SMTP_PASSWORD", "", "SMTP password", true,
		func(c *Config, v string) error { c.Accounts.SMTPPassword = v; return nil }},
	{"SMTP_FROM", "", "sender, such as SketchMaker <studio@example.com>; empty uses " +
		"no-reply@ and the site's host", false, setSMTPFrom},
	{"SMTP_TLS", "starttls", "starttls (required, never skipped), tls (implicit, port 465) " +
		"or none (only for a relay on this host)", false, setSMTPTLS},
	{"REQUIRE_EMAIL_VERIFICATION", "false", "true: new accounts confirm their address by " +
		"a link before they can generate", false,
		boolean(func(c *Config) *bool { return &c.Accounts.RequireVerification })},
	{"REQUIRE_APPROVAL", "false", "true: new accounts wait for an administrator's approval",
		false, boolean(func(c *Config) *bool { return &c.Accounts.RequireApproval })},
	{"REQUIRE_ADMIN_2FA", "false", "true: admins and superadmins must turn on two-factor " +
		"sign-in before they can use the admin pages", false,
		boolean(func(c *Config) *bool { return &c.Accounts.RequireAdmin2FA })},
	{"REGULAR_AUTH_ENABLED", "true", "true or false: sign-in and registration with a " +
		"password (stays on while no provider is configured)", false,
		boolean(func(c *Config) *bool { return &c.Accounts.RegularAuth })},
	{"GOOGLE_AUTH_ENABLED", "false", "true or false: sign-in with Google (or the OpenID " +
		"Connect provider at GOOGLE_ISSUER_URL)", false,
		boolean(func(c *Config) *bool { return &c.Accounts.GoogleAuth })},
	{"GOOGLE_CLIENT_ID", "", "OAuth client id for Google sign-in", false,
		func(c *Config, v string) error { c.Accounts.GoogleClientID = v; return nil }},
	{"GOOGLE_CLIENT_SECRET", "", "OAuth client secret for Google sign-in", true,
		func(c *Config, v string) error { c.Accounts.GoogleClientSecret = v; return nil }},
	{"GOOGLE_ISSUER_URL", "https://accounts.google.com", "OpenID Connect issuer of the " +
		"Google button; another issuer makes it any provider", false, setGoogleIssuer},

	// Uploads, malware scanning and style training (uploads.go). MAX_CONTENT_LENGTH above
	// bounds each uploaded file and each upload request.
	{"UPLOAD_MAX_SIDE", "8192", "widest or tallest uploaded image accepted, in pixels; " +
		"checked from the header before decoding", false, setUploadMaxSide},
	{"UPLOAD_MAX_PIXELS", "40000000", "most pixels an uploaded image may have (width " +
		"times height)", false,
		positive(func(c *Config) *int64 { return &c.Uploads.MaxPixels }, 4096, 1<<30)},
	{"CLAMAV_ADDRESS", "", "host:port of a clamd daemon that scans every upload " +
		"(INSTREAM over TCP); empty: no scan", false, setClamAVAddress},
	{"CLAMAV_FAIL_OPEN", "false", "true: accept uploads unscanned while clamd cannot be " +
		"reached; false refuses them with 503", false,
		boolean(func(c *Config) *bool { return &c.Uploads.ClamAVFailOpen })},
	{"CLAMAV_TIMEOUT", "30", "seconds one malware scan may take", false,
		seconds(func(c *Config) *time.Duration { return &c.Uploads.ClamAVTimeout }, 1)},
	{"TRAINING_BACKEND", "builtin", "builtin (offline style profiles applied by the " +
		"built-in engine) or fal (LoRA training with FAL flux-lora-fast-training; needs " +
		"FAL_KEY)", false, setTrainingBackend},

	// File storage (storage.go): the data directory unless S3_ENDPOINT is set.
	{"S3_ENDPOINT", "", "S3-compatible object store for images and uploads, scheme and " +
		"host only, such as https://s3.eu-west-1.amazonaws.com or http://127.0.0.1:9000; " +
		"empty keeps files in the data directory", false, setS3Endpoint},
	{"S3_BUCKET", "", "bucket that holds the files; required with S3_ENDPOINT, and it " +
		"must exist", false, setS3Bucket},
	{"S3_REGION", "us-east-1", "region of the bucket", false, setS3Region},
	{"S3_ACCESS_KEY_ID", "", "access key id for the object store; required with " +
		"S3_ENDPOINT", false, text(func(c *Config) *string { return &c.Storage.AccessKeyID })},
	{"S3_SECRET_ACCESS_KEY", "", "secret access key for the object store; required with " +
		"S3_ENDPOINT", true, text(func(c *Config) *string { return &c.Storage.SecretAccessKey })},
	{"S3_PREFIX", "", "folder inside the bucket for every key, such as sketchmaker; empty " +
		"for the bucket's root", false, setS3Prefix},
	{"S3_PATH_STYLE", "auto", "auto, true (bucket in the path, as MinIO and most " +
		"self-hosted stores want) or false (bucket in the host name)", false, setS3PathStyle},
}

// sampleSecrets are values that appear in examples and must never protect a production site.
var sampleSecrets = map[string]bool{
	"":                                  true,
	"changeme":                          true,
	"change-me":                         true,
	"secret":                            true,
	"your-secret-key":                   true,
	"your-secret-key-here":              true,
	"dev-secret-key":                    true,
	"development-key":                   true,
	"your-secret-key-change-this":       true,
	"your-super-secret-key-change-this": true,
}

// Load reads the configuration. lookup returns a variable of the process environment;
// dotenv, when not empty, names a .env file whose values apply where the environment has none.
func Load(lookup func(string) (string, bool), dotenv string) (*Config, error) {
	fileVals, err := readDotenv(dotenv)
	if err != nil {
		return nil, err
	}

	c := &Config{}
	var problems []string
	for _, f := range fields {
		v, ok := lookup(f.name)
		if !ok {
			v, ok = fileVals[f.name]
		}
		if !ok {
			v = f.def
		}
		if err := f.set(c, strings.TrimSpace(v)); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", f.name, err))
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("invalid configuration:\n  %s", strings.Join(problems, "\n  "))
	}

	if err := c.checkSecret(); err != nil {
		return nil, err
	}
	if err := c.checkStorage(); err != nil {
		return nil, err
	}
	return c, nil
}

// readDotenv returns the variables of an optional .env file.
func readDotenv(path string) (map[string]string, error) {
	if path == "" {
		return nil, nil
	}
	vals, err := godotenv.Read(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return vals, nil
}

// checkSecret applies the production rules for SECRET_KEY.
func (c *Config) checkSecret() error {
	if !c.Production() {
		return nil
	}
	if sampleSecrets[strings.ToLower(c.SecretKey)] {
		return errors.New("SECRET_KEY must be set to a long random value in production " +
			"(it is empty or a known sample value); generate one with " +
			"`openssl rand -hex 32`")
	}
	if len(c.SecretKey) < 32 {
		return errors.New("SECRET_KEY must be at least 32 characters in production")
	}
	return nil
}

// EnsureSecret fills SecretKey, when it is empty, from the key file in the data directory,
// creating the file with mode 0600 on first use. It is only allowed outside production.
func (c *Config) EnsureSecret() error {
	if c.SecretKey != "" {
		return nil
	}
	if c.Production() {
		return errors.New("SECRET_KEY is required in production")
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}

	path := filepath.Join(c.DataDir, "secret_key")
	data, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(data))) >= 32 {
		c.SecretKey = strings.TrimSpace(string(data))
		c.GeneratedSecret = true
		return nil
	}

	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return fmt.Errorf("generate secret key: %w", err)
	}
	key := hex.EncodeToString(buf)
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return fmt.Errorf("write secret key: %w", err)
	}
	c.SecretKey = key
	c.GeneratedSecret = true
	return nil
}

// Describe returns each variable with its effective value, secrets redacted, for printing.
func (c *Config) Describe(lookup func(string) (string, bool)) [][3]string {
	rows := make([][3]string, 0, len(fields))
	for _, f := range fields {
		v, ok := lookup(f.name)
		if !ok {
			v = f.def
		}
		if f.secret && v != "" {
			v = "(set, hidden)"
		}
		rows = append(rows, [3]string{f.name, v, f.help})
	}
	return rows
}

// Table returns the configuration table as Markdown rows: name, default and help.
func Table() string {
	var b strings.Builder
	b.WriteString("| variable | default | meaning |\n| --- | --- | --- |\n")
	for _, f := range fields {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", f.name, quoteDefault(f.def), f.help)
	}
	return b.String()
}

func quoteDefault(v string) string {
	if v == "" {
		return "(empty)"
	}
	return "`" + v + "`"
}

func setEnv(c *Config, v string) error {
	switch v {
	case "development", "production":
		c.Env = v
		return nil
	}
	return fmt.Errorf("must be development or production, not %q", v)
}

func setBaseURL(c *Config, v string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("must be an absolute http or https URL such as https://studio.example")
	}
	c.BaseURL = strings.TrimRight(v, "/")
	return nil
}

func setDatabaseURL(c *Config, v string) error {
	if v == "" {
		return nil
	}
	if !strings.HasPrefix(v, "postgres://") && !strings.HasPrefix(v, "postgresql://") &&
		!strings.HasPrefix(v, "sqlite:") {
		return errors.New("must start with postgres://, postgresql:// or sqlite (then a file path)")
	}
	c.DatabaseURL = v
	return nil
}

func setCookieSecure(c *Config, v string) error {
	switch strings.ToLower(v) {
	case "auto", "":
		c.CookieSecure = "auto"
	case "true", "1", "yes":
		c.CookieSecure = "true"
	case "false", "0", "no":
		c.CookieSecure = "false"
	default:
		return fmt.Errorf("must be auto, true or false, not %q", v)
	}
	return nil
}

// seconds returns a setter for a duration given in whole seconds, at least min.
func seconds(dst func(*Config) *time.Duration, min int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < min {
			return fmt.Errorf("must be a whole number of seconds, at least %d", min)
		}
		*dst(c) = time.Duration(n) * time.Second
		return nil
	}
}

func setBcryptCost(c *Config, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 10 || n > 16 {
		return errors.New("must be a whole number from 10 to 16")
	}
	c.BcryptCost = n
	return nil
}

func setTrustedProxies(c *Config, v string) error {
	c.TrustedProxies = nil
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			addr, aerr := netip.ParseAddr(part)
			if aerr != nil {
				return fmt.Errorf("%q is not an IP address or CIDR", part)
			}
			p = netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen())
		}
		c.TrustedProxies = append(c.TrustedProxies, p.Masked())
	}
	return nil
}

func setMaxUpload(c *Config, v string) error {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1<<20 || n > 1<<30 {
		return errors.New("must be a number of bytes from 1048576 to 1073741824")
	}
	c.MaxUploadBytes = n
	return nil
}

func setWorkers(c *Config, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 256 {
		return errors.New("must be a whole number from 1 to 256")
	}
	c.Workers = n
	return nil
}

// setPprofAddr accepts only a loopback address: the profiler shows memory contents
// and must never be reachable from another machine.
func setPprofAddr(c *Config, v string) error {
	if v == "" {
		c.PprofAddr = ""
		return nil
	}
	ap, err := netip.ParseAddrPort(v)
	if err != nil || !ap.Addr().IsLoopback() {
		return errors.New("must be a loopback address and port, such as 127.0.0.1:6060")
	}
	c.PprofAddr = v
	return nil
}

func setLogLevel(c *Config, v string) error {
	switch strings.ToLower(v) {
	case "debug", "info", "warn", "error":
		c.LogLevel = strings.ToLower(v)
		return nil
	}
	return fmt.Errorf("must be debug, info, warn or error, not %q", v)
}

func setLogFormat(c *Config, v string) error {
	switch strings.ToLower(v) {
	case "text", "json":
		c.LogFormat = strings.ToLower(v)
		return nil
	}
	return fmt.Errorf("must be text or json, not %q", v)
}
