package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
)

// clock is a time source tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

var t0 = time.Date(2026, time.March, 1, 12, 0, 0, 0, time.UTC)

// lockedBuffer is a bytes.Buffer that several goroutines may write.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b.buf.Bytes()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// record stores n events, one second apart from start.
func record(t *testing.T, l *Log, clk *clock, start time.Time, n int) {
	t.Helper()
	for i := range n {
		clk.Set(start.Add(time.Duration(i) * time.Second))
		err := l.Record(context.Background(), Event{
			Type: LoginSuccess, UserID: int64(i + 1), IP: fmt.Sprintf("192.0.2.%d", i),
			UserAgent: "test", Details: map[string]any{"n": i, "email": "a@example.com"},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func verifyIntact(t *testing.T, l *Log) {
	t.Helper()
	if bad, err := l.Verify(context.Background()); bad != 0 || err != nil {
		t.Fatalf("Verify = %d, %v; want an intact chain", bad, err)
	}
}

func TestRecordConcurrent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		var out lockedBuffer
		l := New(db, &out, (&clock{t: t0}).Now)
		verifyIntact(t, l)

		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				err := l.Record(ctx, Event{Type: AdminAccess, UserID: int64(i + 1),
					Details: map[string]any{"path": fmt.Sprintf("/admin/%d", i)}})
				if err != nil {
					t.Errorf("Record %d: %v", i, err)
				}
			})
		}
		// Verifying while events arrive sees one consistent state, never a false break.
		for range 5 {
			wg.Go(func() {
				if bad, err := l.Verify(ctx); bad != 0 || err != nil {
					t.Errorf("Verify during writes = %d, %v", bad, err)
				}
			})
		}
		wg.Wait()

		verifyIntact(t, l)
		rows, total, err := l.List(ctx, Filter{Limit: 100})
		if err != nil || total != 20 || len(rows) != 20 {
			t.Fatalf("List: %d rows of %d, %v; want 20", len(rows), total, err)
		}
		seen := map[string]bool{}
		for i, r := range rows {
			if seen[r.Hash] {
				t.Errorf("hash %s appears twice", r.Hash)
			}
			seen[r.Hash] = true
			if i+1 < len(rows) && r.PrevHash != rows[i+1].Hash {
				t.Errorf("row %d does not link to row %d", r.ID, rows[i+1].ID)
			}
		}
		if got := len(out.lines(t)); got != 20 {
			t.Errorf("%d JSON lines written, want 20", got)
		}
	})
}

func TestVerifyFindsTampering(t *testing.T) {
	// Ten events with ids 1 to 10; each case damages them and names the event Verify must
	// report.
	tests := []struct {
		name string
		sql  string
		want int64
	}{
		{"edited details", `UPDATE audit_events SET details = '{"n":4}' WHERE id = 5`, 5},
		{"edited event type", `UPDATE audit_events SET event_type = 'logout' WHERE id = 5`, 5},
		{"edited user", `UPDATE audit_events SET user_id = 99 WHERE id = 5`, 5},
		{"edited address", `UPDATE audit_events SET ip_address = '10.0.0.1' WHERE id = 5`, 5},
		{"edited time", `UPDATE audit_events SET created_at = created_at + 1 WHERE id = 5`, 5},
		{"edited link", `UPDATE audit_events SET prev_hash = hash WHERE id = 5`, 5},
		{"deleted middle event", `DELETE FROM audit_events WHERE id = 5`, 6},
		{"deleted first event", `DELETE FROM audit_events WHERE id = 1`, 2},
		{"deleted last event", `DELETE FROM audit_events WHERE id = 10`, 10},
		{"deleted last events", `DELETE FROM audit_events WHERE id >= 8`, 8},
		{"emptied", `DELETE FROM audit_events`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, db *database.DB) {
				clk := &clock{t: t0}
				l := New(db, nil, clk.Now)
				record(t, l, clk, t0, 10)
				verifyIntact(t, l)

				if _, err := db.ExecContext(context.Background(), tt.sql); err != nil {
					t.Fatal(err)
				}
				bad, err := l.Verify(context.Background())
				var be *BreakError
				if bad != tt.want || !errors.As(err, &be) || be.ID != tt.want {
					t.Fatalf("Verify = %d, %v; want %d and a *BreakError", bad, err, tt.want)
				}
			})
		})
	}
}

func TestPrune(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		clk := &clock{t: t0}
		l := New(db, nil, clk.Now)
		day := 24 * time.Hour
		for i := range 10 {
			record(t, l, clk, t0.Add(time.Duration(i)*day), 1)
		}

		// Nothing is older than the first event.
		if n, err := l.Prune(ctx, t0); n != 0 || err != nil {
			t.Fatalf("Prune(first day) = %d, %v; want 0", n, err)
		}

		clk.Set(t0.Add(20 * day))
		n, err := l.Prune(ctx, t0.Add(5*day))
		if n != 5 || err != nil {
			t.Fatalf("Prune = %d, %v; want 5", n, err)
		}
		verifyIntact(t, l)
		rows, total, err := l.List(ctx, Filter{})
		if err != nil || total != 6 || rows[0].Type != AuditPruned || rows[len(rows)-1].ID != 6 {
			t.Fatalf("after prune: %d events, newest %+v, %v", total, rows[0], err)
		}

		// A second prune with the same cut-off finds nothing more to delete.
		if n, err := l.Prune(ctx, t0.Add(5*day)); n != 0 || err != nil {
			t.Fatalf("second Prune = %d, %v; want 0", n, err)
		}

		// The anchor still catches a deletion right after it.
		if _, err := db.ExecContext(ctx, `DELETE FROM audit_events WHERE id = 6`); err != nil {
			t.Fatal(err)
		}
		if bad, _ := l.Verify(ctx); bad != 7 {
			t.Fatalf("Verify after deleting event 6 = %d, want 7", bad)
		}

		// Pruning over a broken part of the chain is refused.
		n, err = l.Prune(ctx, t0.Add(8*day))
		var be *BreakError
		if n != 0 || !errors.As(err, &be) || be.ID != 7 {
			t.Fatalf("Prune over a broken chain = %d, %v; want a refusal at 7", n, err)
		}
		if _, total, _ := l.List(ctx, Filter{}); total != 5 {
			t.Errorf("the refused prune deleted events: %d left, want 5", total)
		}
	})
}

func TestLineCannotBeForged(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		var out lockedBuffer
		l := New(db, &out, (&clock{t: t0.Add(123 * time.Millisecond)}).Now)

		email := "a@example.com\r\n{\"event_type\":\"login_success\"}"
		ua := "curl/8\n{\"event_type\":\"login_success\",\"user_id\":1}"
		err := l.Record(ctx, Event{Type: LoginFailure, IP: "203.0.113.9", UserAgent: ua,
			Details: map[string]any{"email": email, "password": "hunter2", "reason": "unknown"}})
		if err != nil {
			t.Fatal(err)
		}

		lines := out.lines(t)
		if len(lines) != 1 {
			t.Fatalf("%d lines written, want 1: %q", len(lines), out.buf.String())
		}
		got := lines[0]
		details, _ := got["details"].(map[string]any)
		want := map[string]any{
			"timestamp": "2026-03-01T12:00:00.123Z", "event_type": LoginFailure,
			"user_id": nil, "ip_address": "203.0.113.9", "user_agent": ua,
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s = %#v, want %#v", k, got[k], v)
			}
		}
		if details["email"] != email || details["password"] != Redacted {
			t.Errorf("details = %#v", details)
		}
		if strings.Contains(out.buf.String(), "hunter2") {
			t.Error("the password reached the line")
		}
		verifyIntact(t, l)
	})
}

func TestRecordCleansInput(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l := New(db, nil, (&clock{t: t0}).Now)

		err := l.Record(ctx, Event{
			Type: SuspiciousContent, UserID: 3, IP: "198.51.100.7",
			UserAgent: strings.Repeat("é", 400) + "\x00\xff",
			Details:   map[string]any{"prompt": strings.Repeat("x", 5000), "token": "abc"},
		})
		if err != nil {
			t.Fatal(err)
		}
		rows, _, err := l.List(ctx, Filter{})
		if err != nil {
			t.Fatal(err)
		}
		r := rows[0]
		if len(r.UserAgent) != MaxUserAgent || r.UserAgent != strings.Repeat("é", 256) {
			t.Errorf("user agent kept %d bytes, want the first 256 characters", len(r.UserAgent))
		}
		var d map[string]string
		if err := json.Unmarshal([]byte(r.Details), &d); err != nil {
			t.Fatal(err)
		}
		if len(d["prompt"]) > MaxDetailString || !strings.HasSuffix(d["prompt"], truncated) ||
			d["token"] != Redacted {
			t.Errorf("details kept %d bytes of prompt, token %q", len(d["prompt"]), d["token"])
		}

		for _, bad := range []string{"", "Login", "login success", strings.Repeat("a", 65)} {
			if err := l.Record(ctx, Event{Type: bad}); err == nil {
				t.Errorf("event type %q was accepted", bad)
			}
		}
		verifyIntact(t, l)
	})
}

func TestList(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		clk := &clock{t: t0}
		l := New(db, nil, clk.Now)
		events := []Event{
			{Type: LoginFailure, UserID: 1, IP: "192.0.2.1"},
			{Type: LoginSuccess, UserID: 1, IP: "192.0.2.1"},
			{Type: LoginFailure, UserID: 2, IP: "192.0.2.2"},
			{Type: RoleChange, UserID: 2, IP: "192.0.2.1"},
		}
		for i, e := range events {
			clk.Set(t0.Add(time.Duration(i) * time.Hour))
			if err := l.Record(ctx, e); err != nil {
				t.Fatal(err)
			}
		}

		tests := []struct {
			name  string
			f     Filter
			ids   []int64
			total int
		}{
			{"all", Filter{}, []int64{4, 3, 2, 1}, 4},
			{"type", Filter{Type: LoginFailure}, []int64{3, 1}, 2},
			{"user", Filter{UserID: 2}, []int64{4, 3}, 2},
			{"ip", Filter{IP: "192.0.2.1"}, []int64{4, 2, 1}, 3},
			{"from", Filter{From: t0.Add(2 * time.Hour)}, []int64{4, 3}, 2},
			{"to", Filter{To: t0.Add(time.Hour)}, []int64{1}, 1},
			{"page", Filter{Limit: 2, Offset: 1}, []int64{3, 2}, 4},
			{"none", Filter{Type: Logout}, nil, 0},
		}
		for _, tt := range tests {
			rows, total, err := l.List(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, r := range rows {
				ids = append(ids, r.ID)
			}
			if fmt.Sprint(ids) != fmt.Sprint(tt.ids) || total != tt.total {
				t.Errorf("%s: ids %v of %d, want %v of %d", tt.name, ids, total, tt.ids, tt.total)
			}
		}
		rows, _, _ := l.List(ctx, Filter{Type: RoleChange})
		if !rows[0].At.Equal(t0.Add(3*time.Hour)) || rows[0].Details != "{}" {
			t.Errorf("row = %+v", rows[0])
		}
	})
}

// TestHandWrittenAnchorIsCaught deletes the oldest events and writes an anchor by hand, as
// someone covering their tracks with write access to the database would: no pruning event
// confirms that anchor, so Verify must not call the chain intact.
func TestHandWrittenAnchorIsCaught(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		clk := &clock{t: t0}
		l := New(db, nil, clk.Now)
		for i := range 6 {
			record(t, l, clk, t0.Add(time.Duration(i)*time.Hour), 1)
		}

		var hash string
		if err := db.GetContext(ctx, &hash, `SELECT hash FROM audit_events WHERE id = 3`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `DELETE FROM audit_events WHERE id <= 3`); err != nil {
			t.Fatal(err)
		}
		q := db.Rebind(`INSERT INTO settings (key, value, updated_at) VALUES (?, ?, 0)`)
		if _, err := db.ExecContext(ctx, q, anchorKey, "3:"+hash); err != nil {
			t.Fatal(err)
		}

		bad, err := l.Verify(ctx)
		var be *BreakError
		if bad != 4 || !errors.As(err, &be) {
			t.Fatalf("Verify = %d, %v; want a break at 4", bad, err)
		}
	})
}
