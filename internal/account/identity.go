package account

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/mail"
)

// Identity is a person as an OpenID Connect provider vouches for them: the provider's
// name, its stable subject id, and a verified email address.
type Identity struct {
	Provider string
	Subject  string
	Email    string
	Name     string
}

// Linked is an identity linked to an account.
type Linked struct {
	Provider   string `db:"provider"`
	Email      string `db:"email"`
	CreatedAt  int64  `db:"created_at"`
	LastUsedAt int64  `db:"last_used_at"`
}

// ErrLinkRequired answers a provider sign-in whose address belongs to an account that has
// not linked that provider. Linking it on the spot would let whoever controls an identity
// at the provider take over an account registered here first; the owner must sign in with
// the password once, and the link is made then.
var ErrLinkRequired = fault.New(fault.Conflict, "An account with this email address exists "+
	"already. Sign in with your password once to link this sign-in method to it.")

// ErrAccountDisabled answers a provider sign-in to a deactivated account.
var ErrAccountDisabled = fault.New(fault.Forbidden, "This account is deactivated. Ask an "+
	"administrator if you think that is a mistake.")

// linkLifetime is how long an offered link waits for the password sign-in.
const linkLifetime = 15 * time.Minute

// SignInWith returns the account of a provider identity: the linked one, or a new account
// (under the rules in force) when the address is unknown. When the address belongs to an
// account that did not link this identity, it returns that account with ErrLinkRequired.
// created says whether a new account was made.
func (s *Service) SignInWith(ctx context.Context, id Identity) (u *User, created bool,
	err error) {
	addr, err := NormalizeEmail(id.Email)
	if err != nil {
		return nil, false, err
	}
	id.Email = addr

	u, err = s.linkedUser(ctx, id)
	if errors.Is(err, database.ErrNotFound) {
		if u, err = s.ByEmail(ctx, addr); err == nil {
			return u, false, ErrLinkRequired
		}
		if !errors.Is(err, database.ErrNotFound) {
			return nil, false, err
		}
		u, err = s.createExternal(ctx, id)
		created = err == nil
	}
	if err != nil {
		return nil, created, err
	}

	switch u.Status {
	case StatusPending:
		return u, created, ErrPending
	case StatusDisabled:
		return u, created, ErrAccountDisabled
	}
	return u, created, nil
}

// linkedUser returns the account linked to id and records the sign-in.
func (s *Service) linkedUser(ctx context.Context, id Identity) (*User, error) {
	var uid int64
	q := s.db.Rebind(`SELECT user_id FROM identities WHERE provider = ? AND subject = ?`)
	if err := s.db.GetContext(ctx, &uid, q, id.Provider, id.Subject); err != nil {
		return nil, database.NotFound(err)
	}
	q = s.db.Rebind(`UPDATE identities SET last_used_at = ? WHERE provider = ? AND subject = ?`)
	if _, err := s.db.ExecContext(ctx, q, s.now().UnixMilli(), id.Provider,
		id.Subject); err != nil {
		return nil, fmt.Errorf("record provider sign-in: %w", err)
	}
	return s.ByID(ctx, uid)
}

// createExternal makes an account for a new identity: no password (the owner can set one
// with a reset), the address confirmed by the provider, and the identity linked.
func (s *Service) createExternal(ctx context.Context, id Identity) (*User, error) {
	status := StatusActive
	if s.rules(ctx).RequireApproval {
		status = StatusPending
	}
	name := id.Name
	if _, err := cleanUsername(name, id.Email); err != nil {
		name = "" // the provider's name does not fit; the address's local part will do
	}
	// Create insists on a password; a random one is set and then removed.
	u, err := s.Create(ctx, NewUser{Email: id.Email, Username: name, Status: status,
		Password: "Aa1-" + randomToken(24)})
	if err != nil {
		return nil, err
	}
	err = s.db.Tx(ctx, func(tx *sqlx.Tx) error {
		if err := s.setUser(ctx, tx, u.ID, "password_hash = '', email_verified = ?",
			true); err != nil {
			return err
		}
		return s.insertIdentity(ctx, tx, u.ID, id)
	})
	if err != nil {
		return nil, err
	}
	if status == StatusActive {
		s.notify(ctx, u.Email, u.Username, mail.Welcome, nil)
	}
	return s.ByID(ctx, u.ID)
}

func (s *Service) insertIdentity(ctx context.Context, tx *sqlx.Tx, userID int64,
	id Identity) error {
	now := s.now().UnixMilli()
	q := tx.Rebind(`INSERT INTO identities (provider, subject, user_id, email, created_at,
		last_used_at) VALUES (?, ?, ?, ?, ?, ?)`)
	_, err := tx.ExecContext(ctx, q, id.Provider, id.Subject, userID, id.Email, now, now)
	if database.IsUnique(err) {
		return fault.New(fault.Conflict, "This sign-in is linked to an account already.")
	}
	if err != nil {
		return fmt.Errorf("link identity: %w", err)
	}
	return nil
}

// OfferLink keeps id waiting for account userID to sign in with its password, and returns
// the token the browser holds meanwhile.
func (s *Service) OfferLink(ctx context.Context, userID int64, id Identity) (string, error) {
	token := randomToken(32)
	q := s.db.Rebind(`INSERT INTO pending_links (token_hash, user_id, provider, subject,
		email, expires_at) VALUES (?, ?, ?, ?, ?, ?)`)
	_, err := s.db.ExecContext(ctx, q, hashToken(token), userID, id.Provider, id.Subject,
		id.Email, s.now().Add(linkLifetime).UnixMilli())
	if err != nil {
		return "", fmt.Errorf("offer link: %w", err)
	}
	return token, nil
}

// ClaimLink links the identity waiting under token to userID, who has just signed in with
// the password. A token offered for another account links nothing and returns nil.
func (s *Service) ClaimLink(ctx context.Context, token string, userID int64) (*Identity,
	error) {
	if token == "" || len(token) > 100 {
		return nil, nil
	}
	var id *Identity
	err := s.db.Tx(ctx, func(tx *sqlx.Tx) error {
		var row struct {
			UserID   int64  `db:"user_id"`
			Provider string `db:"provider"`
			Subject  string `db:"subject"`
			Email    string `db:"email"`
		}
		q := tx.Rebind(`SELECT user_id, provider, subject, email FROM pending_links
			WHERE token_hash = ? AND expires_at > ?`)
		err := tx.GetContext(ctx, &row, q, hashToken(token), s.now().UnixMilli())
		if errors.Is(database.NotFound(err), database.ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("find link: %w", err)
		}
		q = tx.Rebind(`DELETE FROM pending_links WHERE token_hash = ?`)
		if _, err := tx.ExecContext(ctx, q, hashToken(token)); err != nil {
			return fmt.Errorf("spend link: %w", err)
		}
		if row.UserID != userID {
			return nil
		}
		id = &Identity{Provider: row.Provider, Subject: row.Subject, Email: row.Email}
		return s.insertIdentity(ctx, tx, userID, *id)
	})
	if err != nil || id == nil {
		return nil, err
	}
	if u, err := s.ByID(ctx, userID); err == nil {
		s.alert(ctx, u, mail.AlertIdentityLinked)
	}
	return id, nil
}

// Identities returns the identities linked to userID.
func (s *Service) Identities(ctx context.Context, userID int64) ([]Linked, error) {
	var out []Linked
	q := s.db.Rebind(`SELECT provider, email, created_at, last_used_at FROM identities
		WHERE user_id = ? ORDER BY provider`)
	if err := s.db.SelectContext(ctx, &out, q, userID); err != nil {
		return nil, fmt.Errorf("list identities: %w", err)
	}
	return out, nil
}

// Unlink removes userID's identity at provider, unless it is the account's only way to
// sign in.
func (s *Service) Unlink(ctx context.Context, userID int64, provider string) error {
	u, err := s.ByID(ctx, userID)
	if err != nil {
		return err
	}
	ids, err := s.Identities(ctx, userID)
	if err != nil {
		return err
	}
	if u.PasswordHash == "" && len(ids) <= 1 {
		return fault.New(fault.Conflict, "This is the only way to sign in to your account. "+
			"Set a password first (with “Forgot password”), then unlink it.")
	}
	q := s.db.Rebind(`DELETE FROM identities WHERE user_id = ? AND provider = ?`)
	res, err := s.db.ExecContext(ctx, q, userID, provider)
	if err != nil {
		return fmt.Errorf("unlink identity: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fault.New(fault.NotFound, "That sign-in method is not linked to your account.")
	}
	return nil
}
