package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/role"
)

// setupTokenLifetime is how long the first-run link printed to the log works.
const setupTokenLifetime = time.Hour

// ErrSetupDone answers /setup once a superadmin exists.
var ErrSetupDone = fault.New(fault.NotFound, "This instance is already set up. Sign in instead.")

// ErrSetupToken answers a missing, used or expired setup link.
var ErrSetupToken = fault.New(fault.Forbidden, "This setup link is not valid or has expired. "+
	"Restart the server to print a new one.")

// IssueSetupToken returns a fresh single-use token for /setup while no superadmin exists,
// or "" once one does. Only a hash of the token is stored.
func (s *Service) IssueSetupToken(ctx context.Context) (string, error) {
	done, err := s.SuperadminExists(ctx)
	if err != nil || done {
		return "", err
	}

	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("setup token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	q := s.db.Rebind(`INSERT INTO setup_tokens (token_hash, expires_at) VALUES (?, ?)`)
	expires := s.now().Add(setupTokenLifetime).UnixMilli()
	if _, err := s.db.ExecContext(ctx, q, hashToken(token), expires); err != nil {
		return "", fmt.Errorf("store setup token: %w", err)
	}
	return token, nil
}

// CheckSetupToken reports whether token may still create the superadmin.
func (s *Service) CheckSetupToken(ctx context.Context, token string) error {
	done, err := s.SuperadminExists(ctx)
	if err != nil {
		return err
	}
	if done {
		return ErrSetupDone
	}
	var n int
	q := s.db.Rebind(`SELECT COUNT(*) FROM setup_tokens
		WHERE token_hash = ? AND used_at = 0 AND expires_at > ?`)
	if err := s.db.GetContext(ctx, &n, q, hashToken(token), s.now().UnixMilli()); err != nil {
		return fmt.Errorf("check setup token: %w", err)
	}
	if n == 0 {
		return ErrSetupToken
	}
	return nil
}

// CompleteSetup spends token and creates the superadmin. A token works once, and only while
// no superadmin exists. Spending one link spends every link still valid, so that two links
// used at the same moment cannot make two superadmins; when the account is refused (a weak
// password, say), the links are given back so that the person can correct the form.
func (s *Service) CompleteSetup(ctx context.Context, token string, in NewUser) (*User, error) {
	if err := s.CheckSetupToken(ctx, token); err != nil {
		return nil, err
	}
	now := s.now().UnixMilli()
	spent, err := s.spendSetupTokens(ctx, now)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(spent, hashToken(token)) {
		// Another setup spent it a moment ago.
		return nil, errors.Join(ErrSetupToken, s.restoreSetupTokens(ctx, spent, now))
	}

	in.Role = role.Superadmin
	if in.Plan == "" {
		in.Plan = "professional"
	}
	u, err := s.Create(ctx, in)
	if err != nil {
		if rerr := s.restoreSetupTokens(ctx, spent, now); rerr != nil {
			return nil, rerr
		}
		return nil, err
	}
	return u, nil
}

// spendSetupTokens marks every valid setup token used at now, in one statement, and
// returns their hashes.
func (s *Service) spendSetupTokens(ctx context.Context, now int64) ([]string, error) {
	var spent []string
	q := s.db.Rebind(`UPDATE setup_tokens SET used_at = ?
		WHERE used_at = 0 AND expires_at > ? RETURNING token_hash`)
	if err := s.db.SelectContext(ctx, &spent, q, now, now); err != nil {
		return nil, fmt.Errorf("spend setup tokens: %w", err)
	}
	return spent, nil
}

// restoreSetupTokens makes the tokens spent at now valid again, even when the request that
// spent them has ended.
func (s *Service) restoreSetupTokens(ctx context.Context, hashes []string, now int64) error {
	ctx = context.WithoutCancel(ctx)
	q := s.db.Rebind(`UPDATE setup_tokens SET used_at = 0 WHERE token_hash = ? AND used_at = ?`)
	for _, h := range hashes {
		if _, err := s.db.ExecContext(ctx, q, h, now); err != nil {
			return fmt.Errorf("restore setup token: %w", err)
		}
	}
	return nil
}

// hashToken returns the stored form of a bearer secret.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
