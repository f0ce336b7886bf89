package cli

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/account"
	"github.com/sketchmaker/sketchmaker/internal/config"
	"github.com/sketchmaker/sketchmaker/internal/mail"
	"github.com/sketchmaker/sketchmaker/internal/secret"
	"github.com/sketchmaker/sketchmaker/internal/signin"
)

// keysEnv is the environment of one instance with the given encryption key.
func keysEnv(dir, key string) func(string) (string, bool) {
	env := map[string]string{
		"SKETCHMAKER_DATA_DIR": dir, "BCRYPT_LOG_ROUNDS": "10", "LOG_LEVEL": "error",
		"SECRET_KEY": "test-secret-key-0123456789abcdef0123456789abcdef",
	}
	if key != "" {
		env["API_KEY_ENCRYPTION_KEY"] = key
	}
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

func buildWith(t *testing.T, dir, key string) (*App, error) {
	t.Helper()
	cfg, err := config.Load(keysEnv(dir, key), "")
	if err != nil {
		t.Fatal(err)
	}
	return Build(context.Background(), cfg, slog.New(slog.DiscardHandler), io.Discard)
}

// TestWrongEncryptionKeyAndRotation saves a provider key, restarts with the wrong key (a
// clear error), rotates to a new key with `keys rotate`, and reads the key back with the
// new key alone.
func TestWrongEncryptionKeyAndRotation(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	oldKey, newKey := secret.GenerateKey(), secret.GenerateKey()
	oldRing, _ := secret.ParseKeyRing(oldKey)

	app, err := buildWith(t, dir, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Admin.Vault.SetKey(ctx, "fal", "fal-secret-0123456789", 1); err != nil {
		t.Fatal(err)
	}
	sealOthers(t, app, oldRing)
	app.Close()

	// The wrong key stops the start with a sentence that names the key id.
	want := "API_KEY_ENCRYPTION_KEY cannot decrypt the stored provider keys (key id " +
		oldRing.PrimaryID()
	if _, err := buildWith(t, dir, newKey); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("start with the wrong key: %v", err)
	}
	var stderr bytes.Buffer
	code := Run([]string{"migrate"}, nil, io.Discard, &stderr, keysEnv(dir, newKey))
	if code == 0 || !strings.Contains(stderr.String(), want) ||
		strings.Contains(stderr.String(), "fal-secret") {
		t.Fatalf("migrate with the wrong key: exit %d, %q", code, stderr.String())
	}
	if _, err := buildWith(t, dir, ""); err == nil ||
		!strings.Contains(err.Error(), "API_KEY_ENCRYPTION_KEY is not set") {
		t.Fatalf("start without a key: %v", err)
	}

	// Rotation with the new key first and the old one after it.
	var stdout bytes.Buffer
	stderr.Reset()
	code = Run([]string{"keys", "rotate"}, nil, &stdout, &stderr,
		keysEnv(dir, newKey+","+oldKey))
	if code != 0 || !strings.Contains(stdout.String(), "re-encrypted 5 secret") {
		t.Fatalf("keys rotate: exit %d, %q %q", code, stdout.String(), stderr.String())
	}

	app, err = buildWith(t, dir, newKey)
	if err != nil {
		t.Fatalf("start with the new key alone: %v", err)
	}
	defer app.Close()
	if got, err := app.Admin.Vault.Key(ctx, "fal"); err != nil || got != "fal-secret-0123456789" {
		t.Fatalf("the key after rotation: %q, %v", got, err)
	}
	checkOthers(t, app, newKey)
}

// sealOthers stores, through the packages that own them, the other sealed values the
// rotation must reach: the SMTP password, the Google and another provider's client
// secrets, and a two-factor secret.
func sealOthers(t *testing.T, app *App, ring *secret.KeyRing) {
	t.Helper()
	ctx := context.Background()
	_, err := app.Mail.SaveConfig(ctx, mail.Settings{Host: "smtp.example.com", Port: 587,
		Username: "studio", Password: "smtp-pass-123456", From: "studio@example.com",
		TLS: mail.TLSStartTLS}, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []signin.ProviderInput{
		{Slug: signin.Google, Name: "Google", Issuer: "https://accounts.google.com",
			ClientID: "google-id", ClientSecret: "google-secret-123", Enabled: true},
		{Slug: "keycloak", Name: "Keycloak", Issuer: "https://sso.example.com/realms/x",
			ClientID: "kc-id", ClientSecret: "keycloak-secret-123", Enabled: true},
	} {
		if err := app.SignIn.SaveProvider(ctx, in, 1); err != nil {
			t.Fatal(err)
		}
	}
	u, err := app.Accounts.Create(ctx, account.NewUser{Email: "twofa@example.com",
		Password: "correct horse 42"})
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := ring.Seal([]byte("JBSWY3DPEHPK3PXP"), account.TOTPSecretAD(u.ID))
	if err != nil {
		t.Fatal(err)
	}
	_, err = app.DB.ExecContext(ctx, app.DB.Rebind(`UPDATE users SET totp_secret = ?
		WHERE id = ?`), sealed, u.ID)
	if err != nil {
		t.Fatal(err)
	}
}

// checkOthers reads the values sealOthers stored back with the new key alone.
func checkOthers(t *testing.T, app *App, key string) {
	t.Helper()
	ctx := context.Background()
	cfg, err := app.Mail.Config(ctx)
	if err != nil || cfg.Password != "smtp-pass-123456" {
		t.Fatalf("SMTP password after rotation: %v", err)
	}
	provs, err := app.SignIn.Providers(ctx)
	if err != nil {
		t.Fatalf("providers after rotation: %v", err)
	}
	usable := 0
	for _, p := range provs {
		if p.Usable() {
			usable++
		}
	}
	if usable != 2 {
		t.Fatalf("%d usable sign-in providers after rotation, want 2", usable)
	}
	ring, _ := secret.ParseKeyRing(key)
	var sealed string
	var id int64
	row := app.DB.QueryRowxContext(ctx, `SELECT id, totp_secret FROM users
		WHERE totp_secret <> ''`)
	if err := row.Scan(&id, &sealed); err != nil {
		t.Fatal(err)
	}
	if got, err := ring.Open(sealed, account.TOTPSecretAD(id)); err != nil ||
		string(got) != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("two-factor secret after rotation: %v", err)
	}
}

func TestKeysCommandUsage(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := Run([]string{"keys", "generate"}, nil, &stdout, &stderr,
		keysEnv(dir, "")); code != 0 {
		t.Fatalf("keys generate: exit %d %s", code, stderr.String())
	}
	if _, err := secret.ParseKeyRing(strings.TrimSpace(stdout.String())); err != nil {
		t.Fatalf("the generated key does not parse: %v", err)
	}

	stderr.Reset()
	if code := Run([]string{"keys", "rotate"}, nil, io.Discard, &stderr,
		keysEnv(dir, "")); code == 0 || !strings.Contains(stderr.String(), "API_KEY_ENCRYPTION_KEY") {
		t.Fatalf("keys rotate without a key: exit %d %q", code, stderr.String())
	}
	stderr.Reset()
	if code := Run([]string{"keys", "spin"}, nil, io.Discard, &stderr,
		keysEnv(dir, "")); code == 0 || !strings.Contains(stderr.String(), "usage") {
		t.Fatalf("keys spin: exit %d %q", code, stderr.String())
	}
}
