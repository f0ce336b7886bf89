package account

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/mail"
)

// Password reset by code: the code is bound to the reset request, whose random id only the
// browser that asked holds, so a code typed anywhere else is worthless.
const (
	ResetLifetime = 15 * time.Minute
	ResetTries    = 5
	resetsPerHour = 3
)

// ErrResetCode is the one answer to a reset code that does not work: wrong, used, expired,
// tried too often, or for a request that matched no account.
var ErrResetCode = fault.Field("code", "That code does not work: it is wrong, used, expired "+
	"or was tried too often. Check the latest message we sent, or ask for a new code.")

type resetRow struct {
	UserID    int64  `db:"user_id"`
	CodeHash  string `db:"code_hash"`
	Tries     int    `db:"tries"`
	ExpiresAt int64  `db:"expires_at"`
	UsedAt    int64  `db:"used_at"`
}

// RequestReset starts a password reset for email and returns the request id that the
// browser keeps. It does the same work and returns the same kind of id whether or not the
// address has an account; only an existing, not deactivated account gets a code by mail,
// at most three an hour.
func (s *Service) RequestReset(ctx context.Context, email string) (string, error) {
	addr, err := NormalizeEmail(email)
	if err != nil {
		return "", err
	}
	u, err := s.ByEmail(ctx, addr)
	if err != nil && !errors.Is(err, database.ErrNotFound) {
		return "", err
	}
	if u != nil && u.Status == StatusDisabled {
		u = nil
	}

	id, code := randomToken(32), sixDigits()
	var uid int64
	if u != nil {
		uid = u.ID
	}
	// One transaction of the same statements for every address, so the time it takes
	// tells nothing; only the mail that follows differs, and it is quick.
	var send bool
	now := s.now()
	err = s.db.Tx(ctx, func(tx *sqlx.Tx) error {
		var err error
		if send, err = s.allowMailTx(ctx, tx, uid, "reset", resetsPerHour); err != nil {
			return err
		}
		// A request whose code is not mailed (an unknown address, or the account's
		// hourly quota spent) gets no code at all: an empty hash, which no code matches.
		// Otherwise every request, from as many addresses as an attacker has, would add
		// five guesses at a live code; now an account faces at most resetsPerHour times
		// ResetTries guesses an hour, each batch announced by a mail to its owner.
		codeHash := ""
		if send {
			codeHash = s.mac("reset", id, code)
		}
		q := tx.Rebind(`INSERT INTO password_resets (request_hash, user_id, code_hash,
			created_at, expires_at) VALUES (?, ?, ?, ?, ?)`)
		_, err = tx.ExecContext(ctx, q, hashToken(id), uid, codeHash,
			now.UnixMilli(), now.Add(ResetLifetime).UnixMilli())
		if err != nil {
			return fmt.Errorf("store reset request: %w", err)
		}
		return nil
	})
	if err != nil {
		return "", err
	}

	if send {
		s.notify(ctx, u.Email, u.Username, mail.PasswordReset, mail.Data{
			"Code": code, "Minutes": int(ResetLifetime.Minutes()),
		})
	}
	return id, nil
}

// sixDigits returns a uniformly random code from 000000 to 999999.
func sixDigits() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return fmt.Sprintf("%06d", n.Int64())
}

// ResetActive reports whether requestID is a reset request that can still take a code.
func (s *Service) ResetActive(ctx context.Context, requestID string) bool {
	if requestID == "" || len(requestID) > 100 {
		return false
	}
	var n int
	q := s.db.Rebind(`SELECT COUNT(*) FROM password_resets WHERE request_hash = ?
		AND used_at = 0 AND expires_at > ? AND tries < ?`)
	err := s.db.GetContext(ctx, &n, q, hashToken(requestID), s.now().UnixMilli(), ResetTries)
	return err == nil && n == 1
}

// ResetPassword sets a new password with the code mailed for requestID. Every try counts,
// right or wrong; the sixth fails even with the right code. On success the code is spent,
// the account's address counts as confirmed, a lock from failed sign-ins ends, every
// session of the account is revoked and the owner gets a notice.
func (s *Service) ResetPassword(ctx context.Context, requestID, code, newPassword string) (
	*User, error) {
	// The new password is checked first, so that a weak one costs no try.
	if err := s.policy.Validate(newPassword); err != nil {
		return nil, passwordFault(err)
	}
	row, err := s.tryReset(ctx, requestID)
	if err != nil {
		return nil, err
	}
	want := s.mac("reset", requestID, cleanCode(code))
	if subtle.ConstantTimeCompare([]byte(want), []byte(row.CodeHash)) != 1 || row.UserID == 0 {
		return nil, ErrResetCode
	}

	hash, err := s.hasher.Hash(ctx, newPassword)
	if err != nil {
		return nil, passwordFault(err)
	}
	if err := s.finishReset(ctx, requestID, row.UserID, hash); err != nil {
		return nil, err
	}
	// A reset is how an account is taken back: whoever held it may have left sessions
	// and API tokens behind.
	if err := s.revokeSessions(ctx, row.UserID, ""); err != nil {
		return nil, err
	}
	if err := s.revokeTokens(ctx, row.UserID); err != nil {
		return nil, err
	}
	u, err := s.ByID(ctx, row.UserID)
	if err != nil {
		return nil, err
	}
	s.alert(ctx, u, mail.AlertPasswordReset)
	return u, nil
}

// tryReset counts one try of requestID and returns the request, or ErrResetCode when it
// cannot take another.
func (s *Service) tryReset(ctx context.Context, requestID string) (*resetRow, error) {
	if requestID == "" || len(requestID) > 100 {
		return nil, ErrResetCode
	}
	var row resetRow
	err := s.db.Tx(ctx, func(tx *sqlx.Tx) error {
		q := tx.Rebind(`UPDATE password_resets SET tries = tries + 1 WHERE request_hash = ?
			AND used_at = 0 AND expires_at > ? AND tries < ?`)
		res, err := tx.ExecContext(ctx, q, hashToken(requestID), s.now().UnixMilli(),
			ResetTries)
		if err != nil {
			return fmt.Errorf("count reset try: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrResetCode
		}
		q = tx.Rebind(`SELECT user_id, code_hash, tries, expires_at, used_at
			FROM password_resets WHERE request_hash = ?`)
		if err := tx.GetContext(ctx, &row, q, hashToken(requestID)); err != nil {
			return fmt.Errorf("read reset request: %w", err)
		}
		return nil
	})
	return &row, err
}

// finishReset spends the request and stores the new password hash in one transaction; a
// code used at the same moment by two browsers works for one of them only.
func (s *Service) finishReset(ctx context.Context, requestID string, userID int64,
	hash string) error {
	return s.db.Tx(ctx, func(tx *sqlx.Tx) error {
		now := s.now().UnixMilli()
		q := tx.Rebind(`UPDATE password_resets SET used_at = ?
			WHERE request_hash = ? AND used_at = 0`)
		res, err := tx.ExecContext(ctx, q, now, hashToken(requestID))
		if err != nil {
			return fmt.Errorf("spend reset code: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrResetCode
		}
		// Every other open request of the account ends too.
		q = tx.Rebind(`UPDATE password_resets SET used_at = ? WHERE user_id = ? AND used_at = 0`)
		if _, err := tx.ExecContext(ctx, q, now, userID); err != nil {
			return fmt.Errorf("end reset requests: %w", err)
		}
		return s.setUser(ctx, tx, userID, `password_hash = ?, email_verified = ?,
			failed_logins = 0, locked_until = 0`, hash, true)
	})
}

// cleanCode removes spaces and dashes typed inside a code.
func cleanCode(code string) string {
	out := make([]byte, 0, len(code))
	for i := 0; i < len(code) && len(out) <= 64; i++ {
		if c := code[i]; c != ' ' && c != '-' && c != '\t' {
			out = append(out, c)
		}
	}
	return string(out)
}
