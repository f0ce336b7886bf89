package account_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/account"
	"github.com/sketchmaker/sketchmaker/internal/credit"
	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/password"
	"github.com/sketchmaker/sketchmaker/internal/role"
)

const pw = "correct horse 42"

type clock struct{ t time.Time }

// clockStart is when the tests' clocks start.
var clockStart = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func (c *clock) now() time.Time { return c.t }

func newService(t *testing.T, db *database.DB) (*account.Service, *clock, *password.Hasher) {
	t.Helper()
	c := &clock{t: clockStart}
	h := password.NewHasher(10, 2)
	pol, err := password.NewPolicy(8, 10)
	if err != nil {
		t.Fatal(err)
	}
	return account.New(db, h, pol, credit.New(db, c.now), account.Lockout{}, c.now), c, h
}

func TestCreateAndAuthenticate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s, _, _ := newService(t, db)
		u, err := s.Create(ctx, account.NewUser{Email: " Bob@Example.ORG", Password: pw})
		if err != nil {
			t.Fatal(err)
		}
		if u.Email != "bob@example.org" || u.Role != role.User || u.Credits != 3000 ||
			u.Username != "bob" || u.PasswordHash == pw {
			t.Fatalf("created user = %+v", u)
		}

		got, fail, err := s.Authenticate(ctx, "BOB@example.org", pw)
		if err != nil || fail != nil || got.ID != u.ID || got.LastLoginAt == 0 {
			t.Fatalf("authenticate: %+v %+v %v", got, fail, err)
		}

		_, err = s.Create(ctx, account.NewUser{Email: "bob@EXAMPLE.org", Password: pw})
		if fe := fault.As(err); fe == nil || fe.Field != "email" {
			t.Fatalf("duplicate address: %v", err)
		}
	})
}

func TestNobodyBecomesSuperadminByRegistering(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s, _, _ := newService(t, db)
		u, err := s.Create(ctx, account.NewUser{Email: "first@example.com", Password: pw})
		if err != nil {
			t.Fatal(err)
		}
		if u.Role != role.User {
			t.Fatalf("the first account got role %q", u.Role)
		}
		if ok, _ := s.SuperadminExists(ctx); ok {
			t.Fatal("a superadmin exists after a plain registration")
		}
	})
}

func TestLockoutAfterFiveFailures(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s, clk, _ := newService(t, db)
		if _, err := s.Create(ctx, account.NewUser{Email: "l@example.com", Password: pw}); err != nil {
			t.Fatal(err)
		}
		var last *account.Failure
		for i := 1; i <= 5; i++ {
			_, f, err := s.Authenticate(ctx, "l@example.com", "wrong password 1")
			if !errors.Is(err, account.ErrBadCredentials) || f.Attempts != i {
				t.Fatalf("attempt %d: %v %+v", i, err, f)
			}
			last = f
		}
		if !last.Locked {
			t.Fatal("the fifth failure did not lock the account")
		}

		// Locked: the right password fails with the same answer, and the timer is not
		// re-armed by attempts during the lock.
		clk.t = clk.t.Add(299 * time.Second)
		_, f, err := s.Authenticate(ctx, "l@example.com", pw)
		if !errors.Is(err, account.ErrBadCredentials) || f.Reason != "locked" {
			t.Fatalf("during lock: %v %+v", err, f)
		}
		clk.t = clk.t.Add(2 * time.Second)
		if _, _, err := s.Authenticate(ctx, "l@example.com", pw); err != nil {
			t.Fatalf("after the lock ran out: %v", err)
		}
	})
}

func TestUnknownEmailSpendsAHash(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		s, _, h := newService(t, db)
		before := h.Calls()
		_, f, err := s.Authenticate(context.Background(), "ghost@example.com", pw)
		if !errors.Is(err, account.ErrBadCredentials) || f.Reason != "unknown_email" {
			t.Fatalf("unknown email: %v %+v", err, f)
		}
		if h.Calls() != before+1 {
			t.Fatalf("bcrypt calls %d → %d, want one more", before, h.Calls())
		}
	})
}

func TestSetupTokenIsSingleUse(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s, clk, _ := newService(t, db)
		tok, err := s.IssueSetupToken(ctx)
		if err != nil || len(tok) < 30 {
			t.Fatalf("token %q: %v", tok, err)
		}
		if err := s.CheckSetupToken(ctx, "wrong"); !errors.Is(err, account.ErrSetupToken) {
			t.Fatalf("wrong token: %v", err)
		}

		u, err := s.CompleteSetup(ctx, tok, account.NewUser{Email: "root@example.com",
			Password: pw})
		if err != nil || u.Role != role.Superadmin {
			t.Fatalf("setup: %+v %v", u, err)
		}
		if _, err := s.CompleteSetup(ctx, tok, account.NewUser{Email: "x@example.com",
			Password: pw}); !errors.Is(err, account.ErrSetupDone) {
			t.Fatalf("second use: %v", err)
		}
		if tok, _ := s.IssueSetupToken(ctx); tok != "" {
			t.Fatal("a setup token was issued after setup")
		}
		_ = clk
	})
}

func TestSetupTokenExpires(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s, clk, _ := newService(t, db)
		tok, _ := s.IssueSetupToken(ctx)
		clk.t = clk.t.Add(61 * time.Minute)
		if err := s.CheckSetupToken(ctx, tok); !errors.Is(err, account.ErrSetupToken) {
			t.Fatalf("expired token: %v", err)
		}
	})
}

func TestNormalizeEmail(t *testing.T) {
	good := map[string]string{
		" Ann@Example.COM ":      "ann@example.com",
		"a.b+tag@sub.example.io": "a.b+tag@sub.example.io",
		"иван@пример.рф":         "иван@пример.рф", // one alphabet in each part
		"maria@παράδειγμα.gr":    "maria@παράδειγμα.gr",
	}
	for in, want := range good {
		if got, err := account.NormalizeEmail(in); err != nil || got != want {
			t.Errorf("NormalizeEmail(%q) = %q, %v", in, got, err)
		}
	}
	bad := []string{"", "plain", "a@b", "Ann <ann@example.com>", "a@@example.com",
		"a b@example.com", "a@example..com", "a\r\n@example.com",
		strings.Repeat("a", 250) + "@example.com", "a@.example.com",
		"super\u200b@example.com", "super@exa\u2060mple.com", // invisible characters
		"admin@ex\u0430mple.com", "\u0430dmin@example.com", // a Cyrillic а among Latin
		"p\u03bfst@example.com"} // a Greek ο among Latin
	for _, in := range bad {
		if _, err := account.NormalizeEmail(in); fault.As(err) == nil {
			t.Errorf("NormalizeEmail(%q) accepted", in)
		}
	}
}

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"a@example.com", "<a@b.c>", "\"x y\"@example.com", "a@b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := account.NormalizeEmail(s)
		if err != nil {
			return
		}
		again, err := account.NormalizeEmail(got)
		if err != nil || again != got {
			t.Fatalf("not idempotent: %q → %q → %q (%v)", s, got, again, err)
		}
		if strings.ContainsAny(got, " \r\n\t<>") {
			t.Fatalf("accepted %q", got)
		}
	})
}
