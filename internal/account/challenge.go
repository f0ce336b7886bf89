package account

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/fault"
)

// A sign-in with two-factor sign-in on happens in two steps: the password (or a provider)
// opens a challenge, held by the browser as a random token, and the second factor answers
// it. Only then does a session start.
const (
	ChallengeLifetime = 5 * time.Minute
	ChallengeTries    = 5
)

// ErrChallenge answers a second step that expired or was failed too often.
var ErrChallenge = fault.New(fault.Unauthorized, "This sign-in took too long or had too "+
	"many wrong codes. Sign in again.")

// SecondStep is a challenge answered correctly.
type SecondStep struct {
	User   *User
	Method string // how the first step signed in: "password" or "oidc:<provider>"
	Factor string // "totp" or "recovery_code"
	Next   string // where to go afterwards
}

type challengeRow struct {
	UserID int64  `db:"user_id"`
	Method string `db:"method"`
	Next   string `db:"next_path"`
	Tries  int    `db:"tries"`
}

// StartChallenge opens the second step of a sign-in for userID and returns its token.
func (s *Service) StartChallenge(ctx context.Context, userID int64, method, next string) (
	string, error) {
	token := randomToken(32)
	q := s.db.Rebind(`INSERT INTO login_challenges (token_hash, user_id, method, next_path,
		expires_at) VALUES (?, ?, ?, ?, ?)`)
	_, err := s.db.ExecContext(ctx, q, hashToken(token), userID, method, clipText(next, 512),
		s.now().Add(ChallengeLifetime).UnixMilli())
	if err != nil {
		return "", fmt.Errorf("start challenge: %w", err)
	}
	return token, nil
}

// ChallengeOpen reports whether token is a challenge that can still be answered.
func (s *Service) ChallengeOpen(ctx context.Context, token string) bool {
	_, err := s.findChallenge(ctx, s.db, token)
	return err == nil
}

func (s *Service) findChallenge(ctx context.Context, db getter, token string) (
	*challengeRow, error) {
	if token == "" || len(token) > 100 {
		return nil, ErrChallenge
	}
	var c challengeRow
	q := db.Rebind(`SELECT user_id, method, next_path, tries FROM login_challenges
		WHERE token_hash = ? AND expires_at > ? AND tries < ?`)
	err := db.GetContext(ctx, &c, q, hashToken(token), s.now().UnixMilli(), ChallengeTries)
	if errors.Is(database.NotFound(err), database.ErrNotFound) {
		return nil, ErrChallenge
	}
	if err != nil {
		return nil, fmt.Errorf("find challenge: %w", err)
	}
	return &c, nil
}

// AnswerChallenge checks the second factor for token. A right answer ends the challenge
// and returns the SecondStep; a wrong one counts, and after ChallengeTries the challenge
// is gone. The Failure, when there is one, is for the audit log.
func (s *Service) AnswerChallenge(ctx context.Context, token, code string) (
	*SecondStep, *Failure, error) {
	c, err := s.countChallengeTry(ctx, token)
	if err != nil {
		return nil, &Failure{Reason: "two_factor_expired"}, err
	}
	u, err := s.ByID(ctx, c.UserID)
	if err != nil {
		return nil, nil, err
	}
	if u.Status != StatusActive {
		return nil, &Failure{Reason: u.Status, UserID: u.ID}, ErrChallenge
	}

	factor, err := s.checkSecondFactor(ctx, u, code)
	if err != nil {
		f := &Failure{Reason: "wrong_two_factor_code", UserID: u.ID, Attempts: c.Tries}
		if c.Tries >= ChallengeTries {
			return nil, f, ErrChallenge
		}
		return nil, f, err
	}
	q := s.db.Rebind(`DELETE FROM login_challenges WHERE token_hash = ?`)
	if _, err := s.db.ExecContext(ctx, q, hashToken(token)); err != nil {
		return nil, nil, fmt.Errorf("end challenge: %w", err)
	}
	return &SecondStep{User: u, Method: c.Method, Factor: factor, Next: c.Next}, nil, nil
}

// countChallengeTry counts one answer to token and returns the challenge.
func (s *Service) countChallengeTry(ctx context.Context, token string) (*challengeRow, error) {
	var c *challengeRow
	err := s.db.Tx(ctx, func(tx *sqlx.Tx) error {
		var err error
		if c, err = s.findChallenge(ctx, tx, token); err != nil {
			return err
		}
		q := tx.Rebind(`UPDATE login_challenges SET tries = tries + 1
			WHERE token_hash = ? AND tries < ?`)
		res, err := tx.ExecContext(ctx, q, hashToken(token), ChallengeTries)
		if err != nil {
			return fmt.Errorf("count challenge try: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrChallenge
		}
		c.Tries++
		return nil
	})
	return c, err
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
