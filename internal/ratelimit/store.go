package ratelimit

import (
	"context"
	"time"
)

// Store counts requests per key. Implementations are safe for concurrent use, and a Hit is
// atomic: however many callers race on one key, at most Limit of them are allowed per Period.
type Store interface {
	// Hit records one request for key under rate and reports whether it is allowed. A request
	// that is refused is not counted, so a client hammering a limit does not extend it.
	Hit(ctx context.Context, key string, rate Rate) (Result, error)

	// Reset forgets everything recorded for key.
	Reset(ctx context.Context, key string) error
}

// Result is the outcome of one Hit, with what a client needs for RateLimit-* headers.
type Result struct {
	// Allowed reports whether the request may proceed.
	Allowed bool

	// Limit is the rate's request count.
	Limit int

	// Remaining is how many more requests would be allowed right now.
	Remaining int

	// ResetAfter is the time until the key has its full limit available again.
	ResetAfter time.Duration

	// RetryAfter is the time until the next request is allowed; zero when Allowed.
	RetryAfter time.Duration
}

// gcra applies one request at now to a key whose theoretical arrival time is tat, all in
// microseconds. It returns the new theoretical arrival time to store (equal to tat when the
// request is refused) and the result.
//
// The burst tolerance is Limit*interval rather than Period so that integer rounding of the
// interval can never allow one request more than Limit.
func gcra(tat, now int64, rate Rate) (int64, Result) {
	interval := rate.interval().Microseconds()
	burst := int64(rate.Limit) * interval
	if tat < now {
		tat = now
	}

	next := tat + interval
	if next-now > burst {
		return tat, Result{
			Limit:      rate.Limit,
			ResetAfter: micros(tat - now),
			RetryAfter: micros(next - burst - now),
		}
	}

	return next, Result{
		Allowed:    true,
		Limit:      rate.Limit,
		Remaining:  int((burst - (next - now)) / interval),
		ResetAfter: micros(next - now),
	}
}

// micros converts a count of microseconds to a Duration.
func micros(us int64) time.Duration {
	return time.Duration(us) * time.Microsecond
}
