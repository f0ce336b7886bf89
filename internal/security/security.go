// Package security holds the security settings that the superadmin changes while the
// server runs: the lockout after failed sign-ins, the session lifetime and idle timeout,
// and the shortest password. Values live in the settings table; a value never saved falls
// back to the default given at start, which comes from the configuration. (Sign-in methods,
// approval and the two-factor requirement are the account rules of the account and signin
// packages.)
//
// Readers on hot paths (every request reads the session lifetimes) get a copy cached for a
// few seconds, so a change reaches this instance at once and other instances within
// CacheFor.
package security

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/password"
	"github.com/sketchmaker/sketchmaker/internal/setting"
)

// CacheFor is how long a read of the settings is reused before the table is read again.
const CacheFor = 5 * time.Second

// Settings are the security settings in force.
type Settings struct {
	LockoutThreshold  int           // failed sign-ins in a row that lock an account
	LockoutDuration   time.Duration // how long the lock lasts
	SessionLifetime   time.Duration // absolute lifetime of a session
	SessionIdle       time.Duration // time without a request that ends a session
	PasswordMinLength int           // shortest new password, in characters
}

// Change is one setting that a save changed, for the audit trail.
type Change struct {
	Setting string
	Old     string
	New     string
}

// Limits on the values an administrator may choose.
const (
	MinLockoutThreshold = 1
	MaxLockoutThreshold = 100
	MinLockout          = 30 * time.Second
	MaxLockout          = 24 * time.Hour
	MinSessionLifetime  = 5 * time.Minute
	MaxSessionLifetime  = 30 * 24 * time.Hour
	MinSessionIdle      = time.Minute
	MaxPasswordMin      = 64
)

// Settings keys.
const (
	keyLockoutThreshold = "security.lockout_threshold"
	keyLockoutSeconds   = "security.lockout_seconds"
	keyLifetimeSeconds  = "security.session_lifetime_seconds"
	keyIdleSeconds      = "security.session_idle_seconds"
	keyPasswordMin      = "security.password_min_length"
)

// Store reads and saves the security settings.
type Store struct {
	settings *setting.Store
	defaults Settings
	now      func() time.Time

	mu       sync.Mutex
	cached   Settings
	cachedAt time.Time
}

// New returns a Store over the settings table with the defaults that apply to values never
// saved.
func New(st *setting.Store, defaults Settings, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{settings: st, defaults: defaults, now: now}
}

// Defaults returns the values that apply to settings never saved.
func (s *Store) Defaults() Settings { return s.defaults }

// Current returns the settings in force, from a copy at most CacheFor old. When the table
// cannot be read it returns the last good copy, or the defaults.
func (s *Store) Current(ctx context.Context) Settings {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.cachedAt.IsZero() && s.now().Sub(s.cachedAt) < CacheFor {
		return s.cached
	}

	cur, err := s.Load(ctx)
	if err != nil {
		if s.cachedAt.IsZero() {
			return s.defaults
		}
		return s.cached
	}
	s.cached, s.cachedAt = cur, s.now()
	return cur
}

// Load reads the settings in force from the table.
func (s *Store) Load(ctx context.Context) (Settings, error) {
	d := s.defaults
	var out Settings
	var err error
	read := func(key string, def int64) int64 {
		if err != nil {
			return def
		}
		var v int64
		v, err = s.settings.Int(ctx, key, def)
		return v
	}

	out.LockoutThreshold = int(read(keyLockoutThreshold, int64(d.LockoutThreshold)))
	out.LockoutDuration = seconds(read(keyLockoutSeconds, secs(d.LockoutDuration)))
	out.SessionLifetime = seconds(read(keyLifetimeSeconds, secs(d.SessionLifetime)))
	out.SessionIdle = seconds(read(keyIdleSeconds, secs(d.SessionIdle)))
	out.PasswordMinLength = int(read(keyPasswordMin, int64(d.PasswordMinLength)))
	if err != nil {
		return Settings{}, err
	}
	return out, nil
}

// Check refuses settings outside the allowed ranges, naming the field at fault.
func Check(v Settings) error {
	switch {
	case v.LockoutThreshold < MinLockoutThreshold || v.LockoutThreshold > MaxLockoutThreshold:
		return fault.Field("lockout_threshold", "The lockout threshold must be from 1 to "+
			"100 failed sign-ins.")
	case v.LockoutDuration < MinLockout || v.LockoutDuration > MaxLockout:
		return fault.Field("lockout_seconds", "The lockout must last from 30 seconds to "+
			"86400 seconds (a day).")
	case v.SessionLifetime < MinSessionLifetime || v.SessionLifetime > MaxSessionLifetime:
		return fault.Field("session_lifetime_seconds", "The session lifetime must be from "+
			"300 seconds to 2592000 seconds (30 days).")
	case v.SessionIdle < MinSessionIdle || v.SessionIdle > v.SessionLifetime:
		return fault.Field("session_idle_seconds", "The idle timeout must be at least 60 "+
			"seconds and no longer than the session lifetime.")
	case v.PasswordMinLength < password.DefaultMinLength || v.PasswordMinLength > MaxPasswordMin:
		return fault.Field("password_min_length", "The shortest password must be from "+
			strconv.Itoa(password.DefaultMinLength)+" to "+strconv.Itoa(MaxPasswordMin)+
			" characters.")
	}
	return nil
}

// Save checks next and stores every value that differs from the one in force, on behalf of
// actorID, and returns what changed.
func (s *Store) Save(ctx context.Context, next Settings, actorID int64) ([]Change, error) {
	if err := Check(next); err != nil {
		return nil, err
	}
	cur, err := s.Load(ctx)
	if err != nil {
		return nil, err
	}

	pairs := []struct {
		key      string
		old, new string
	}{
		{keyLockoutThreshold, itoa(cur.LockoutThreshold), itoa(next.LockoutThreshold)},
		{keyLockoutSeconds, dur(cur.LockoutDuration), dur(next.LockoutDuration)},
		{keyLifetimeSeconds, dur(cur.SessionLifetime), dur(next.SessionLifetime)},
		{keyIdleSeconds, dur(cur.SessionIdle), dur(next.SessionIdle)},
		{keyPasswordMin, itoa(cur.PasswordMinLength), itoa(next.PasswordMinLength)},
	}
	var changes []Change
	for _, p := range pairs {
		if p.old == p.new {
			continue
		}
		if _, err := s.settings.Set(ctx, p.key, p.new, actorID); err != nil {
			return changes, err
		}
		changes = append(changes, Change{Setting: p.key, Old: p.old, New: p.new})
	}

	s.forget()
	return changes, nil
}

// forget drops the cached copy so that this instance applies a save at once.
func (s *Store) forget() {
	s.mu.Lock()
	s.cachedAt = time.Time{}
	s.mu.Unlock()
}

// Validate checks a new password against the password policy with the shortest length in
// force. It satisfies the account service's Validator.
func (s *Store) Validate(pw string) error {
	// The Validator interface carries no context; the read is cached and short.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return password.Policy{MinLength: s.Current(ctx).PasswordMinLength}.Validate(pw)
}

func seconds(n int64) time.Duration { return time.Duration(n) * time.Second }

func secs(d time.Duration) int64 { return int64(d / time.Second) }

func itoa(n int) string { return strconv.Itoa(n) }

func dur(d time.Duration) string { return strconv.FormatInt(secs(d), 10) }
