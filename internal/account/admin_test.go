package account_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/account"
	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/role"
)

func mustCreate(t *testing.T, s *account.Service, in account.NewUser) *account.User {
	t.Helper()
	if in.Password == "" {
		in.Password = pw
	}
	u, err := s.Create(context.Background(), in)
	if err != nil {
		t.Fatalf("create %s: %v", in.Email, err)
	}
	return u
}

func TestSearchFilters(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s, _, _ := newService(t, db)
		mustCreate(t, s, account.NewUser{Email: "ada@example.com", Username: "Ada 100%"})
		mustCreate(t, s, account.NewUser{Email: "bob@example.com", Role: role.Admin})
		mustCreate(t, s, account.NewUser{Email: "cy@example.com", Status: account.StatusPending,
			Plan: "premium"})
		premium := premiumPlanID(t, db)

		tests := []struct {
			name string
			q    account.Query
			want []string
		}{
			{"all, newest first", account.Query{},
				[]string{"cy@example.com", "bob@example.com", "ada@example.com"}},
			{"text in the email", account.Query{Text: "BOB"}, []string{"bob@example.com"}},
			{"text in the name", account.Query{Text: "ada 1"}, []string{"ada@example.com"}},
			{"a percent sign matches itself", account.Query{Text: "100%"},
				[]string{"ada@example.com"}},
			{"an underscore is no wildcard", account.Query{Text: "a_a"}, nil},
			{"role", account.Query{Role: role.Admin}, []string{"bob@example.com"}},
			{"status", account.Query{Status: account.StatusPending},
				[]string{"cy@example.com"}},
			{"plan", account.Query{PlanID: premium}, []string{"cy@example.com"}},
			{"second page", account.Query{Page: 2, Limit: 2}, []string{"ada@example.com"}},
		}
		for _, tt := range tests {
			pg, err := s.Search(ctx, tt.q)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			var got []string
			for _, u := range pg.Users {
				got = append(got, u.Email)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
			}
		}

		pg, _ := s.Search(ctx, account.Query{Limit: 2})
		if pg.Total != 3 || pg.Pages() != 2 {
			t.Errorf("total %d pages %d, want 3 and 2", pg.Total, pg.Pages())
		}
	})
}

// premiumPlanID returns the id of the premium plan.
func premiumPlanID(t *testing.T, db *database.DB) int64 {
	t.Helper()
	var id int64
	err := db.GetContext(context.Background(), &id, `SELECT id FROM plans WHERE slug = 'premium'`)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestLastSuperadminStays(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s, _, _ := newService(t, db)
		root := mustCreate(t, s, account.NewUser{Email: "root@example.com",
			Role: role.Superadmin})

		if _, err := s.ChangeRole(ctx, root.ID, role.Admin); !errors.Is(err,
			account.ErrLastSuperadmin) {
			t.Fatalf("demoting the last superadmin: %v", err)
		}
		if _, err := s.SetStatus(ctx, root.ID, account.StatusDisabled); !errors.Is(err,
			account.ErrLastSuperadmin) {
			t.Fatalf("deactivating the last superadmin: %v", err)
		}
		if err := s.Remove(ctx, root.ID); !errors.Is(err, account.ErrLastSuperadmin) {
			t.Fatalf("deleting the last superadmin: %v", err)
		}
		if u, _ := s.ByID(ctx, root.ID); u.Role != role.Superadmin || u.Status != "active" {
			t.Fatalf("the refused changes changed %+v", u)
		}

		// A disabled second superadmin does not count as a successor.
		second := mustCreate(t, s, account.NewUser{Email: "two@example.com",
			Role: role.Superadmin, Status: account.StatusDisabled})
		if _, err := s.ChangeRole(ctx, root.ID, role.User); !errors.Is(err,
			account.ErrLastSuperadmin) {
			t.Fatalf("demoting with only a disabled successor: %v", err)
		}

		// An active one does.
		if _, err := s.SetStatus(ctx, second.ID, account.StatusActive); err != nil {
			t.Fatal(err)
		}
		from, err := s.ChangeRole(ctx, root.ID, role.Admin)
		if err != nil || from != role.Superadmin {
			t.Fatalf("demoting with a successor: from %q, %v", from, err)
		}
		if err := s.Remove(ctx, second.ID); !errors.Is(err, account.ErrLastSuperadmin) {
			t.Fatalf("deleting the new last superadmin: %v", err)
		}
	})
}

// TestLastSuperadminUnderRace demotes two superadmins at the same moment: one may go, the
// other must stay.
func TestLastSuperadminUnderRace(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s, _, _ := newService(t, db)
		a := mustCreate(t, s, account.NewUser{Email: "a@example.com", Role: role.Superadmin})
		b := mustCreate(t, s, account.NewUser{Email: "b@example.com", Role: role.Superadmin})

		for round := range 20 {
			// Both superadmins again, then both demoted at the same moment.
			for _, id := range []int64{a.ID, b.ID} {
				if _, err := s.ChangeRole(ctx, id, role.Superadmin); err != nil {
					t.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			start := make(chan struct{})
			errs := make([]error, 2)
			for i, id := range []int64{a.ID, b.ID} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, errs[i] = s.ChangeRole(ctx, id, role.User)
				}()
			}
			close(start)
			wg.Wait()

			c, err := s.Count(ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			if c.Superadmins != 1 {
				t.Fatalf("round %d: %d superadmins left after two concurrent demotions "+
					"(errors %v)", round, c.Superadmins, errs)
			}
		}
	})
}

func TestUnlockAndCounts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s, clk, _ := newService(t, db)
		u := mustCreate(t, s, account.NewUser{Email: "lock@example.com"})
		for range 5 {
			_, _, _ = s.Authenticate(ctx, "lock@example.com", "wrong password 1")
		}
		if c, _ := s.Count(ctx, 0); c.Locked != 1 || c.Total != 1 || c.Active != 1 {
			t.Fatalf("counts while locked: %+v", c)
		}

		was, err := s.Unlock(ctx, u.ID)
		if err != nil || !was {
			t.Fatalf("unlock: %v %v", was, err)
		}
		if _, _, err := s.Authenticate(ctx, "lock@example.com", pw); err != nil {
			t.Fatalf("sign-in after unlock: %v", err)
		}
		if was, _ := s.Unlock(ctx, u.ID); was {
			t.Fatal("an unlocked account reported locked")
		}
		if _, err := s.Unlock(ctx, 999); !errors.Is(err, account.ErrNoUser) {
			t.Fatalf("unlock of a missing account: %v", err)
		}

		clk.t = clk.t.Add(time.Hour)
		if c, _ := s.Count(ctx, clk.t.UnixMilli()); c.NewToday != 0 {
			t.Fatalf("new today counts older accounts: %+v", c)
		}
	})
}

func TestLockoutSourceAppliesAtOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s, _, _ := newService(t, db)
		s.SetLockoutSource(func(context.Context) account.Lockout {
			return account.Lockout{Threshold: 2, Duration: time.Minute}
		})
		mustCreate(t, s, account.NewUser{Email: "two@example.com"})

		_, f1, _ := s.Authenticate(ctx, "two@example.com", "wrong password 1")
		_, f2, _ := s.Authenticate(ctx, "two@example.com", "wrong password 1")
		if f1.Locked || !f2.Locked {
			t.Fatalf("with a threshold of 2: first locked=%v, second locked=%v",
				f1.Locked, f2.Locked)
		}
	})
}

func TestStatusAndRoleAreChecked(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s, _, _ := newService(t, db)
		u := mustCreate(t, s, account.NewUser{Email: "x@example.com"})
		if _, err := s.SetStatus(ctx, u.ID, "banned"); fault.As(err) == nil {
			t.Fatalf("unknown status: %v", err)
		}
		if _, err := s.ChangeRole(ctx, u.ID, "root"); fault.As(err) == nil {
			t.Fatalf("unknown role: %v", err)
		}
		_, err := s.Create(ctx, account.NewUser{Email: "y@example.com", Password: pw,
			Status: "banned"})
		if fe := fault.As(err); fe == nil || fe.Field != "status" {
			t.Fatalf("create with an unknown status: %v", err)
		}
		pending := mustCreate(t, s, account.NewUser{Email: "p@example.com",
			Status: account.StatusPending})
		if _, _, err := s.Authenticate(ctx, "p@example.com", pw); err == nil {
			t.Fatalf("a pending account %d signed in", pending.ID)
		}
	})
}
