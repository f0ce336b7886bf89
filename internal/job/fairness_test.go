package job_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
	"github.com/sketchmaker/sketchmaker/internal/job"
)

// ticking is a clock that moves one millisecond each time it is read, so every job has
// its own creation time.
type ticking struct {
	mu sync.Mutex
	t  time.Time
}

func (c *ticking) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

// queue inserts n jobs of userID.
func queue(t *testing.T, db *database.DB, s *job.Store, userID int64, n int) []string {
	t.Helper()
	var ids []string
	for i := 0; i < n; i++ {
		j := &job.Job{UserID: userID, Kind: "image", Provider: "builtin", Model: "m",
			Input: "{}"}
		err := db.Tx(context.Background(), func(tx *sqlx.Tx) error {
			return s.Insert(context.Background(), tx, j)
		})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	return ids
}

// TestOneUserCannotStarveAnother queues 50 jobs of one user and then one of another: the
// second user's job starts within the next two slots, whether workers hold their jobs at
// the same time or run them one after the other.
func TestOneUserCannotStarveAnother(t *testing.T) {
	for _, concurrent := range []bool{true, false} {
		name := map[bool]string{true: "workers in parallel", false: "one worker"}[concurrent]
		t.Run(name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, db *database.DB) {
				clock := &ticking{t: time.Unix(1_760_000_000, 0)}
				s := job.NewStore(db, clock.now)
				queue(t, db, s, 1, 50)
				late := queue(t, db, s, 2, 1)[0]

				for slot := 1; slot <= 51; slot++ {
					j, err := s.Claim(context.Background(), fmt.Sprintf("w%d", slot), time.Minute)
					if err != nil || j == nil {
						t.Fatalf("claim %d: %v", slot, err)
					}
					if j.ID == late {
						if slot > 2 {
							t.Fatalf("the second user's job started in slot %d", slot)
						}
						return
					}
					if !concurrent {
						j.Status = job.Succeeded
						if _, err := s.Finish(context.Background(), j, j.Worker); err != nil {
							t.Fatal(err)
						}
					}
				}
				t.Fatal("the second user's job never started")
			})
		})
	}
}

// TestRoundRobinAcrossThreeUsers checks the order of claims for a single worker: users
// take turns rather than each emptying their queue.
func TestRoundRobinAcrossThreeUsers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		clock := &ticking{t: time.Unix(1_760_000_000, 0)}
		s := job.NewStore(db, clock.now)
		owner := map[string]int64{}
		for u := int64(1); u <= 3; u++ {
			for _, id := range queue(t, db, s, u, 4) {
				owner[id] = u
			}
		}
		var order []int64
		for i := 0; i < 12; i++ {
			j, err := s.Claim(context.Background(), "w", time.Minute)
			if err != nil || j == nil {
				t.Fatalf("claim %d: %v", i, err)
			}
			order = append(order, owner[j.ID])
			j.Status = job.Succeeded
			if _, err := s.Finish(context.Background(), j, "w"); err != nil {
				t.Fatal(err)
			}
		}
		for i := 3; i < len(order); i++ {
			if order[i] == order[i-1] {
				t.Fatalf("claims went %v: a user was served twice in a row while others waited",
					order)
			}
		}
	})
}

func TestQueuePositionFollowsTheRoundRobin(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		clock := &ticking{t: time.Unix(1_760_000_000, 0)}
		s := job.NewStore(db, clock.now)
		a := queue(t, db, s, 1, 50)
		b := queue(t, db, s, 2, 1)
		cases := []struct {
			id   string
			want int
		}{{a[0], 0}, {a[1], 2}, {a[49], 50}, {b[0], 1}}
		for _, c := range cases {
			j, err := s.Get(context.Background(), c.id)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := s.QueuePosition(context.Background(), j); err != nil ||
				got != c.want {
				t.Errorf("position %d, %v; want %d", got, err, c.want)
			}
		}
	})
}
