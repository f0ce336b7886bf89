package account

import (
	"context"
	"fmt"
	"time"
)

// Sweep deletes links, reset requests, challenges and mail quotas that have expired for a
// day, and returns how many rows went.
func (s *Service) Sweep(ctx context.Context) (int64, error) {
	cutoff := s.now().Add(-24 * time.Hour).UnixMilli()
	var total int64
	for _, q := range []string{
		`DELETE FROM email_tokens WHERE expires_at < ?`,
		`DELETE FROM password_resets WHERE expires_at < ?`,
		`DELETE FROM login_challenges WHERE expires_at < ?`,
		`DELETE FROM pending_links WHERE expires_at < ?`,
		`DELETE FROM account_notices WHERE sent_at < ?`,
	} {
		res, err := s.db.ExecContext(ctx, s.db.Rebind(q), cutoff)
		if err != nil {
			return total, fmt.Errorf("sweep accounts: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}
