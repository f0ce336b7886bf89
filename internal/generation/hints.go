package generation

import (
	"context"
	"fmt"
)

// TrackRequest records the request another kind of job (a training) submitted to a
// provider, so that the provider's verified webhook (FALWebhook) marks it as it marks an
// image job's request. Tracking the same job again replaces its request.
func (s *Service) TrackRequest(ctx context.Context, jobID, provider, requestID string) error {
	q := s.db.Rebind(`INSERT INTO provider_requests (job_id, provider, request_id, handle,
		created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (job_id) DO UPDATE SET provider = excluded.provider,
		request_id = excluded.request_id, handle = excluded.handle, notified_status = '',
		notified_at = 0`)
	_, err := s.db.ExecContext(ctx, q, jobID, provider, requestID, requestID,
		s.now().UnixMilli())
	if err != nil {
		return fmt.Errorf("track provider request: %w", err)
	}
	return nil
}

// Notified reports whether a verified webhook said job jobID's provider request is done,
// on whichever instance the webhook arrived.
func (s *Service) Notified(ctx context.Context, jobID string) bool {
	return s.notified(ctx, jobID)
}
