package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestAbuseDefaultsFollowTheGuide(t *testing.T) {
	c, err := Load(env(nil), "")
	if err != nil {
		t.Fatal(err)
	}
	a := c.Abuse
	rates := map[string]string{
		"image generation":   a.ImageGeneration.String(),
		"prompt enhancement": a.PromptEnhancement.String(),
		"api calls":          a.APICalls.String(), "login attempts": a.LoginAttempts.String(),
		"login ip": a.LoginIP.String(), "training": a.Training.String(),
		"uploads": a.Uploads.String(), "password reset": a.PasswordReset.String(),
	}
	want := map[string]string{
		"image generation": "20 per minute", "prompt enhancement": "100 per minute",
		"api calls": "1000 per hour", "login attempts": "5 per minute",
		"login ip": "50 per minute", "training": "5 per hour", "uploads": "60 per hour",
		"password reset": "5 per hour",
	}
	for k, v := range want {
		if rates[k] != v {
			t.Errorf("%s = %q, want %q", k, rates[k], v)
		}
	}
	if !a.RateLimitsEnabled || a.RateLimitThreshold != 100 || a.IPBlock != time.Hour ||
		a.FailedLoginThreshold != 5 || a.AccountLockout != 5*time.Minute ||
		!a.ContentFiltering || a.SuspiciousThreshold != 10 || a.AuditRetentionDays != 365 ||
		a.CORSOrigins != nil || a.MetricsAddr != "" || a.MetricsToken != "" {
		t.Errorf("defaults: %+v", a)
	}
}

func TestAbuseValues(t *testing.T) {
	c, err := Load(env(map[string]string{
		"API_RATE_LIMIT_ENABLED": "off", "RATE_LIMIT_API_CALLS": "50/minute",
		"CORS_ALLOWED_ORIGINS": "https://App.Example, http://localhost:3000/",
		"AUDIT_RETENTION_DAYS": "0", "METRICS_TOKEN": "0123456789abcdef",
	}), "")
	if err != nil {
		t.Fatal(err)
	}
	a := c.Abuse
	if a.RateLimitsEnabled || a.APICalls.String() != "50 per minute" ||
		a.AuditRetentionDays != 0 || a.MetricsToken != "0123456789abcdef" ||
		!slices.Equal(a.CORSOrigins, []string{"https://app.example", "http://localhost:3000"}) {
		t.Errorf("parsed: %+v", a)
	}
}

func TestAbuseInvalidValuesAreNamed(t *testing.T) {
	bad := map[string]string{
		"API_RATE_LIMIT_ENABLED":        "perhaps",
		"RATE_LIMIT_IMAGE_GENERATION":   "lots",
		"RATE_LIMIT_LOGIN_ATTEMPTS":     "0 per minute",
		"RATE_LIMIT_THRESHOLD":          "0",
		"IP_BLOCK_SECONDS":              "-5",
		"FAILED_LOGIN_THRESHOLD":        "x",
		"CONTENT_FILTERING_ENABLED":     "2",
		"SUSPICIOUS_ACTIVITY_THRESHOLD": "0",
		"AUDIT_RETENTION_DAYS":          "-1",
		"CORS_ALLOWED_ORIGINS":          "https://ok.example, https://app.example/path",
		"METRICS_TOKEN":                 "short",
	}
	_, err := Load(env(bad), "")
	if err == nil {
		t.Fatal("bad values accepted")
	}
	for name := range bad {
		if !strings.Contains(err.Error(), name+":") {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
}

func FuzzParseOrigin(f *testing.F) {
	for _, s := range []string{"https://a.example", "http://localhost:3000", "*", "null",
		"https://a.example/x", "ftp://a", "https://user@a.example", "https://[::1]:8443"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		origin, err := parseOrigin(s)
		if err != nil {
			return
		}
		scheme, host, ok := strings.Cut(origin, "://")
		if !ok || (scheme != "http" && scheme != "https") || host == "" ||
			strings.ContainsAny(host, "/?#@") {
			t.Fatalf("parseOrigin(%q) = %q, not a bare origin", s, origin)
		}
	})
}
