package generation_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/credit"
	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/generation"
	"github.com/sketchmaker/sketchmaker/internal/job"
	"github.com/sketchmaker/sketchmaker/internal/provider"
)

// slowSettings stands for the admin panel's provider settings on a database that, while
// slow is set, answers no read of FAL's settings before the reader gives up. FAL's reads
// are counted from 1: read number slowRead is slow too, and read number brokenRead fails
// at once.
type slowSettings struct {
	slow       atomic.Bool
	reads      atomic.Int32
	slowRead   atomic.Int32
	brokenRead atomic.Int32
}

func (s *slowSettings) Backend(ctx context.Context, name string) (provider.Backend, bool,
	error) {
	if name != provider.FAL {
		return provider.Backend{}, false, nil
	}
	n := s.reads.Add(1)
	if s.slow.Load() || n == s.slowRead.Load() {
		<-ctx.Done()
		return provider.Backend{}, false, ctx.Err()
	}
	if n == s.brokenRead.Load() {
		return provider.Backend{}, false, errors.New("connection reset by peer")
	}
	return provider.Backend{}, false, nil // nothing saved: the environment's key counts
}

// shiftedClock is the wall clock moved on by what the test adds.
type shiftedClock struct{ by atomic.Int64 }

func (c *shiftedClock) now() time.Time {
	return time.Now().Add(time.Duration(c.by.Load()))
}

// slowWorld is a FAL world wired as in production: the registry reads the admin panel's
// settings, and generation asks the registry whether FAL is configured.
func slowWorld(t *testing.T, db *database.DB, clock *shiftedClock) (*falWorld,
	*slowSettings) {
	w := newFALWorld(t, db, newFakeFAL(t), clock.now, nil)
	settings := &slowSettings{}
	w.reg.SetOverrides(settings)
	generation.SetCheckTimeout(50 * time.Millisecond)
	return w, settings
}

// TestSlowSettingsPostponeTheJob reads the provider settings from a database too slow to
// answer when a FAL job starts: the job is left for a later attempt, with its credits
// still reserved, and succeeds once the database answers, charged once.
func TestSlowSettingsPostponeTheJob(t *testing.T) {
	cases := []struct {
		name    string
		trouble func(s *slowSettings)
	}{
		{name: "every read slow", trouble: func(s *slowSettings) { s.slow.Store(true) }},
		// The job's first check passes; the registry's own read fails, which it takes
		// for a missing provider, and the check after it is slow.
		{name: "settings lost after the check", trouble: func(s *slowSettings) {
			s.reads.Store(0)
			s.brokenRead.Store(2)
			s.slowRead.Store(3)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			eachDB(t, func(t *testing.T, db *database.DB) {
				testPostponed(t, db, c.trouble)
			})
		})
	}
}

// testPostponed submits a FAL job, starts the workers with the settings in trouble, and
// then lets the database answer again.
func testPostponed(t *testing.T, db *database.DB, trouble func(s *slowSettings)) {
	clock := &shiftedClock{}
	w, settings := slowWorld(t, db, clock)
	uid := w.user("u@example.com", 5*credit.One)
	id := w.submit(uid, falJob).ID

	trouble(settings)
	w.start()
	waitPostponed(t, w, id, 1)
	if n := w.fal.submits.Load(); n != 0 {
		t.Fatalf("%d requests at FAL before the settings were read", n)
	}
	if bal, _ := w.credits.Balance(context.Background(), uid); bal != 4*credit.One {
		t.Fatalf("balance %s while the job waits: the reservation was touched", bal)
	}
	if s, r := entries(t, w, id, "settle"), entries(t, w, id, "refund"); s+r != 0 {
		t.Fatalf("a waiting job was settled %d and refunded %d times", s, r)
	}

	// The database answers again; the wait for the next attempt passes.
	settings.slow.Store(false)
	clock.by.Add(int64(time.Minute))
	j := w.wait(id)
	if j.Status != job.Succeeded || j.Attempts != 2 || len(w.images(uid)) != 1 {
		t.Fatalf("job %s after %d attempts (%s), %d images", j.Status, j.Attempts,
			j.Error, len(w.images(uid)))
	}
	if bal, _ := w.credits.Balance(context.Background(), uid); bal != 4*credit.One {
		t.Fatalf("balance %s after one image at 1 credit", bal)
	}
	if w.fal.submits.Load() != 1 || entries(t, w, id, "settle") != 1 ||
		entries(t, w, id, "refund") != 0 {
		t.Fatalf("%d requests at FAL, %d settlements, %d refunds",
			w.fal.submits.Load(), entries(t, w, id, "settle"), entries(t, w, id, "refund"))
	}
	w.checkLedger(uid)
}

// TestSlowSettingsAtEveryAttemptRefundOnce keeps the settings unreadable: the job ends
// after its last attempt with a message to try again, refunded exactly once.
func TestSlowSettingsAtEveryAttemptRefundOnce(t *testing.T) {
	eachDB(t, func(t *testing.T, db *database.DB) {
		clock := &shiftedClock{}
		w, settings := slowWorld(t, db, clock)
		uid := w.user("u@example.com", 5*credit.One)
		id := w.submit(uid, falJob).ID

		settings.slow.Store(true)
		w.start()
		for attempt := 1; attempt < job.MaxAttempts; attempt++ {
			waitPostponed(t, w, id, attempt)
			clock.by.Add(int64(time.Hour))
		}
		j := w.wait(id)
		if j.Status != job.Failed || j.Attempts != job.MaxAttempts ||
			!strings.Contains(j.Error, "try again") || !strings.Contains(j.Error, "refunded") ||
			strings.Contains(j.Error, "not configured") {
			t.Fatalf("job %s after %d attempts: %q", j.Status, j.Attempts, j.Error)
		}
		if bal, _ := w.credits.Balance(context.Background(), uid); bal != 5*credit.One {
			t.Fatalf("balance %s after the refund", bal)
		}
		if s, r := entries(t, w, id, "settle"), entries(t, w, id, "refund"); s != 1 || r != 1 {
			t.Fatalf("the job was settled %d and refunded %d times", s, r)
		}
		w.checkLedger(uid)
	})
}

// waitPostponed waits until job id waits for a later attempt after the given one, and
// fails the test at once when the job ends instead.
func waitPostponed(t *testing.T, w *falWorld, id string, attempt int) {
	t.Helper()
	waitFor(t, "the job to be postponed", func() bool {
		j, err := w.jobs.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if j.Done() {
			t.Fatalf("job ended %s instead of waiting: %q", j.Status, j.Error)
		}
		return j.Status == job.Running && j.Worker == "" && j.Attempts == attempt &&
			j.Message == "Waiting to try again"
	})
}

// entries counts the ledger entries of job id of the given kind ("settle", "refund").
func entries(t *testing.T, w *falWorld, id, kind string) int {
	t.Helper()
	var n int
	err := w.db.GetContext(context.Background(), &n, w.db.Rebind(`SELECT COUNT(*)
		FROM credit_ledger WHERE job_id = ? AND kind = ?`), id, kind)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSubmissionWhileSettingsAreUnreadable submits while the settings cannot be read,
// and while FAL is truly not configured: the first is refused as passing (503, try
// again), with its cause logged without the key; the second blames the choice of model.
// Neither reserves anything.
func TestSubmissionWhileSettingsAreUnreadable(t *testing.T) {
	cases := []struct {
		name   string
		slow   bool
		kind   fault.Kind
		phrase string
	}{
		{name: "settings unreadable", slow: true, kind: fault.Unavailable,
			phrase: "try again"},
		{name: "provider not configured", kind: fault.Invalid, phrase: "not configured"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			eachDB(t, func(t *testing.T, db *database.DB) {
				w, settings := slowWorld(t, db, &shiftedClock{})
				var logs syncLog
				w.gen.UseProviders(w.reg, slog.New(slog.NewTextHandler(&logs, nil)))
				if !c.slow {
					generation.Configure(provider.Catalog(), nil)
				}
				uid := w.user("u@example.com", 5*credit.One)
				settings.slow.Store(c.slow)

				err := submitBody(w, uid, falJob)
				fe := fault.As(err)
				if fe == nil || fe.Kind != c.kind || !strings.Contains(fe.Message, c.phrase) ||
					errors.Is(err, generation.ErrUnchecked) != c.slow {
					t.Fatalf("submission: %v", err)
				}
				if bal, _ := w.credits.Balance(context.Background(), uid); bal != 5*credit.One {
					t.Fatalf("balance %s after a refused submission", bal)
				}
				if !c.slow {
					return
				}
				if fe.Field != "" || strings.Contains(fe.Message, "not configured") {
					t.Fatalf("the person's choice is blamed: %+v", fe)
				}
				if line := logs.String(); !strings.Contains(line, "context deadline exceeded") ||
					strings.Contains(line, "fal-test") {
					t.Fatalf("log: %s", line)
				}

				// Once the database answers, the same request is accepted.
				settings.slow.Store(false)
				if err := submitBody(w, uid, falJob); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}

// submitBody checks body as the web layer does and submits it for userID.
func submitBody(w *falWorld, userID int64, body string) error {
	var r generation.Request
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		w.t.Fatal(err)
	}
	p, err := r.Check(func() uint32 { return 77 })
	if err != nil {
		return err
	}
	_, err = w.gen.Submit(context.Background(), userID, p)
	return err
}

// syncLog is a log destination safe for several goroutines.
type syncLog struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
