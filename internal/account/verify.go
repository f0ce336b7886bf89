package account

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/mail"
)

// LinkLifetime is how long an email confirmation link works.
const LinkLifetime = 24 * time.Hour

// The purposes of a confirmation link.
const (
	purposeVerify = "verify" // confirms the account's address
	purposeChange = "change" // confirms a new address, which then replaces the old one
)

// linksPerHour limits confirmation mails per account.
const linksPerHour = 3

// ErrEmailLink answers a confirmation link that does not work (any more).
var ErrEmailLink = fault.New(fault.NotFound, "This confirmation link does not work: it was "+
	"used already, has expired, or a newer one replaced it. Sign in and ask for a new link "+
	"in Settings.")

// ErrTooManyMails answers a request for another mail within the hourly quota.
var ErrTooManyMails = fault.New(fault.Limited, "We sent you several messages in the last "+
	"hour already. Check your inbox and spam folder, or try again later.")

// emailToken is a stored confirmation link.
type emailToken struct {
	UserID  int64  `db:"user_id"`
	Purpose string `db:"purpose"`
	Email   string `db:"email"`
}

// SendVerification sends userID a new link that confirms its address, replacing earlier
// links, at most three an hour.
func (s *Service) SendVerification(ctx context.Context, userID int64) error {
	u, err := s.ByID(ctx, userID)
	if err != nil {
		return err
	}
	if u.EmailVerified {
		return fault.New(fault.Conflict, "Your email address is confirmed already.")
	}
	return s.sendLink(ctx, u, u.Email, purposeVerify)
}

// sendLink stores a new single-use link for u (only its hash), cancels the older links of
// the same purpose and mails the link to addr.
func (s *Service) sendLink(ctx context.Context, u *User, addr, purpose string) error {
	if !s.allowMail(ctx, u.ID, "link", linksPerHour) {
		return ErrTooManyMails
	}
	token := randomToken(32)
	now := s.now()
	err := s.db.Tx(ctx, func(tx *sqlx.Tx) error {
		q := tx.Rebind(`UPDATE email_tokens SET used_at = ?
			WHERE user_id = ? AND purpose = ? AND used_at = 0`)
		if _, err := tx.ExecContext(ctx, q, now.UnixMilli(), u.ID, purpose); err != nil {
			return fmt.Errorf("cancel old links: %w", err)
		}
		q = tx.Rebind(`INSERT INTO email_tokens (token_hash, user_id, purpose, email,
			created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`)
		_, err := tx.ExecContext(ctx, q, hashToken(token), u.ID, purpose, addr,
			now.UnixMilli(), now.Add(LinkLifetime).UnixMilli())
		if err != nil {
			return fmt.Errorf("store link: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}

	s.notify(ctx, addr, u.Username, mail.VerifyEmail, mail.Data{
		"Link":   s.x.SiteURL + "/verify-email?token=" + token,
		"Hours":  int(LinkLifetime.Hours()),
		"Change": purpose == purposeChange,
	})
	return nil
}

// CheckEmailLink reports whether token is a working confirmation link and whether it
// confirms a new address, without using it.
func (s *Service) CheckEmailLink(ctx context.Context, token string) (change bool, err error) {
	t, err := s.findLink(ctx, s.db, token)
	if err != nil {
		return false, err
	}
	return t.Purpose == purposeChange, nil
}

type getter interface {
	GetContext(ctx context.Context, dest any, query string, args ...any) error
	Rebind(q string) string
}

func (s *Service) findLink(ctx context.Context, db getter, token string) (*emailToken, error) {
	if token == "" || len(token) > 100 {
		return nil, ErrEmailLink
	}
	var t emailToken
	q := db.Rebind(`SELECT user_id, purpose, email FROM email_tokens
		WHERE token_hash = ? AND used_at = 0 AND expires_at > ?`)
	err := db.GetContext(ctx, &t, q, hashToken(token), s.now().UnixMilli())
	if errors.Is(database.NotFound(err), database.ErrNotFound) {
		return nil, ErrEmailLink
	}
	if err != nil {
		return nil, fmt.Errorf("find link: %w", err)
	}
	return &t, nil
}

// ConfirmEmail uses a confirmation link: it marks the account's address confirmed, or
// replaces the address with the new one the link confirms (and tells the old address).
// It reports which it did.
func (s *Service) ConfirmEmail(ctx context.Context, token string) (*User, bool, error) {
	var t *emailToken
	var old *User
	err := s.db.Tx(ctx, func(tx *sqlx.Tx) error {
		var err error
		if t, err = s.spendLink(ctx, tx, token); err != nil {
			return err
		}
		if old, err = s.userTx(ctx, tx, t.UserID); err != nil {
			return err
		}
		return s.applyLink(ctx, tx, t, old)
	})
	if err != nil {
		return nil, false, err
	}

	change := t.Purpose == purposeChange
	if change {
		s.alertTo(ctx, old.Email, old, mail.AlertEmailChanged)
	}
	u, err := s.ByID(ctx, t.UserID)
	return u, change, err
}

// spendLink marks token used inside tx; a link works once even when clicked twice at once.
func (s *Service) spendLink(ctx context.Context, tx *sqlx.Tx, token string) (
	*emailToken, error) {
	t, err := s.findLink(ctx, tx, token)
	if err != nil {
		return nil, err
	}
	q := tx.Rebind(`UPDATE email_tokens SET used_at = ? WHERE token_hash = ? AND used_at = 0`)
	res, err := tx.ExecContext(ctx, q, s.now().UnixMilli(), hashToken(token))
	if err != nil {
		return nil, fmt.Errorf("use link: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return nil, ErrEmailLink
	}
	return t, nil
}

// applyLink confirms or changes the address of u as the link t says.
func (s *Service) applyLink(ctx context.Context, tx *sqlx.Tx, t *emailToken, u *User) error {
	if t.Purpose == purposeVerify {
		if t.Email != u.Email {
			return ErrEmailLink // the address changed since the link was sent
		}
		return s.setUser(ctx, tx, u.ID, "email_verified = ?", true)
	}

	err := s.setUser(ctx, tx, u.ID, "email = ?, email_verified = ?", t.Email, true)
	if database.IsUnique(err) {
		return fault.New(fault.Conflict, "Another account uses that address now, so it "+
			"cannot become yours. Your address stays as it was.")
	}
	return err
}

// RequestEmailChange starts moving userID to a new address: a link goes to the new
// address, and the old one stays in use until the link is opened. password is required
// when the account has one. An address that belongs to another account gets the same
// answer and no mail, so the form reveals nothing.
func (s *Service) RequestEmailChange(ctx context.Context, userID int64, newEmail,
	password string) error {
	u, err := s.ByID(ctx, userID)
	if err != nil {
		return err
	}
	addr, err := NormalizeEmail(newEmail)
	if err != nil {
		return err
	}
	if err := s.CheckPassword(ctx, u, password); err != nil {
		return err
	}
	if addr == u.Email {
		return fault.Field("email", "That is your address already.")
	}

	if _, err := s.ByEmail(ctx, addr); err == nil {
		return nil
	} else if !errors.Is(err, database.ErrNotFound) {
		return err
	}
	return s.sendLink(ctx, u, addr, purposeChange)
}

// PendingEmail returns the new address userID asked for and has not confirmed yet, or "".
func (s *Service) PendingEmail(ctx context.Context, userID int64) (string, error) {
	var addr []string
	q := s.db.Rebind(`SELECT email FROM email_tokens WHERE user_id = ? AND purpose = ?
		AND used_at = 0 AND expires_at > ? ORDER BY created_at DESC`)
	err := s.db.SelectContext(ctx, &addr, q, userID, purposeChange, s.now().UnixMilli())
	if err != nil || len(addr) == 0 {
		return "", err
	}
	return addr[0], nil
}

// randomToken returns n random bytes in URL-safe base64.
func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails: the runtime aborts if the system has no randomness
	return base64.RawURLEncoding.EncodeToString(b)
}
