package moderation_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/alert"
	"github.com/sketchmaker/sketchmaker/internal/audit"
	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/moderation"
	"github.com/sketchmaker/sketchmaker/internal/setting"
)

type fixture struct {
	svc    *moderation.Service
	deps   moderation.Deps
	lines  *bytes.Buffer
	audit  *audit.Log
	alerts *alert.Service
	now    time.Time
}

func newFixture(t *testing.T, db *database.DB, threshold int) *fixture {
	t.Helper()
	f := &fixture{lines: &bytes.Buffer{}, now: time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)}
	now := func() time.Time { return f.now }
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.audit = audit.New(db, f.lines, now)
	f.alerts = alert.New(db, now, log)
	f.deps = moderation.Deps{DB: db, Settings: setting.New(db, now), Audit: f.audit,
		Alerts: f.alerts, Log: log, Now: now}
	svc, err := moderation.NewService(context.Background(),
		moderation.Options{Enabled: true, Threshold: threshold}, f.deps)
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	return f
}

var ann = moderation.Origin{UserID: 7, IP: "198.51.100.7", UserAgent: "test"}

func TestScreenRefusesAndKeepsForReview(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		f := newFixture(t, db, 10)

		if err := f.svc.Screen(ctx, ann, "a lighthouse at dawn, oil painting"); err != nil {
			t.Fatalf("a benign prompt was refused: %v", err)
		}
		prompt := "a marble statue, n u d e, museum light"
		err := f.svc.Screen(ctx, ann, prompt)
		fe := fault.As(err)
		if fe == nil || fe.Kind != fault.Invalid || fe.Field != "prompt" ||
			!strings.Contains(fe.Message, `"nude"`) {
			t.Fatalf("Screen = %v, want a refusal naming the term", err)
		}

		flags, total, err := f.svc.Flags(ctx, moderation.FlagFilter{})
		if err != nil || total != 1 {
			t.Fatalf("flags = %d, %v", total, err)
		}
		got := flags[0]
		if got.Prompt != prompt || got.Term != "nude" || got.UserID != 7 ||
			got.IP != ann.IP || got.Status != moderation.Pending {
			t.Errorf("flag = %+v", got)
		}
		if !strings.Contains(f.lines.String(), `"event_type":"suspicious_content"`) {
			t.Error("suspicious_content not audited")
		}
		if strings.Contains(f.lines.String(), "marble") {
			t.Error("the prompt text reached the audit trail")
		}
	})
}

func TestRepeatedRefusalsRaiseSuspiciousActivityOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		f := newFixture(t, db, 3)

		for range 5 {
			f.svc.Screen(ctx, ann, "gore everywhere")
		}
		_, n, _ := f.audit.List(ctx, audit.Filter{Type: audit.SuspiciousActivity})
		if n != 1 {
			t.Errorf("%d suspicious_activity events, want 1", n)
		}
		open, total, _ := f.alerts.Open(ctx, 0)
		if total != 1 || open[0].Subject != "user:7" {
			t.Errorf("alerts = %+v", open)
		}

		// Another user's refusals are counted on their own.
		bob := moderation.Origin{UserID: 8, IP: ann.IP}
		f.svc.Screen(ctx, bob, "gore")
		f.svc.Screen(ctx, bob, "gore")
		if _, n, _ := f.audit.List(ctx, audit.Filter{Type: audit.SuspiciousActivity}); n != 1 {
			t.Errorf("bob's two refusals raised suspicious_activity")
		}

		// Dismissed flags do not count, and old ones leave the window.
		flags, _, _ := f.svc.Flags(ctx, moderation.FlagFilter{UserID: 8})
		if _, err := f.svc.Decide(ctx, flags[0].ID, moderation.Dismissed, 1); err != nil {
			t.Fatal(err)
		}
		f.svc.Screen(ctx, bob, "gore")
		if _, n, _ := f.audit.List(ctx, audit.Filter{Type: audit.SuspiciousActivity}); n != 1 {
			t.Errorf("a dismissed flag was counted")
		}
		f.now = f.now.Add(2 * time.Hour)
		for range 2 {
			f.svc.Screen(ctx, bob, "gore")
		}
		if _, n, _ := f.audit.List(ctx, audit.Filter{Type: audit.SuspiciousActivity}); n != 1 {
			t.Errorf("flags older than the window were counted")
		}
	})
}

func TestTermListAndSwitch(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		f := newFixture(t, db, 10)
		other, err := moderation.NewService(ctx, moderation.Options{Enabled: true,
			Threshold: 10}, f.deps)
		if err != nil {
			t.Fatal(err)
		}

		ch, err := f.svc.SetTerms(ctx, "# our own list\ndragon\n\nsea serpent\n", 1)
		if err != nil || ch.New != "2 terms" {
			t.Fatalf("SetTerms = %+v, %v", ch, err)
		}
		if terms, custom := f.svc.Terms(); !custom || len(terms) != 2 {
			t.Errorf("terms = %v, custom %v", terms, custom)
		}
		if err := f.svc.Screen(ctx, ann, "a red DRAGON"); err == nil {
			t.Error("a custom term was not refused")
		}
		if err := f.svc.Screen(ctx, ann, "a nude statue"); err != nil {
			t.Errorf("a term no longer on the list was refused: %v", err)
		}
		if err := other.Screen(ctx, ann, "a dragon"); err != nil {
			t.Error("the other instance refused before Refresh")
		}
		if err := other.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if err := other.Screen(ctx, ann, "a dragon"); err == nil {
			t.Error("the other instance did not pick up the list")
		}

		for _, bad := range []string{"# only a comment", strings.Repeat("x", 101), "???"} {
			if _, err := f.svc.SetTerms(ctx, bad, 1); fault.As(err) == nil {
				t.Errorf("SetTerms(%.20q) = %v, want a safe error", bad, err)
			}
		}
		if _, err := f.svc.SetTerms(ctx, "", 1); err != nil {
			t.Fatal(err)
		}
		if _, custom := f.svc.Terms(); custom {
			t.Error("an empty list did not restore the defaults")
		}

		if _, err := f.svc.SetEnabled(ctx, false, 1); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Screen(ctx, ann, "gore"); err != nil {
			t.Errorf("the filter refused while switched off: %v", err)
		}
	})
}

func TestDecide(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		f := newFixture(t, db, 10)
		f.svc.Screen(ctx, ann, "gore")
		f.svc.Screen(ctx, ann, "beheading")
		flags, _, _ := f.svc.Flags(ctx, moderation.FlagFilter{Status: moderation.Pending})
		if len(flags) != 2 {
			t.Fatalf("%d pending flags", len(flags))
		}

		got, err := f.svc.Decide(ctx, flags[0].ID, moderation.Approved, 3)
		if err != nil || got.Status != moderation.Approved || got.ReviewedBy != 3 ||
			got.ReviewedAt.IsZero() {
			t.Fatalf("Decide = %+v, %v", got, err)
		}
		checks := []struct {
			id       int64
			decision string
			kind     fault.Kind
		}{
			{flags[0].ID, moderation.Dismissed, fault.Conflict},
			{flags[1].ID, "delete", fault.Invalid},
			{99999, moderation.Approved, fault.NotFound},
		}
		for _, c := range checks {
			_, err := f.svc.Decide(ctx, c.id, c.decision, 3)
			if fe := fault.As(err); fe == nil || fe.Kind != c.kind {
				t.Errorf("Decide(%d, %q) = %v, want kind %v", c.id, c.decision, err, c.kind)
			}
		}
		if _, n, _ := f.svc.Flags(ctx, moderation.FlagFilter{Status: moderation.Pending}); n != 1 {
			t.Errorf("%d pending after one decision, want 1", n)
		}
		if _, _, err := f.svc.Flags(ctx, moderation.FlagFilter{Status: "x"}); fault.As(err) == nil {
			t.Error("an unknown status filter was accepted")
		}
	})
}
