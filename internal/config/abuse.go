package config

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/ratelimit"
)

// Abuse holds the settings of rate limiting, IP blocking, content filtering, the audit log's
// retention, CORS and metrics. Administrators may override the rates and switches at run
// time; these are the defaults they start from.
type Abuse struct {
	// RateLimitsEnabled switches every rate limit.
	RateLimitsEnabled bool

	// The rates of the guide's table, and the looser per-address limit on sign-in forms.
	ImageGeneration   ratelimit.Rate
	PromptEnhancement ratelimit.Rate
	APICalls          ratelimit.Rate
	LoginAttempts     ratelimit.Rate
	LoginIP           ratelimit.Rate
	Training          ratelimit.Rate
	Uploads           ratelimit.Rate
	PasswordReset     ratelimit.Rate

	// RateLimitThreshold is how many refused requests within an hour block an address, and
	// IPBlock for how long.
	RateLimitThreshold int
	IPBlock            time.Duration

	// FailedLoginThreshold wrong passwords lock an account for AccountLockout.
	FailedLoginThreshold int
	AccountLockout       time.Duration

	// ContentFiltering switches prompt moderation; SuspiciousThreshold flagged prompts by
	// one user within an hour raise suspicious_activity.
	ContentFiltering    bool
	SuspiciousThreshold int

	// AuditRetentionDays is how long audit events are kept; 0 keeps them forever.
	AuditRetentionDays int

	// CORSOrigins are the origins allowed to call /api/ and /generate/ from a browser.
	CORSOrigins []string

	// AlertEmails receive critical security alerts, besides the administrators.
	AlertEmails []string

	// MetricsAddr is a separate listen address for /metrics (empty: none); MetricsToken,
	// when set, opens /metrics on the main address to that bearer token.
	MetricsAddr  string
	MetricsToken string
}

// rate returns a setter for one of the rates, written like "20 per minute".
func rate(dst func(*Config) *ratelimit.Rate) func(*Config, string) error {
	return func(c *Config, v string) error {
		r, err := ratelimit.ParseRate(v)
		if err != nil {
			return err
		}
		*dst(c) = r
		return nil
	}
}

// boolean returns a setter for true/false, yes/no or 1/0.
func boolean(dst func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		switch strings.ToLower(v) {
		case "true", "1", "yes", "on":
			*dst(c) = true
		case "false", "0", "no", "off":
			*dst(c) = false
		default:
			return fmt.Errorf("must be true or false, not %q", v)
		}
		return nil
	}
}

// count returns a setter for a whole number from min to max.
func count(dst func(*Config) *int, min, max int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < min || n > max {
			return fmt.Errorf("must be a whole number from %d to %d", min, max)
		}
		*dst(c) = n
		return nil
	}
}

// setCORSOrigins reads a comma-separated list of origins such as https://app.example.
func setCORSOrigins(c *Config, v string) error {
	c.Abuse.CORSOrigins = nil
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		origin, err := parseOrigin(part)
		if err != nil {
			return err
		}
		c.Abuse.CORSOrigins = append(c.Abuse.CORSOrigins, origin)
	}
	return nil
}

// parseOrigin checks that s is an origin: a scheme, a host and perhaps a port, nothing else.
func parseOrigin(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" ||
		u.Fragment != "" {
		return "", fmt.Errorf("%q is not an origin such as https://app.example or "+
			"http://localhost:3000", s)
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}

// setMetricsToken refuses a token short enough to guess.
func setMetricsToken(c *Config, v string) error {
	if v != "" && len(v) < 16 {
		return errors.New("must be at least 16 characters, or empty to close /metrics")
	}
	c.Abuse.MetricsToken = v
	return nil
}

// setAlertEmails reads ALERT_EMAIL: addresses separated by commas.
func setAlertEmails(c *Config, v string) error {
	c.Abuse.AlertEmails = nil
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		addr, err := mail.ParseAddress(part)
		if err != nil || addr.Name != "" || addr.Address != part {
			return fmt.Errorf("%q is not a plain email address", part)
		}
		c.Abuse.AlertEmails = append(c.Abuse.AlertEmails, strings.ToLower(part))
	}
	return nil
}
