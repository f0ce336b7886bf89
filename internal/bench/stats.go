package bench

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Percentile returns the p-th percentile (0 < p <= 100) of sorted by the nearest-rank
// method: the smallest value that at least p percent of the values do not exceed. It
// returns 0 for an empty slice.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	p = min(max(p, 0), 100)

	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// Ratio returns a/b, or NaN when b is zero or either is not a number, so that a missing
// reference can never pass as a met target.
func Ratio(a, b float64) float64 {
	if b == 0 || math.IsNaN(a) || math.IsNaN(b) {
		return math.NaN()
	}
	return a / b
}

// Summary is the outcome of one load run.
type Summary struct {
	Requests  int             // answered as expected within the measured window
	Errors    int             // failed or answered with another status
	Elapsed   time.Duration   // length of the measured window
	Latencies []time.Duration // of the Requests, sorted
	FirstErr  string          // the first failure, for the report
}

// RPS returns the requests answered per second.
func (s Summary) RPS() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Requests) / s.Elapsed.Seconds()
}

// P returns the p-th percentile latency.
func (s Summary) P(p float64) time.Duration { return Percentile(s.Latencies, p) }

// String gives requests per second, p50 and p99 in a table cell's few words.
func (s Summary) String() string {
	out := fmt.Sprintf("%.0f req/s, p50 %s, p99 %s", s.RPS(), ms(s.P(50)), ms(s.P(99)))
	if s.Errors > 0 {
		out += fmt.Sprintf(", %d errors", s.Errors)
	}
	return out
}

// Combine merges summaries of the same load measured in several windows into one.
func Combine(parts []Summary) Summary {
	var out Summary
	lat := make([][]time.Duration, 0, len(parts))
	for _, p := range parts {
		out.Requests += p.Requests
		out.Errors += p.Errors
		out.Elapsed += p.Elapsed
		if out.FirstErr == "" {
			out.FirstErr = p.FirstErr
		}
		lat = append(lat, p.Latencies)
	}
	out.Latencies = merge(lat, 0, "", 0).Latencies
	return out
}

// merge combines per-worker latencies into one sorted summary.
func merge(parts [][]time.Duration, errs int, firstErr string, elapsed time.Duration) Summary {
	var all []time.Duration
	for _, p := range parts {
		all = append(all, p...)
	}
	slices.Sort(all)
	return Summary{Requests: len(all), Errors: errs, Elapsed: elapsed, Latencies: all,
		FirstErr: firstErr}
}

// ms formats a duration in milliseconds with a precision that suits its size.
func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f ms", v)
	case v >= 10:
		return fmt.Sprintf("%.1f ms", v)
	default:
		return fmt.Sprintf("%.2f ms", v)
	}
}

// mb formats bytes as megabytes.
func mb(b float64) string { return fmt.Sprintf("%.1f MB", b/(1<<20)) }

// Op is how a measured value is compared with its target.
type Op int

// The comparisons a target can make.
const (
	AtLeast Op = iota // value >= limit
	AtMost            // value <= limit
	Below             // value < limit
)

// Target is the goal of one row: the value (a ratio, or an absolute figure such as
// megabytes) compared with a limit.
type Target struct {
	Op    Op
	Limit float64
	Text  string // how the table states it, such as ">= 30% of the reference's req/s"
}

// Met reports whether v reaches the target. A value that is not a number never does.
func (t Target) Met(v float64) bool {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return false
	}
	switch t.Op {
	case AtLeast:
		return v >= t.Limit
	case AtMost:
		return v <= t.Limit
	case Below:
		return v < t.Limit
	}
	return false
}
