package session_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
	"github.com/sketchmaker/sketchmaker/internal/session"
)

func newUser(t *testing.T, db *database.DB, email string) int64 {
	t.Helper()
	var id int64
	q := db.Rebind(`INSERT INTO users (email, created_at, updated_at) VALUES (?, 0, 0)
		RETURNING id`)
	if err := db.GetContext(context.Background(), &id, q, email); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestSessionLifecycle(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		clock := func() time.Time { return now }
		s := session.New(db, 24*time.Hour, 2*time.Hour, clock)
		uid := newUser(t, db, "s@example.com")

		tok, sess, err := s.Create(ctx, uid, "192.0.2.1", "test agent")
		if err != nil {
			t.Fatal(err)
		}
		var stored string
		_ = db.GetContext(ctx, &stored, "SELECT token_hash FROM sessions")
		if stored == tok || strings.Contains(stored, tok) || stored != session.Hash(tok) {
			t.Fatal("the database holds the secret rather than its hash")
		}

		got, err := s.Lookup(ctx, tok)
		if err != nil || got.UserID != uid || got.PublicID != sess.PublicID {
			t.Fatalf("lookup: %+v %v", got, err)
		}

		// Idle for 1h59m: alive, and touched.
		now = now.Add(119 * time.Minute)
		if _, err := s.Lookup(ctx, tok); err != nil {
			t.Fatalf("after 1h59m idle: %v", err)
		}
		// Idle for two hours: gone.
		now = now.Add(2 * time.Hour)
		if _, err := s.Lookup(ctx, tok); !errors.Is(err, session.ErrNoSession) {
			t.Fatalf("after 2h idle: %v", err)
		}
	})
}

func TestAbsoluteLifetime(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		s := session.New(db, 24*time.Hour, 2*time.Hour, func() time.Time { return now })
		tok, _, _ := s.Create(ctx, newUser(t, db, "a@example.com"), "", "")
		for i := 0; i < 23; i++ { // active every hour
			now = now.Add(time.Hour)
			if _, err := s.Lookup(ctx, tok); err != nil {
				t.Fatalf("hour %d: %v", i+1, err)
			}
		}
		now = now.Add(time.Hour)
		if _, err := s.Lookup(ctx, tok); !errors.Is(err, session.ErrNoSession) {
			t.Fatalf("after 24h: %v", err)
		}
	})
}

func TestRevokeAndDelete(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := session.New(db, time.Hour, time.Hour, time.Now)
		uid := newUser(t, db, "r@example.com")
		keep, keepSess, _ := s.Create(ctx, uid, "", "")
		other, _, _ := s.Create(ctx, uid, "", "")
		n, err := s.RevokeUser(ctx, uid, keepSess.Hash)
		if err != nil || n != 1 {
			t.Fatalf("revoke: %d %v", n, err)
		}
		if _, err := s.Lookup(ctx, other); !errors.Is(err, session.ErrNoSession) {
			t.Fatal("a revoked session still works")
		}
		if err := s.Delete(ctx, keep); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Lookup(ctx, keep); !errors.Is(err, session.ErrNoSession) {
			t.Fatal("a deleted session still works")
		}
		if _, err := s.Lookup(ctx, ""); !errors.Is(err, session.ErrNoSession) {
			t.Fatal("an empty token found a session")
		}
	})
}

// TestLimitsChangeAtRunTime checks that a lifetime or idle timeout changed while the server
// runs applies to sessions already open, from their next request on.
func TestLimitsChangeAtRunTime(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		s := session.New(db, 24*time.Hour, 2*time.Hour, func() time.Time { return now })
		lifetime, idle := time.Duration(0), time.Duration(0) // 0: the fixed values
		s.SetLimits(func(context.Context) (time.Duration, time.Duration) {
			return lifetime, idle
		})
		uid := newUser(t, db, "limits@example.com")

		tok, _, _ := s.Create(ctx, uid, "", "")
		now = now.Add(90 * time.Minute)
		if _, err := s.Lookup(ctx, tok); err != nil {
			t.Fatalf("90 minutes in, with the fixed limits: %v", err)
		}

		// A shorter idle timeout ends a session idle longer than it.
		idle = 30 * time.Minute
		now = now.Add(45 * time.Minute)
		if _, err := s.Lookup(ctx, tok); !errors.Is(err, session.ErrNoSession) {
			t.Fatalf("idle 45 minutes under a 30-minute timeout: %v", err)
		}

		// A shorter lifetime ends a session that is active but older than it.
		idle = 0
		tok, _, _ = s.Create(ctx, uid, "", "")
		now = now.Add(50 * time.Minute)
		if _, err := s.Lookup(ctx, tok); err != nil {
			t.Fatalf("50 minutes in: %v", err)
		}
		lifetime = time.Hour
		now = now.Add(15 * time.Minute)
		if _, err := s.Lookup(ctx, tok); !errors.Is(err, session.ErrNoSession) {
			t.Fatalf("65 minutes into a session under a one-hour lifetime: %v", err)
		}

		// New sessions carry the lifetime in force.
		_, sess, _ := s.Create(ctx, uid, "", "")
		if got := sess.ExpiresAt - sess.CreatedAt; got != time.Hour.Milliseconds() {
			t.Fatalf("new session lives %d ms, want one hour", got)
		}
	})
}

// TestLookupWithUserReadsBoth reads a session and columns of its user in one call, and
// still ends an idle session.
func TestLookupWithUserReadsBoth(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		s := session.New(db, 24*time.Hour, time.Hour, func() time.Time { return now })
		uid := newUser(t, db, "joined@example.com")
		tok, _, err := s.Create(ctx, uid, "192.0.2.1", "agent")
		if err != nil {
			t.Fatal(err)
		}

		var id int64
		var email string
		sess, err := s.LookupWithUser(ctx, tok, "u.id, u.email", &id, &email)
		if err != nil || sess.UserID != uid || id != uid || email != "joined@example.com" {
			t.Fatalf("joined lookup: %v, session user %v, user %d %q", err, sess, id, email)
		}

		now = now.Add(2 * time.Hour)
		if _, err := s.LookupWithUser(ctx, tok, "u.id", &id); !errors.Is(err, session.ErrNoSession) {
			t.Fatalf("idle session through the joined lookup: %v", err)
		}
	})
}

func TestUserAgentsAreStoredAsText(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := session.New(db, time.Hour, time.Hour, time.Now)
		uid := newUser(t, db, "agent@example.com")
		long := strings.Repeat("a", 399) + "é and more" // é straddles the 400-byte cut
		for _, ua := range []string{"Caf\xe9Browser/1.0", "nul\x00agent", long} {
			_, sess, err := s.Create(ctx, uid, "192.0.2.1", ua)
			if err != nil {
				t.Fatalf("Create with agent %q: %v", ua, err)
			}
			if !utf8.ValidString(sess.UserAgent) || strings.ContainsRune(sess.UserAgent, 0) ||
				len(sess.UserAgent) > 400 {
				t.Fatalf("stored agent %q", sess.UserAgent)
			}
		}
	})
}
