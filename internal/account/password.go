package account

import (
	"context"
	"strconv"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/mail"
)

// ErrWrongPassword answers a wrong current password in the settings forms.
var ErrWrongPassword = fault.Field("current_password", "Your current password is not "+
	"correct.")

// CheckPassword confirms a sensitive action with the signed-in person's password. A wrong
// password counts towards the lockout like a failed sign-in, so a stolen session cannot
// be used to guess it. An account without a password (signing in only with a provider)
// passes.
func (s *Service) CheckPassword(ctx context.Context, u *User, pw string) error {
	if u.PasswordHash == "" {
		return nil
	}
	if u.LockedUntil > s.now().UnixMilli() {
		wait := time.UnixMilli(u.LockedUntil).Sub(s.now())
		return fault.New(fault.Limited, "Too many wrong passwords. Try again in "+
			minutes(wait)+".")
	}
	ok, err := s.hasher.Verify(ctx, u.PasswordHash, pw)
	if err != nil && !ok && ctx.Err() != nil {
		return ctx.Err()
	}
	if !ok {
		s.wrongPassword(ctx, u)
		return ErrWrongPassword
	}
	return nil
}

// minutes says a wait in whole minutes, rounded up.
func minutes(d time.Duration) string {
	n := int((d + time.Minute - 1) / time.Minute)
	if n <= 1 {
		return "a minute"
	}
	return strconv.Itoa(n) + " minutes"
}

// ChangePassword replaces userID's password after checking the current one, then revokes
// every other session (keep is the hash of the session making the change) and tells the
// owner.
func (s *Service) ChangePassword(ctx context.Context, userID int64, current, next,
	keep string) error {
	u, err := s.ByID(ctx, userID)
	if err != nil {
		return err
	}
	if err := s.CheckPassword(ctx, u, current); err != nil {
		return err
	}
	if err := s.policy.Validate(next); err != nil {
		return passwordFault(err)
	}
	hash, err := s.hasher.Hash(ctx, next)
	if err != nil {
		return passwordFault(err)
	}

	q := s.db.Rebind(`UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`)
	if _, err := s.db.ExecContext(ctx, q, hash, s.now().UnixMilli(), userID); err != nil {
		return err
	}
	if err := s.revokeSessions(ctx, userID, keep); err != nil {
		return err
	}
	s.alert(ctx, u, mail.AlertPasswordChanged)
	return nil
}
