package apitoken_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/apitoken"
	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
	"github.com/sketchmaker/sketchmaker/internal/fault"
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

// clock is a settable time for the store.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func lookup(s *apitoken.Store, secret string) (*apitoken.Token, string, error) {
	var email string
	t, err := s.LookupWithUser(context.Background(), secret, "192.0.2.7", "u.email", &email)
	return t, email, err
}

func TestTokenLifecycle(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		c := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		s := apitoken.New(db, c.Now)
		uid := newUser(t, db, "owner@example.com")

		secret, tok, err := s.Create(ctx, uid, "  nightly export  ", 30)
		if err != nil {
			t.Fatal(err)
		}
		if !apitoken.Looks(secret) || tok.Name != "nightly export" ||
			!strings.HasPrefix(secret, tok.Shown) || len(tok.Shown) >= len(secret)/2 {
			t.Fatalf("secret %q, token %+v", secret, tok)
		}

		// Only the hash is stored.
		var stored string
		_ = db.GetContext(ctx, &stored, "SELECT token_hash FROM api_tokens")
		if stored != apitoken.Hash(secret) || strings.Contains(stored, secret[len(apitoken.Prefix):]) {
			t.Fatalf("stored %q", stored)
		}

		got, email, err := lookup(s, secret)
		if err != nil || got.UserID != uid || email != "owner@example.com" ||
			got.LastUsedIP != "192.0.2.7" || got.LastUsedAt != c.Now().UnixMilli() {
			t.Fatalf("lookup: %+v %q %v", got, email, err)
		}

		// A secret one character off, or of another form, opens nothing.
		last := secret[len(secret)-1]
		typo := secret[:len(secret)-1] + string("AB"[boolIndex(last == 'A')])
		for _, bad := range []string{typo, "", "smk_", secret + "x", "Bearer " + secret} {
			if _, _, err := lookup(s, bad); !errors.Is(err, apitoken.ErrNoToken) {
				t.Fatalf("lookup of %q: %v", bad, err)
			}
		}

		// It expires after its 30 days.
		c.Add(30*24*time.Hour - time.Second)
		if _, _, err := lookup(s, secret); err != nil {
			t.Fatalf("a day before expiry: %v", err)
		}
		c.Add(time.Second)
		if _, _, err := lookup(s, secret); !errors.Is(err, apitoken.ErrNoToken) {
			t.Fatalf("after expiry: %v", err)
		}
		list, err := s.List(ctx, uid)
		if err != nil || len(list) != 1 || !list[0].Expired(c.Now()) {
			t.Fatalf("list: %+v %v", list, err)
		}

		// An expired token does not count against the limit, and goes 30 days on.
		for range apitoken.MaxPerUser {
			if _, _, err := s.Create(ctx, uid, "live", 0); err != nil {
				t.Fatalf("a live token beside an expired one: %v", err)
			}
		}
		if list, _ := s.List(ctx, uid); len(list) != apitoken.MaxPerUser+1 {
			t.Fatalf("%d tokens listed, want the expired one too", len(list))
		}
		if _, err := s.RevokeAll(ctx, uid); err != nil {
			t.Fatal(err)
		}
		_, _, _ = s.Create(ctx, uid, "short", 30)
		c.Add(60 * 24 * time.Hour)
		if _, _, err := s.Create(ctx, uid, "next", 30); err != nil {
			t.Fatal(err)
		}
		if list, _ := s.List(ctx, uid); len(list) != 1 || list[0].Name != "next" {
			t.Fatalf("after 60 days: %+v", list)
		}
	})
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestRevokeTouchesOnlyTheOwnersToken(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := apitoken.New(db, time.Now)
		alice, bob := newUser(t, db, "alice@example.com"), newUser(t, db, "bob@example.com")
		aliceSecret, aliceTok, err := s.Create(ctx, alice, "laptop", 0)
		if err != nil {
			t.Fatal(err)
		}
		bobSecret, _, err := s.Create(ctx, bob, "ci", 365)
		if err != nil {
			t.Fatal(err)
		}

		if _, err := s.Revoke(ctx, bob, aliceTok.ID); fault.As(err) == nil ||
			fault.As(err).Kind != fault.NotFound {
			t.Fatalf("bob revoking alice's token: %v", err)
		}
		if _, _, err := lookup(s, aliceSecret); err != nil {
			t.Fatalf("alice's token after bob's attempt: %v", err)
		}
		gone, err := s.Revoke(ctx, alice, aliceTok.ID)
		if err != nil || gone.Name != "laptop" {
			t.Fatalf("revoke: %+v %v", gone, err)
		}
		if _, _, err := lookup(s, aliceSecret); !errors.Is(err, apitoken.ErrNoToken) {
			t.Fatalf("revoked token still works: %v", err)
		}
		if _, err := s.Revoke(ctx, alice, aliceTok.ID); fault.As(err) == nil {
			t.Fatalf("second revoke: %v", err)
		}

		n, err := s.RevokeAll(ctx, bob)
		if err != nil || n != 1 {
			t.Fatalf("revoke all: %d %v", n, err)
		}
		if _, _, err := lookup(s, bobSecret); !errors.Is(err, apitoken.ErrNoToken) {
			t.Fatalf("bob's token after revoke all: %v", err)
		}
	})
}

func TestTokensGoWithTheirAccount(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := apitoken.New(db, time.Now)
		uid := newUser(t, db, "gone@example.com")
		secret, _, err := s.Create(ctx, uid, "script", 90)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, db.Rebind(`DELETE FROM users WHERE id = ?`),
			uid); err != nil {
			t.Fatal(err)
		}
		if _, _, err := lookup(s, secret); !errors.Is(err, apitoken.ErrNoToken) {
			t.Fatalf("token of a deleted account: %v", err)
		}
	})
}

func TestCreateRefusesBadInputAndTooMany(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := apitoken.New(db, time.Now)
		uid := newUser(t, db, "many@example.com")

		for _, c := range []struct {
			name  string
			days  int
			field string
		}{
			{"", 30, "name"},
			{"   ", 30, "name"},
			{strings.Repeat("n", 61), 30, "name"},
			{"tab\there", 30, "name"},
			{"bad\xffutf8", 30, "name"},
			{"evil\u202egnp.exe", 30, "name"},
			{"\u200b\u200b", 30, "name"},
			{"\ufeff", 30, "name"},
			{"ok", 7, "expires_in_days"},
			{"ok", -1, "expires_in_days"},
		} {
			_, _, err := s.Create(ctx, uid, c.name, c.days)
			fe := fault.As(err)
			if fe == nil || fe.Kind != fault.Invalid || fe.Field != c.field {
				t.Fatalf("Create(%q, %d): %v", c.name, c.days, err)
			}
		}

		// Names in any script, and emoji joined by the zero-width joiner, are fine.
		for _, name := range []string{"Ноутбук", "ci 🧑\u200d💻", "東京"} {
			if _, _, err := s.Create(ctx, uid, name, 30); err != nil {
				t.Fatalf("Create(%q): %v", name, err)
			}
		}
		if _, err := s.RevokeAll(ctx, uid); err != nil {
			t.Fatal(err)
		}

		// Twenty at once: exactly MaxPerUser are made.
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for range 20 {
			wg.Go(func() {
				_, _, err := s.Create(ctx, uid, "parallel", 0)
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		made, refused := 0, 0
		for err := range errs {
			switch fe := fault.As(err); {
			case err == nil:
				made++
			case fe != nil && fe.Kind == fault.Conflict:
				refused++
			default:
				t.Fatalf("unexpected error: %v", err)
			}
		}
		list, _ := s.List(ctx, uid)
		if made != apitoken.MaxPerUser || refused != 20-apitoken.MaxPerUser ||
			len(list) != apitoken.MaxPerUser {
			t.Fatalf("made %d, refused %d, listed %d", made, refused, len(list))
		}
	})
}
