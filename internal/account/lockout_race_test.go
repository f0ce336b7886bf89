package account_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/account"
	"github.com/sketchmaker/sketchmaker/internal/credit"
	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
	"github.com/sketchmaker/sketchmaker/internal/password"
)

// TestParallelWrongPasswordsLock sends twelve wrong passwords at once: the account locks,
// once, and the right password is then refused. Counting from the row as read before
// each check let every guess of a burst through without a lock.
func TestParallelWrongPasswordsLock(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s, _, _ := newService(t, db)
		if _, err := s.Create(ctx, account.NewUser{Email: "p@example.com",
			Password: pw}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		locks := 0
		for range 12 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, f, err := s.Authenticate(ctx, "p@example.com", "wrong password 1")
				if !errors.Is(err, account.ErrBadCredentials) {
					t.Errorf("a wrong password: %v", err)
				}
				if f != nil && f.Locked {
					mu.Lock()
					locks++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if locks != 1 {
			t.Errorf("%d failures locked the account, want exactly 1", locks)
		}
		if _, f, err := s.Authenticate(ctx, "p@example.com", pw); err == nil ||
			f == nil || f.Reason != "locked" {
			t.Fatalf("the right password after the burst: %v %+v", err, f)
		}
	})
}

// lockingHasher is a real hasher that, while it checks the right password, lets the
// test lock the account, as wrong passwords sent alongside would.
type lockingHasher struct {
	*password.Hasher
	right string
	lock  func()
}

func (h *lockingHasher) Verify(ctx context.Context, hash, pw string) (bool, error) {
	ok, err := h.Hasher.Verify(ctx, hash, pw)
	if pw == h.right && h.lock != nil {
		lock := h.lock
		h.lock = nil
		lock()
	}
	return ok, err
}

// TestLockDuringTheRightPasswordHolds locks the account while the right password is being
// checked: that sign-in is refused as locked rather than clearing the lock.
func TestLockDuringTheRightPasswordHolds(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		c := &clock{t: clockStart}
		pol, err := password.NewPolicy(8, 10)
		if err != nil {
			t.Fatal(err)
		}
		h := &lockingHasher{Hasher: password.NewHasher(10, 2), right: pw}
		s := account.New(db, h, pol, credit.New(db, c.now), account.Lockout{}, c.now)
		if _, err := s.Create(ctx, account.NewUser{Email: "r@example.com",
			Password: pw}); err != nil {
			t.Fatal(err)
		}
		h.lock = func() {
			for range 5 {
				_, _, _ = s.Authenticate(ctx, "r@example.com", "wrong password 1")
			}
		}
		if _, f, err := s.Authenticate(ctx, "r@example.com", pw); err == nil ||
			f == nil || f.Reason != "locked" {
			t.Fatalf("the right password checked while the account locked: %v %+v", err, f)
		}
	})
}
