package job

import (
	"context"
	"fmt"
)

// StatusCount is how many jobs of one provider are in one state.
type StatusCount struct {
	Provider string `db:"provider"`
	Status   string `db:"status"`
	Jobs     int    `db:"jobs"`
}

// CountByStatus returns how many jobs each provider has in each state, for monitoring.
func (s *Store) CountByStatus(ctx context.Context) ([]StatusCount, error) {
	var out []StatusCount
	err := s.db.SelectContext(ctx, &out, `SELECT provider, status, COUNT(*) AS jobs
		FROM jobs GROUP BY provider, status ORDER BY provider, status`)
	if err != nil {
		return nil, fmt.Errorf("count jobs by status: %w", err)
	}
	return out, nil
}

// ClaimStats counts what a store's workers asked of the database since the store was made.
type ClaimStats struct {
	Claims int64 // Claim transactions
	Empty  int64 // of those, the ones that found no queued job
	Checks int64 // HasQueued reads
}

// ClaimStats returns the counts so far, for tests, benchmarks and the log at shutdown.
func (s *Store) ClaimStats() ClaimStats {
	return ClaimStats{Claims: s.claims.Load(), Empty: s.empty.Load(), Checks: s.checks.Load()}
}
