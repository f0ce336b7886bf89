// Package setting keeps the instance settings that administrators change at run time, such
// as credit costs, rate limits or sign-in methods, in the settings table. A setting that was
// never saved falls back to the default its caller passes, usually from the configuration.
package setting

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/database"
)

// Store reads and writes settings.
type Store struct {
	db  *database.DB
	now func() time.Time
}

// New returns a settings store.
func New(db *database.DB, now func() time.Time) *Store {
	return &Store{db: db, now: now}
}

// Get returns the saved value of key and whether one was saved.
func (s *Store) Get(ctx context.Context, key string) (string, bool, error) {
	var v string
	q := s.db.Rebind(`SELECT value FROM settings WHERE key = ?`)
	err := s.db.GetContext(ctx, &v, q, key)
	if errors.Is(database.NotFound(err), database.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read setting %s: %w", key, err)
	}
	return v, true, nil
}

// String returns the saved value of key, or def when none was saved.
func (s *Store) String(ctx context.Context, key, def string) (string, error) {
	v, ok, err := s.Get(ctx, key)
	if err != nil || !ok {
		return def, err
	}
	return v, nil
}

// Bool returns the saved boolean of key, or def.
func (s *Store) Bool(ctx context.Context, key string, def bool) (bool, error) {
	v, ok, err := s.Get(ctx, key)
	if err != nil || !ok {
		return def, err
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return def, fmt.Errorf("setting %s holds %q, not a boolean", key, v)
	}
	return b, nil
}

// Int returns the saved integer of key, or def.
func (s *Store) Int(ctx context.Context, key string, def int64) (int64, error) {
	v, ok, err := s.Get(ctx, key)
	if err != nil || !ok {
		return def, err
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return def, fmt.Errorf("setting %s holds %q, not a whole number", key, v)
	}
	return n, nil
}

// Set saves value under key and returns the value it replaced ("" when there was none), so
// the caller can audit the change with its old and new values.
func (s *Store) Set(ctx context.Context, key, value string, actorID int64) (string, error) {
	old, _, err := s.Get(ctx, key)
	if err != nil {
		return "", err
	}
	q := s.db.Rebind(`INSERT INTO settings (key, value, updated_at, updated_by)
		VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value,
		updated_at = excluded.updated_at, updated_by = excluded.updated_by`)
	if _, err := s.db.ExecContext(ctx, q, key, value, s.now().UnixMilli(), actorID); err != nil {
		return "", fmt.Errorf("save setting %s: %w", key, err)
	}
	return old, nil
}

// Delete removes key, so its default applies again.
func (s *Store) Delete(ctx context.Context, key string) error {
	q := s.db.Rebind(`DELETE FROM settings WHERE key = ?`)
	if _, err := s.db.ExecContext(ctx, q, key); err != nil {
		return fmt.Errorf("delete setting %s: %w", key, err)
	}
	return nil
}
