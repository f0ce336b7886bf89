// Package ratelimit counts requests against limits such as "20 per minute" and blocks client
// addresses that keep exceeding them.
//
// Limits use the generic cell rate algorithm (GCRA): a key may spend its whole limit at once,
// after which one more request becomes allowed every Period/Limit. Counters live either in the
// process (Memory, MemoryBlocks) or in Redis (Redis, RedisBlocks) so that several instances
// share them; both kinds honour the same contract and are tested by the same suite.
package ratelimit

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Bounds on a Rate. Periods are whole seconds so that every valid Rate can be written back in
// the "N per unit" form, and Period/Limit stays at least a microsecond, the resolution of the
// Redis store.
const (
	// MaxLimit is the largest request count of a Rate.
	MaxLimit = 1_000_000

	// MaxPeriod is the longest period of a Rate.
	MaxPeriod = 1000 * 24 * time.Hour
)

// Rate is a number of requests allowed per period of time.
type Rate struct {
	Limit  int
	Period time.Duration
}

// units lists the period units ParseRate understands, largest first, so that String picks the
// largest unit that divides a period evenly.
var units = []struct {
	name    string
	aliases []string
	length  time.Duration
}{
	{"day", []string{"day", "days", "d"}, 24 * time.Hour},
	{"hour", []string{"hour", "hours", "hr", "hrs", "h"}, time.Hour},
	{"minute", []string{"minute", "minutes", "min", "mins", "m"}, time.Minute},
	{"second", []string{"second", "seconds", "sec", "secs", "s"}, time.Second},
}

// ParseRate reads a rate written as "20 per minute", "5/minute", "100 per 10 minutes" or
// "3 per day". Units are second, minute, hour and day (singular, plural or abbreviated), in
// any letter case.
func ParseRate(s string) (Rate, error) {
	count, period, ok := splitRate(s)
	if !ok {
		return Rate{}, fmt.Errorf("rate %q: write it as \"<count> per <unit>\", "+
			"for example \"20 per minute\" or \"100 per 10 minutes\"", s)
	}

	limit, err := parseCount(count)
	if err != nil {
		return Rate{}, fmt.Errorf("rate %q: request count: %w", s, err)
	}

	length, err := parsePeriod(period)
	if err != nil {
		return Rate{}, fmt.Errorf("rate %q: %w", s, err)
	}

	r := Rate{Limit: limit, Period: length}
	if err := r.Validate(); err != nil {
		return Rate{}, fmt.Errorf("rate %q: %w", s, err)
	}
	return r, nil
}

// splitRate separates the count from the period at "per" or "/".
func splitRate(s string) (count, period string, ok bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if c, p, found := strings.Cut(s, "/"); found {
		return strings.TrimSpace(c), strings.TrimSpace(p), true
	}

	fields := strings.Fields(s)
	if len(fields) < 3 || fields[1] != "per" {
		return "", "", false
	}
	return fields[0], strings.Join(fields[2:], " "), true
}

// parseCount reads a positive decimal number of at most MaxLimit.
func parseCount(s string) (int, error) {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not a whole number", s)
	}

	n, err := strconv.Atoi(s)
	if err != nil || n > MaxLimit {
		return 0, fmt.Errorf("%q is larger than %d", s, MaxLimit)
	}
	return n, nil
}

// parsePeriod reads "minute", "10 minutes" or "10minutes".
func parsePeriod(s string) (time.Duration, error) {
	digits := len(s) - len(strings.TrimLeft(s, "0123456789"))
	unit := strings.TrimSpace(s[digits:])

	length, ok := unitLength(unit)
	if !ok {
		return 0, fmt.Errorf("unknown unit %q: use second, minute, hour or day", unit)
	}
	if digits == 0 {
		return length, nil
	}

	n, err := parseCount(s[:digits])
	if err != nil {
		return 0, fmt.Errorf("period length: %w", err)
	}
	if time.Duration(n) > MaxPeriod/length {
		return 0, fmt.Errorf("period is longer than %d days", MaxPeriod/(24*time.Hour))
	}
	return time.Duration(n) * length, nil
}

// unitLength returns the length of a unit name or alias.
func unitLength(name string) (time.Duration, bool) {
	for _, u := range units {
		for _, a := range u.aliases {
			if name == a {
				return u.length, true
			}
		}
	}
	return 0, false
}

// Validate reports whether r can be enforced: a limit of 1 to MaxLimit requests per a whole
// number of seconds no longer than MaxPeriod.
func (r Rate) Validate() error {
	switch {
	case r.Limit < 1:
		return errors.New("the request count must be at least 1")
	case r.Limit > MaxLimit:
		return fmt.Errorf("the request count must be at most %d", MaxLimit)
	case r.Period < time.Second:
		return errors.New("the period must be at least one second")
	case r.Period > MaxPeriod:
		return fmt.Errorf("the period must be at most %d days", MaxPeriod/(24*time.Hour))
	case r.Period%time.Second != 0:
		return errors.New("the period must be a whole number of seconds")
	}
	return nil
}

// String returns the canonical form of r, such as "20 per minute" or "100 per 10 minutes",
// which ParseRate reads back to the same Rate.
func (r Rate) String() string {
	for _, u := range units {
		if r.Period <= 0 || r.Period%u.length != 0 {
			continue
		}

		n := int64(r.Period / u.length)
		if n == 1 {
			return fmt.Sprintf("%d per %s", r.Limit, u.name)
		}
		return fmt.Sprintf("%d per %d %ss", r.Limit, n, u.name)
	}
	return fmt.Sprintf("%d per %s", r.Limit, r.Period)
}

// interval is the time one request occupies: Period/Limit, rounded down to a microsecond.
func (r Rate) interval() time.Duration {
	return (r.Period / time.Duration(r.Limit)).Truncate(time.Microsecond)
}

// MarshalText writes r in its canonical form.
func (r Rate) MarshalText() ([]byte, error) {
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("rate %s: %w", r, err)
	}
	return []byte(r.String()), nil
}

// UnmarshalText reads r with ParseRate, so that configuration loaders can decode rates.
func (r *Rate) UnmarshalText(text []byte) error {
	parsed, err := ParseRate(string(text))
	if err != nil {
		return err
	}

	*r = parsed
	return nil
}
