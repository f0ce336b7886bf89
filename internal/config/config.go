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

	// Abuse holds rate limits, IP blocking, content filtering, audit retention, CORS and
	// metrics.
	Abuse Abuse

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
	{"METRICS_ADDR", "", "separate address serving Prometheus metrics at /metrics, such " +
		"as 127.0.0.1:9090; empty for none", false,
		func(c *Config, v string) error { c.Abuse.MetricsAddr = v; return nil }},
	{"METRICS_TOKEN", "", "bearer token that opens /metrics on the main address; empty " +
		"keeps it closed (404)", true, setMetricsToken},
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
