package session

import (
	"context"
	"fmt"
)

// RevokePublic ends userID's session with the public id shown on the sessions page, and
// reports whether there was one; another user's session is never touched.
func (s *Store) RevokePublic(ctx context.Context, userID int64, publicID string) (bool, error) {
	if publicID == "" || len(publicID) > 64 {
		return false, nil
	}
	q := s.db.Rebind(`DELETE FROM sessions WHERE user_id = ? AND public_id = ?`)
	res, err := s.db.ExecContext(ctx, q, userID, publicID)
	if err != nil {
		return false, fmt.Errorf("revoke session: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}
