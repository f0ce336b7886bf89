package cli

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"net/http"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/sketchmaker/sketchmaker/internal/account"
	"github.com/sketchmaker/sketchmaker/internal/config"
	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/gallery"
	"github.com/sketchmaker/sketchmaker/internal/mail"
	"github.com/sketchmaker/sketchmaker/internal/signin"
)

// outboxKeep is how long messages stay in the outbox.
const outboxKeep = 30 * 24 * time.Hour

// wireAccounts builds mail and provider sign-in and connects the account service to
// them, to the settings, the sessions and the gallery (issue 3).
func (a *App) wireAccounts(cfg *config.Config, log *slog.Logger, db *database.DB,
	now func() time.Time, g *gallery.Gallery) error {
	ring, err := keyRing(cfg)
	if err != nil {
		return err
	}
	acc := cfg.Accounts
	site := siteURL(cfg)

	a.Mail = mail.NewSender(mail.Options{DB: db, Settings: a.Settings, Keys: ring,
		SiteURL: site, Log: log, Now: now, Defaults: mail.Settings{
			Host: acc.SMTPHost, Port: acc.SMTPPort, Username: acc.SMTPUsername,
			Password: acc.SMTPPassword, From: acc.SMTPFrom, TLS: acc.SMTPTLS}})

	client := &http.Client{Timeout: 15 * time.Second}
	a.SignIn = signin.New(signin.Options{DB: db, Settings: a.Settings, Keys: ring,
		Log: log, Now: now,
		HTTP: func(ctx context.Context) context.Context { return oidc.ClientContext(ctx, client) },
		Defaults: signin.Defaults{RegularEnabled: acc.RegularAuth, GoogleEnabled: acc.GoogleAuth,
			GoogleClientID: acc.GoogleClientID, GoogleClientSecret: acc.GoogleClientSecret,
			GoogleIssuer: acc.GoogleIssuer}})

	a.files = append(a.files, g)
	mac := sha256.Sum256([]byte("account-codes:" + cfg.SecretKey))
	a.Accounts.Configure(account.Extras{
		Mailer: a.Mail, Sessions: a.Sessions, Tokens: a.Tokens, Files: &a.files, Jobs: a.Jobs,
		Settings: a.Settings, Keys: ring,
		MACKey: mac[:], SiteURL: site, Log: log,
		Defaults: account.Rules{RequireVerification: acc.RequireVerification,
			RequireApproval: acc.RequireApproval, RequireAdmin2FA: acc.RequireAdmin2FA},
	})
	return nil
}

// accountFiles deletes an account's files in each service that keeps some, stopping at
// the first failure so that the account stays, and its deletion can be tried again.
type accountFiles []account.FileRemover

// DeleteAll deletes every file of userID.
func (f *accountFiles) DeleteAll(ctx context.Context, userID int64) error {
	for _, r := range *f {
		if err := r.DeleteAll(ctx, userID); err != nil {
			return err
		}
	}
	return nil
}

// siteURL is where links in mail point: SKETCHMAKER_BASE_URL, or the listening address.
// Links are never built from a request's Host header, which a client chooses.
func siteURL(cfg *config.Config) string {
	if cfg.BaseURL != "" {
		return cfg.BaseURL
	}
	return "http://" + cfg.Addr
}

// accountsHousekeeping removes expired links, codes and sign-in flows, and old mail.
func (a *App) accountsHousekeeping(ctx context.Context) {
	if _, err := a.Accounts.Sweep(ctx); err != nil && ctx.Err() == nil {
		a.Log.Error("account sweep failed", "error", err)
	}
	if _, err := a.SignIn.Sweep(ctx); err != nil && ctx.Err() == nil {
		a.Log.Error("sign-in flow sweep failed", "error", err)
	}
	if _, err := a.Mail.Prune(ctx, outboxKeep); err != nil && ctx.Err() == nil {
		a.Log.Error("outbox prune failed", "error", err)
	}
}
