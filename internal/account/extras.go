package account

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/mail"
	"github.com/sketchmaker/sketchmaker/internal/secret"
	"github.com/sketchmaker/sketchmaker/internal/setting"
)

// Mailer queues account mail; the mail package's Sender is one.
type Mailer interface {
	Send(ctx context.Context, to, template string, data mail.Data) error
}

// SessionRevoker ends an account's sessions; the session package's Store is one.
type SessionRevoker interface {
	RevokeUser(ctx context.Context, userID int64, keep string) (int64, error)
}

// TokenRevoker deletes an account's personal API tokens; the apitoken package's Store is
// one.
type TokenRevoker interface {
	RevokeAll(ctx context.Context, userID int64) (int64, error)
}

// FileRemover deletes every file of an account; the gallery is one.
type FileRemover interface {
	DeleteAll(ctx context.Context, userID int64) error
}

// Extras connect the account service to what the complete account flows need. A service
// without them (as in tests of the basics) sends no mail and applies the default rules.
type Extras struct {
	Mailer   Mailer
	Sessions SessionRevoker
	Tokens   TokenRevoker // revoked with every session by a password reset
	Files    FileRemover
	Jobs     JobForgetter
	Settings *setting.Store
	Keys     *secret.KeyRing // seals two-factor secrets
	MACKey   []byte          // keys the hashes of reset codes and recovery codes
	SiteURL  string          // absolute URL that links in mail start with
	Defaults Rules           // from the environment
	Log      *slog.Logger
}

// JobForgetter erases the prompts a deleted account left in its jobs.
type JobForgetter interface {
	ForgetUser(ctx context.Context, userID int64) error
}

// Configure connects the service to mail, settings, sessions and files.
func (s *Service) Configure(x Extras) {
	s.x = x
}

// log returns the logger of the extras, or one that discards.
func (s *Service) log() *slog.Logger {
	if s.x.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.x.Log
}

// ErrEmailTaken answers registration or an address change to an address that has an
// account, where saying so reveals nothing the person could not learn anyway.
var ErrEmailTaken = fault.Field("email", "An account with this email address already "+
	"exists. Sign in instead, or use another address.")

// ErrPending answers the right password for an account that waits for approval.
var ErrPending = fault.New(fault.Forbidden, "Your account is waiting for an administrator's "+
	"approval. We will send you an email as soon as it is approved.")

type ipKey struct{}

// WithClientIP returns ctx carrying the client address of the request, which security
// notices mention.
func WithClientIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, ipKey{}, ip)
}

func clientIP(ctx context.Context) string {
	ip, _ := ctx.Value(ipKey{}).(string)
	return ip
}

// notify queues a message to u. Mail is best effort here: the outbox is durable, and a
// failure to queue is logged, never returned, so that it cannot fail the person's request.
func (s *Service) notify(ctx context.Context, to, name, template string, data mail.Data) {
	if s.x.Mailer == nil {
		return
	}
	if data == nil {
		data = mail.Data{}
	}
	data["Name"] = name
	if err := s.x.Mailer.Send(ctx, to, template, data); err != nil {
		s.log().Error("account mail not queued", "template", template, "error", err)
	}
}

// alert sends u a security notice about event.
func (s *Service) alert(ctx context.Context, u *User, event string) {
	s.alertTo(ctx, u.Email, u, event)
}

func (s *Service) alertTo(ctx context.Context, to string, u *User, event string) {
	s.notify(ctx, to, u.Username, mail.SecurityAlert, mail.Data{
		"Event": event, "When": s.now().UTC().Format("2 Jan 2006 15:04 UTC"),
		"IP": clientIP(ctx),
	})
}

// wrongPassword counts a failed sign-in and tells the owner when it locked the account.
func (s *Service) wrongPassword(ctx context.Context, u *User) *Failure {
	f := s.recordFailure(ctx, u)
	if f.Locked {
		lo := s.currentLockout(ctx)
		until := s.now().Add(lo.Duration)
		s.notify(ctx, u.Email, u.Username, mail.AccountLocked, mail.Data{
			"Attempts": f.Attempts, "Minutes": int(lo.Duration.Round(time.Minute).Minutes()),
			"Until": until.UTC().Format("15:04 UTC, 2 Jan 2006"),
		})
	}
	return f
}

// mac returns the keyed hash under which a short secret (a reset code, a recovery code) is
// stored; without the key, the stored value cannot be searched offline.
func (s *Service) mac(parts ...string) string {
	m := hmac.New(sha256.New, s.x.MACKey)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return hex.EncodeToString(m.Sum(nil))
}

// revokeSessions ends the sessions of userID except keep (a session hash, or "").
func (s *Service) revokeSessions(ctx context.Context, userID int64, keep string) error {
	if s.x.Sessions == nil {
		return nil
	}
	_, err := s.x.Sessions.RevokeUser(ctx, userID, keep)
	return err
}

// revokeTokens deletes the personal API tokens of userID.
func (s *Service) revokeTokens(ctx context.Context, userID int64) error {
	if s.x.Tokens == nil {
		return nil
	}
	_, err := s.x.Tokens.RevokeAll(ctx, userID)
	return err
}

// allowMail reports whether userID may get another message of kind within the hour, at
// most perHour, and records the one about to go out. It protects mailboxes from being
// flooded through forms that anyone can submit.
func (s *Service) allowMail(ctx context.Context, userID int64, kind string, perHour int) bool {
	var ok bool
	err := s.db.Tx(ctx, func(tx *sqlx.Tx) error {
		var err error
		ok, err = s.allowMailTx(ctx, tx, userID, kind, perHour)
		return err
	})
	if err != nil {
		s.log().Error("mail quota not checked", "error", err)
	}
	return ok && err == nil
}

// allowMailTx is allowMail inside tx. For userID 0 (no account) it only counts, so that
// a form does the same reads for every address.
func (s *Service) allowMailTx(ctx context.Context, tx *sqlx.Tx, userID int64, kind string,
	perHour int) (bool, error) {
	now := s.now()
	var n int
	q := tx.Rebind(`SELECT COUNT(*) FROM account_notices
		WHERE user_id = ? AND kind = ? AND sent_at > ?`)
	if err := tx.GetContext(ctx, &n, q, userID, kind, now.Add(-time.Hour).UnixMilli()); err != nil {
		return false, fmt.Errorf("read mail quota: %w", err)
	}
	if userID == 0 {
		return false, nil
	}
	if n >= perHour {
		s.log().Info("account mail withheld: hourly quota reached", "user_id", userID,
			"kind", kind)
		return false, nil
	}
	q = tx.Rebind(`INSERT INTO account_notices (user_id, kind, sent_at) VALUES (?, ?, ?)`)
	if _, err := tx.ExecContext(ctx, q, userID, kind, now.UnixMilli()); err != nil {
		return false, fmt.Errorf("record mail quota: %w", err)
	}
	return true, nil
}

// userTx reads account id inside tx, locking its row on PostgreSQL.
func (s *Service) userTx(ctx context.Context, tx *sqlx.Tx, id int64) (*User, error) {
	lock := ""
	if s.db.Dialect == database.Postgres {
		lock = " FOR UPDATE"
	}
	var u User
	q := tx.Rebind(`SELECT ` + userColumns + ` FROM users WHERE id = ?` + lock)
	if err := tx.GetContext(ctx, &u, q, id); err != nil {
		if errors.Is(database.NotFound(err), database.ErrNotFound) {
			return nil, ErrNoUser
		}
		return nil, fmt.Errorf("read user: %w", err)
	}
	return &u, nil
}

// setUser sets columns of account id inside tx; set is a constant assignment list.
func (s *Service) setUser(ctx context.Context, tx *sqlx.Tx, id int64, set string,
	args ...any) error {
	q := tx.Rebind(`UPDATE users SET ` + set + `, updated_at = ? WHERE id = ?`)
	args = append(args, s.now().UnixMilli(), id)
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("update user: %w", err)
	}
	return nil
}
