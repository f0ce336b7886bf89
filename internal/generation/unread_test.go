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

// errRefused is how a database that is down answers at once.
var errRefused = errors.New("dial tcp 10.0.0.5:5432: connect: connection refused")

// flakySettings stands for the admin panel's provider settings on a database in trouble.
// While slow is set, no read of FAL's settings answers before the reader gives up; while
// refused is set, every read fails at once. FAL's reads are counted from 1, and read
// number brokenRead fails at once too. While saved is set, FAL's key is saved there.
type flakySettings struct {
	slow       atomic.Bool
	refused    atomic.Bool
	saved      atomic.Bool
	reads      atomic.Int32
	brokenRead atomic.Int32
}

func (s *flakySettings) Backend(ctx context.Context, name string) (provider.Backend, bool,
	error) {
	if name != provider.FAL {
		return provider.Backend{}, false, nil
	}
	n := s.reads.Add(1)
	switch {
	case s.slow.Load():
		<-ctx.Done()
		return provider.Backend{}, false, ctx.Err()
	case s.refused.Load() || n == s.brokenRead.Load():
		return provider.Backend{}, false, errRefused
	case s.saved.Load():
		return provider.Backend{Key: "fal-test"}, true, nil
	}
	return provider.Backend{}, false, nil // nothing saved: the environment's key counts
}

// heal makes the database answer again.
func (s *flakySettings) heal() {
	s.slow.Store(false)
	s.refused.Store(false)
}

// troubles are the ways the settings' database fails every read, each with what the
// log should name as the cause.
var troubles = []struct {
	name  string
	set   func(s *flakySettings)
	cause string
}{
	{name: "every read slow", set: func(s *flakySettings) { s.slow.Store(true) },
		cause: "context deadline exceeded"},
	{name: "every read refused", set: func(s *flakySettings) { s.refused.Store(true) },
		cause: "connection refused"},
}

// shiftedClock is the wall clock moved on by what the test adds.
type shiftedClock struct{ by atomic.Int64 }

func (c *shiftedClock) now() time.Time {
	return time.Now().Add(time.Duration(c.by.Load()))
}

// flakyWorld is a FAL world wired as in production: the registry reads the admin panel's
// settings, and generation asks the registry's Check whether FAL is configured. edit, when
// not nil, changes the environment's provider settings.
func flakyWorld(t *testing.T, db *database.DB, clock *shiftedClock,
	edit func(*provider.Settings)) (*falWorld, *flakySettings) {
	w := newFALWorld(t, db, newFakeFAL(t), clock.now, edit)
	settings := &flakySettings{}
	w.reg.SetOverrides(settings)
	generation.SetCheckTimeout(50 * time.Millisecond)
	return w, settings
}

// noFALKey leaves FAL's key out of the environment, so only the admin panel can set it.
func noFALKey(s *provider.Settings) {
	s.Backends[provider.FAL] = provider.Backend{BaseURL: s.Backends[provider.FAL].BaseURL}
}

// TestUnreadSettingsPostponeTheJob reads the provider settings from a database that is
// too slow to answer, or refuses at once, when a FAL job starts: the job is left for a
// later attempt, with its credits still reserved, and succeeds once the database
// answers, charged once.
func TestUnreadSettingsPostponeTheJob(t *testing.T) {
	cases := []struct {
		name    string
		trouble func(s *flakySettings)
	}{
		{name: troubles[0].name, trouble: troubles[0].set},
		{name: troubles[1].name, trouble: troubles[1].set},
		// The job's check passes; the registry's own read, just after it, is refused.
		{name: "settings lost after the check", trouble: func(s *flakySettings) {
			s.reads.Store(0)
			s.brokenRead.Store(2)
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
func testPostponed(t *testing.T, db *database.DB, trouble func(s *flakySettings)) {
	clock := &shiftedClock{}
	w, settings := flakyWorld(t, db, clock, nil)
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
	settings.heal()
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

// TestUnreadSettingsAtEveryAttemptRefundOnce keeps the settings unreadable: the job ends
// after its last attempt with a message to try again, refunded exactly once.
func TestUnreadSettingsAtEveryAttemptRefundOnce(t *testing.T) {
	for _, tr := range troubles {
		t.Run(tr.name, func(t *testing.T) {
			eachDB(t, func(t *testing.T, db *database.DB) {
				testRefundedOnce(t, db, tr.set)
			})
		})
	}
}

// testRefundedOnce submits a FAL job and runs it with the settings in trouble at every
// attempt.
func testRefundedOnce(t *testing.T, db *database.DB, trouble func(s *flakySettings)) {
	clock := &shiftedClock{}
	w, settings := flakyWorld(t, db, clock, nil)
	uid := w.user("u@example.com", 5*credit.One)
	id := w.submit(uid, falJob).ID

	trouble(settings)
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
}

// TestProviderSwitchedOffFailsTheJobAtOnce switches FAL off in the admin panel, whose
// settings read well, after a job was queued: the job fails at its first attempt as not
// configured, refunded once, rather than waiting to try again.
func TestProviderSwitchedOffFailsTheJobAtOnce(t *testing.T) {
	eachDB(t, func(t *testing.T, db *database.DB) {
		w, settings := flakyWorld(t, db, &shiftedClock{}, noFALKey)
		uid := w.user("u@example.com", 5*credit.One)
		settings.saved.Store(true)
		id := w.submit(uid, falJob).ID

		settings.saved.Store(false)
		w.start()
		j := w.wait(id)
		if j.Status != job.Failed || j.Attempts != 1 ||
			!strings.Contains(j.Error, "not configured") ||
			!strings.Contains(j.Error, "refunded") || strings.Contains(j.Error, "try again") {
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

// TestSubmissionWhileSettingsAreUnreadable submits while the settings cannot be read
// (too slow, or refused at once) and while FAL is truly not configured: the first are
// refused as passing (503, try again), with their cause logged without the key; the last
// blames the choice of model. None reserves anything.
func TestSubmissionWhileSettingsAreUnreadable(t *testing.T) {
	type submission struct {
		name    string
		trouble func(s *flakySettings)
		cause   string
		edit    func(*provider.Settings)
	}
	var cases []submission
	for _, tr := range troubles {
		cases = append(cases, submission{name: tr.name, trouble: tr.set, cause: tr.cause})
	}
	cases = append(cases, submission{name: "provider not configured", edit: noFALKey})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			eachDB(t, func(t *testing.T, db *database.DB) {
				testRefusedSubmission(t, db, c.trouble, c.cause, c.edit)
			})
		})
	}
}

// testRefusedSubmission submits a FAL job with the settings in trouble (none: FAL is
// not configured) and checks the answer and the log.
func testRefusedSubmission(t *testing.T, db *database.DB, trouble func(s *flakySettings),
	cause string, edit func(*provider.Settings)) {
	w, settings := flakyWorld(t, db, &shiftedClock{}, edit)
	var logs syncLog
	w.gen.UseProviders(w.reg, slog.New(slog.NewTextHandler(&logs, nil)))
	uid := w.user("u@example.com", 5*credit.One)
	if trouble != nil {
		trouble(settings)
	}

	err := submitBody(w, uid, falJob)
	fe := fault.As(err)
	if bal, _ := w.credits.Balance(context.Background(), uid); bal != 5*credit.One {
		t.Fatalf("balance %s after a refused submission", bal)
	}
	if trouble == nil {
		if fe == nil || fe.Kind != fault.Invalid || fe.Field != "model" ||
			!strings.Contains(fe.Message, "not configured") ||
			errors.Is(err, generation.ErrUnchecked) {
			t.Fatalf("submission to a provider not configured: %v", err)
		}
		return
	}
	if fe == nil || fe.Kind != fault.Unavailable || fe.Field != "" ||
		!strings.Contains(fe.Message, "try again") ||
		strings.Contains(fe.Message, "not configured") ||
		!errors.Is(err, generation.ErrUnchecked) {
		t.Fatalf("submission: %v", err)
	}
	if line := logs.String(); !strings.Contains(line, cause) ||
		strings.Contains(line, "fal-test") {
		t.Fatalf("log: %s", line)
	}

	// Once the database answers, the same request is accepted.
	settings.heal()
	if err := submitBody(w, uid, falJob); err != nil {
		t.Fatal(err)
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
