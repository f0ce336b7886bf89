package alert_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/alert"
	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
	"github.com/sketchmaker/sketchmaker/internal/fault"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// recorder is a Notifier that remembers what it was given.
type recorder struct {
	mu   sync.Mutex
	got  []alert.Alert
	fail bool
}

func (r *recorder) Notify(ctx context.Context, a alert.Alert) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, a)
	if r.fail {
		return errors.New("smtp is down")
	}
	return nil
}

func newService(db *database.DB) (*alert.Service, *clock, *recorder) {
	c := &clock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	s := alert.New(db, c.now, slog.New(slog.NewTextHandler(io.Discard, nil)))
	rec := &recorder{}
	s.SetNotifier(rec)
	return s, c, rec
}

func TestRaiseDeduplicatesWithinAnHour(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s, c, rec := newService(db)

		first, fresh, err := s.Raise(ctx, "ip_blocked", "203.0.113.9", "Blocked.")
		if err != nil || !fresh || first.Occurrences != 1 {
			t.Fatalf("first raise = %+v, %v, %v", first, fresh, err)
		}
		c.t = c.t.Add(59 * time.Minute)
		again, fresh, err := s.Raise(ctx, "ip_blocked", "203.0.113.9", "Blocked.")
		if err != nil || fresh || again.ID != first.ID || again.Occurrences != 2 {
			t.Fatalf("repeat within the hour = %+v, fresh %v, %v", again, fresh, err)
		}
		other, fresh, err := s.Raise(ctx, "ip_blocked", "203.0.113.10", "Blocked.")
		if err != nil || !fresh || other.ID == first.ID {
			t.Fatalf("another subject = %+v, fresh %v, %v", other, fresh, err)
		}

		c.t = c.t.Add(2 * time.Minute)
		later, fresh, err := s.Raise(ctx, "ip_blocked", "203.0.113.9", "Blocked.")
		if err != nil || !fresh || later.ID == first.ID {
			t.Fatalf("repeat after the hour = %+v, fresh %v, %v", later, fresh, err)
		}
		if len(rec.got) != 3 {
			t.Errorf("notifier got %d alerts, want 3 (repeats are not passed on)",
				len(rec.got))
		}

		open, total, err := s.Open(ctx, 0)
		if err != nil || total != 3 || len(open) != 3 || open[0].ID != later.ID {
			t.Fatalf("open = %+v, %d, %v", open, total, err)
		}
	})
}

func TestNotificationsAreRateLimited(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s, c, rec := newService(db)
		rec.fail = true // a failing notifier does not fail Raise

		for i := range alert.MaxNotificationsPerHour + 5 {
			a, fresh, err := s.Raise(ctx, "suspicious_activity", fmt.Sprintf("user:%d", i),
				"Many refused prompts.")
			if err != nil || !fresh {
				t.Fatalf("raise %d: %+v %v %v", i, a, fresh, err)
			}
			if want := i < alert.MaxNotificationsPerHour; a.Notified != want {
				t.Errorf("alert %d notified = %v, want %v", i, a.Notified, want)
			}
		}
		if len(rec.got) != alert.MaxNotificationsPerHour {
			t.Errorf("notifier got %d alerts, want %d", len(rec.got),
				alert.MaxNotificationsPerHour)
		}

		c.t = c.t.Add(dedupAndAMinute())
		if a, _, err := s.Raise(ctx, "account_locked", "user:1", "Locked."); err != nil ||
			!a.Notified {
			t.Errorf("after an hour notifications resume: %+v %v", a, err)
		}
	})
}

// dedupAndAMinute is just past the deduplication window.
func dedupAndAMinute() time.Duration { return alert.DedupWindow + time.Minute }

func TestAck(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s, _, _ := newService(db)
		a, _, err := s.Raise(ctx, "account_locked", "user:7", "Locked.")
		if err != nil {
			t.Fatal(err)
		}

		if err := s.Ack(ctx, a.ID, 42); err != nil {
			t.Fatalf("ack: %v", err)
		}
		if _, total, _ := s.Open(ctx, 0); total != 0 {
			t.Errorf("%d alerts open after the ack", total)
		}
		err = s.Ack(ctx, a.ID, 42)
		if fe := fault.As(err); fe == nil || fe.Kind != fault.NotFound {
			t.Errorf("second ack = %v, want not found", err)
		}
		if err := s.Ack(ctx, 99999, 42); !errors.Is(err, alert.ErrNotFound) {
			t.Errorf("ack of an unknown alert = %v", err)
		}
	})
}
