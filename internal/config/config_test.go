package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDefaults(t *testing.T) {
	c, err := Load(env(nil), "")
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.DataDir != "./data" || c.BcryptCost != 12 ||
		c.SessionLifetime != 24*time.Hour || c.CSRFTimeLimit != time.Hour ||
		c.CookieSecure != "auto" || c.Env != "development" {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestInvalidValuesAreNamed(t *testing.T) {
	_, err := Load(env(map[string]string{"BCRYPT_LOG_ROUNDS": "4", "TRUSTED_PROXIES": "nope",
		"SESSION_COOKIE_SECURE": "maybe"}), "")
	if err == nil {
		t.Fatal("bad values accepted")
	}
	for _, name := range []string{"BCRYPT_LOG_ROUNDS", "TRUSTED_PROXIES", "SESSION_COOKIE_SECURE"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
}

func TestProductionNeedsARealSecret(t *testing.T) {
	for _, secret := range []string{"", "changeme", "your-secret-key-here", "short"} {
		_, err := Load(env(map[string]string{"SKETCHMAKER_ENV": "production",
			"SECRET_KEY": secret}), "")
		if err == nil {
			t.Errorf("production started with SECRET_KEY %q", secret)
		}
	}
	_, err := Load(env(map[string]string{"SKETCHMAKER_ENV": "production",
		"SECRET_KEY": strings.Repeat("k", 40)}), "")
	if err != nil {
		t.Fatalf("a long secret was refused: %v", err)
	}
}

func TestGeneratedSecretIsKeptWithMode0600(t *testing.T) {
	dir := t.TempDir()
	c, _ := Load(env(map[string]string{"SKETCHMAKER_DATA_DIR": dir}), "")
	if err := c.EnsureSecret(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "secret_key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v %v", st, err)
	}
	c2, _ := Load(env(map[string]string{"SKETCHMAKER_DATA_DIR": dir}), "")
	_ = c2.EnsureSecret()
	if c2.SecretKey != c.SecretKey || len(c.SecretKey) < 32 {
		t.Fatal("the generated secret was not kept between starts")
	}
}

func TestDotenvFillsWhatTheEnvironmentLacks(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".env")
	os.WriteFile(path, []byte("SKETCHMAKER_ADDR=0.0.0.0:9000\nLOG_LEVEL=debug\n"), 0o600)
	c, err := Load(env(map[string]string{"LOG_LEVEL": "error"}), path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "0.0.0.0:9000" || c.LogLevel != "error" {
		t.Fatalf("addr %q level %q", c.Addr, c.LogLevel)
	}
}

func TestDescribeHidesSecrets(t *testing.T) {
	e := env(map[string]string{"SECRET_KEY": "supersecretvalue", "DATABASE_URL": "postgres://u:pw@h/db"})
	c, _ := Load(e, "")
	for _, row := range c.Describe(e) {
		if strings.Contains(row[1], "supersecret") || strings.Contains(row[1], "pw@") {
			t.Fatalf("Describe shows a secret: %v", row)
		}
	}
}
