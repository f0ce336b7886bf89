package security_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/password"
	"github.com/sketchmaker/sketchmaker/internal/security"
	"github.com/sketchmaker/sketchmaker/internal/setting"
)

var defaults = security.Settings{
	LockoutThreshold: 5, LockoutDuration: 300 * time.Second,
	SessionLifetime: 24 * time.Hour, SessionIdle: 2 * time.Hour, PasswordMinLength: 8,
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newStore(t *testing.T, db *database.DB) (*security.Store, *setting.Store, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)}
	st := setting.New(db, c.now)
	return security.New(st, defaults, c.now), st, c
}

func TestDefaultsThenSave(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s, _, _ := newStore(t, db)
		if got := s.Current(ctx); got != defaults {
			t.Fatalf("never saved: %+v, want the defaults", got)
		}

		next := defaults
		next.LockoutThreshold, next.SessionIdle, next.PasswordMinLength = 3, time.Hour, 10
		changes, err := s.Save(ctx, next, 7)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][2]string{
			"security.lockout_threshold":    {"5", "3"},
			"security.session_idle_seconds": {"7200", "3600"},
			"security.password_min_length":  {"8", "10"},
		}
		if len(changes) != len(want) {
			t.Fatalf("changes %+v, want %d of them", changes, len(want))
		}
		for _, c := range changes {
			if w := want[c.Setting]; w != [2]string{c.Old, c.New} {
				t.Errorf("change %+v, want old/new %v", c, w)
			}
		}

		// The saving instance applies the change at once, despite the cache.
		if got := s.Current(ctx); got != next {
			t.Fatalf("after save: %+v, want %+v", got, next)
		}
		if changes, _ := s.Save(ctx, next, 7); len(changes) != 0 {
			t.Fatalf("saving the same values changed %+v", changes)
		}
	})
}

func TestOtherInstancesSeeChangesAfterTheCache(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		a, st, clk := newStore(t, db)
		b := security.New(st, defaults, clk.now)
		_ = b.Current(ctx)

		next := defaults
		next.PasswordMinLength = 12
		if _, err := a.Save(ctx, next, 1); err != nil {
			t.Fatal(err)
		}
		if b.Current(ctx).PasswordMinLength != 8 {
			t.Fatal("the other instance did not use its cached copy")
		}
		clk.t = clk.t.Add(security.CacheFor)
		if got := b.Current(ctx).PasswordMinLength; got != 12 {
			t.Fatalf("after the cache ran out the other instance sees %d", got)
		}
	})
}

func TestCheckRanges(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*security.Settings)
		field string
	}{
		{"threshold 0", func(s *security.Settings) { s.LockoutThreshold = 0 }, "lockout_threshold"},
		{"threshold 101", func(s *security.Settings) { s.LockoutThreshold = 101 },
			"lockout_threshold"},
		{"lockout 10 s", func(s *security.Settings) { s.LockoutDuration = 10 * time.Second },
			"lockout_seconds"},
		{"lifetime 1 min", func(s *security.Settings) { s.SessionLifetime = time.Minute },
			"session_lifetime_seconds"},
		{"idle above lifetime", func(s *security.Settings) { s.SessionIdle = 25 * time.Hour },
			"session_idle_seconds"},
		{"password 6", func(s *security.Settings) { s.PasswordMinLength = 6 },
			"password_min_length"},
		{"password 65", func(s *security.Settings) { s.PasswordMinLength = 65 },
			"password_min_length"},
	}
	for _, tt := range tests {
		v := defaults
		tt.edit(&v)
		fe := fault.As(security.Check(v))
		if fe == nil || fe.Field != tt.field || fe.Kind != fault.Invalid {
			t.Errorf("%s: %v, want a refusal of %s", tt.name, fe, tt.field)
		}
	}
	if err := security.Check(defaults); err != nil {
		t.Fatalf("the defaults are refused: %v", err)
	}
}

func TestValidateUsesTheMinimumInForce(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newStore(t, dbtest.SQLite(t))
	const pw = "tall tree 7" // 11 characters
	if err := s.Validate(pw); err != nil {
		t.Fatalf("with the default minimum: %v", err)
	}
	next := defaults
	next.PasswordMinLength = 12
	if _, err := s.Save(ctx, next, 1); err != nil {
		t.Fatal(err)
	}
	var pe *password.Error
	if err := s.Validate(pw); !errors.As(err, &pe) {
		t.Fatalf("an 11-character password under a minimum of 12: %v", err)
	}
}
