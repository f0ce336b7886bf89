package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/account"
	"github.com/sketchmaker/sketchmaker/internal/admin"
	"github.com/sketchmaker/sketchmaker/internal/audit"
	"github.com/sketchmaker/sketchmaker/internal/catalog"
	"github.com/sketchmaker/sketchmaker/internal/config"
	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/gallery"
	"github.com/sketchmaker/sketchmaker/internal/generation"
	"github.com/sketchmaker/sketchmaker/internal/mail"
	"github.com/sketchmaker/sketchmaker/internal/password"
	"github.com/sketchmaker/sketchmaker/internal/report"
	"github.com/sketchmaker/sketchmaker/internal/schedule"
	"github.com/sketchmaker/sketchmaker/internal/secret"
	"github.com/sketchmaker/sketchmaker/internal/security"
	"github.com/sketchmaker/sketchmaker/internal/signin"
	"github.com/sketchmaker/sketchmaker/internal/vault"
)

// Admin holds the services of the admin panel (issue 4).
type Admin struct {
	Service  *admin.Service
	Vault    *vault.Service
	Security *security.Store
	Catalog  *catalog.Service
	Reports  *report.Service
	Board    *schedule.Board
	Keys     *secret.KeyRing // nil when API_KEY_ENCRYPTION_KEY is unset
}

// housekeepingTask names the periodic housekeeping on the dashboard's board.
const housekeepingTask = "housekeeping (sessions, monthly credits, retention)"

// keyRing reads API_KEY_ENCRYPTION_KEY; unset gives nil, so that keys cannot be saved but
// everything else works. The key is never generated into the data directory: it must not
// live beside the data it protects.
func keyRing(cfg *config.Config) (*secret.KeyRing, error) {
	if cfg.EncryptionKey == "" {
		return nil, nil
	}
	ring, err := secret.ParseKeyRing(cfg.EncryptionKey)
	if err != nil {
		return nil, fmt.Errorf("API_KEY_ENCRYPTION_KEY: %w", err)
	}
	return ring, nil
}

// wireAdmin builds the admin panel's services and makes the running code read the
// settings the panel changes: the lockout, the session lifetimes, the shortest password
// and the models each plan may use. It fails when API_KEY_ENCRYPTION_KEY cannot open the
// sealed values in the database.
func (a *App) wireAdmin(cfg *config.Config, log *slog.Logger, db *database.DB,
	now func() time.Time, g *gallery.Gallery, gen *generation.Service) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	ring, err := keyRing(cfg)
	if err != nil {
		return err
	}
	v := vault.New(db, ring, now)
	trackSealed(v)
	if err := v.Verify(ctx); err != nil {
		return err
	}

	ad := &Admin{Vault: v, Keys: ring, Reports: report.New(db, now),
		Board: schedule.NewBoard(now())}
	ad.Board.Add(housekeepingTask, time.Minute)
	ad.Security = a.securityStore(cfg, now)
	ad.Catalog = catalog.New(db, a.Settings, a.Credits, a.planOf, now)
	gen.SetPolicy(ad.Catalog)

	ad.Service = admin.New(admin.Deps{
		Accounts: a.Accounts, Sessions: a.Sessions, Tokens: a.Tokens, Credits: a.Credits,
		Gallery: g,
		Audit:   a.Audit, Vault: v, Catalog: ad.Catalog, Security: ad.Security,
		Reports: ad.Reports, Board: ad.Board, Mailer: a.Mail, SignIn: a.SignIn,
		Rules: a.Accounts, Log: log, Now: now, OpenAlerts: a.openAlerts,
	})
	a.Admin = ad
	return nil
}

// trackSealed tells the vault about every column that holds values sealed with the key
// ring, besides provider keys, so that a wrong API_KEY_ENCRYPTION_KEY stops the server at
// start and `keys rotate` re-seals them all. Each entry takes the associated data from the
// package that seals the value.
func trackSealed(v *vault.Service) {
	v.Track(vault.Column{What: "SMTP password", Table: "settings", Key: "key",
		Value: "value", Where: "key = '" + mail.KeyPassword + "'",
		AD: func(string) string { return mail.PasswordAD }})
	v.Track(vault.Column{What: "Google client secret", Table: "settings", Key: "key",
		Value: "value", Where: "key = '" + signin.SettingGoogleSecret + "'",
		AD: func(string) string { return signin.ClientSecretAD(signin.Google) }})
	v.Track(vault.Column{What: "OpenID Connect client secrets", Table: "oidc_providers",
		Key: "slug", Value: "client_secret", AD: signin.ClientSecretAD})
	v.Track(vault.Column{What: "two-factor secrets", Table: "users", Key: "id",
		Value: "totp_secret", AD: func(id string) string {
			n, _ := strconv.ParseInt(id, 10, 64)
			return account.TOTPSecretAD(n)
		}})
}

// securityStore builds the security settings with the configuration as their defaults,
// and makes sign-in, sessions and the password policy read them.
func (a *App) securityStore(cfg *config.Config, now func() time.Time) *security.Store {
	def := security.Settings{
		LockoutThreshold: cfg.Abuse.FailedLoginThreshold, LockoutDuration: cfg.Abuse.AccountLockout,
		SessionLifetime: cfg.SessionLifetime, SessionIdle: cfg.SessionIdle,
		PasswordMinLength: password.DefaultMinLength,
	}
	sec := security.New(a.Settings, def, now)

	a.Accounts.SetValidator(sec)
	a.Accounts.SetLockoutSource(func(ctx context.Context) account.Lockout {
		cur := sec.Current(ctx)
		return account.Lockout{Threshold: cur.LockoutThreshold, Duration: cur.LockoutDuration}
	})
	a.Sessions.SetLimits(func(ctx context.Context) (time.Duration, time.Duration) {
		cur := sec.Current(ctx)
		return cur.SessionLifetime, cur.SessionIdle
	})
	return sec
}

// planOf returns the slug of the user's plan, "" for none.
func (a *App) planOf(ctx context.Context, userID int64) (string, error) {
	u, err := a.Accounts.ByID(ctx, userID)
	if err != nil {
		return "", err
	}
	if u.PlanID == nil {
		return "", nil
	}
	p, err := a.Credits.PlanByID(ctx, *u.PlanID)
	if err != nil {
		return "", err
	}
	return p.Slug, nil
}

// openAlerts counts the security alerts nobody acknowledged yet.
func (a *App) openAlerts(ctx context.Context) (int, error) {
	if a.Abuse == nil || a.Abuse.Alerts == nil {
		return 0, nil
	}
	_, n, err := a.Abuse.Alerts.Open(ctx, 1)
	return n, err
}

// runTask runs one periodic task and notes it on the dashboard's board.
func (a *App) runTask(name string, fn func() bool) {
	start := time.Now()
	ok := fn()
	if a.Admin != nil {
		a.Admin.Board.Record(name, start, time.Since(start), !ok)
	}
}

// keysCommand runs `sketchmaker keys rotate` (re-seal every stored secret under the first
// key of API_KEY_ENCRYPTION_KEY) or `sketchmaker keys generate` (print a new key).
func keysCommand(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string,
	stdout io.Writer) error {
	if len(args) == 1 && args[0] == "generate" {
		fmt.Fprintln(stdout, secret.GenerateKey())
		return nil
	}
	if len(args) != 1 || args[0] != "rotate" {
		return fmt.Errorf("usage: sketchmaker keys rotate | sketchmaker keys generate")
	}
	if cfg.EncryptionKey == "" {
		return fmt.Errorf("set API_KEY_ENCRYPTION_KEY to the new key followed by the old " +
			"one, comma-separated, then run `sketchmaker keys rotate` again")
	}

	app, err := Build(ctx, cfg, log, nil)
	if err != nil {
		return err
	}
	defer app.Close()
	n, err := app.Admin.Vault.Rotate(ctx)
	if err != nil {
		return err
	}
	err = app.Audit.Record(ctx, audit.Event{Type: audit.APIKeyChange, Details: map[string]any{
		"change": "rotated", "count": n, "primary": app.Admin.Keys.PrimaryID()}})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "re-encrypted %d secret(s) under key %s; every stored secret now "+
		"opens with that key alone, so the old keys can be removed from "+
		"API_KEY_ENCRYPTION_KEY\n", n, app.Admin.Keys.PrimaryID())
	return nil
}
