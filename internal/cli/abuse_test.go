package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/sketchmaker/sketchmaker/internal/audit"
	"github.com/sketchmaker/sketchmaker/internal/config"
	"github.com/sketchmaker/sketchmaker/internal/guard"
)

// testEnv is the environment of a command run against a fresh data directory.
func testEnv(t *testing.T, extra map[string]string) func(string) (string, bool) {
	t.Helper()
	env := map[string]string{
		"SKETCHMAKER_DATA_DIR": t.TempDir(),
		"SECRET_KEY":           "test-secret-key-0123456789abcdef0123456789abcdef",
		"BCRYPT_LOG_ROUNDS":    "10",
		"LOG_LEVEL":            "error",
	}
	for k, v := range extra {
		env[k] = v
	}
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

// buildApp builds the application of lookup's environment.
func buildApp(t *testing.T, lookup func(string) (string, bool)) *App {
	t.Helper()
	cfg, err := config.Load(lookup, "")
	if err != nil {
		t.Fatal(err)
	}
	app, err := Build(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard,
		nil)), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return app
}

// run runs a command and returns its exit code, stdout and stderr.
func run(lookup func(string) (string, bool), args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := Run(args, strings.NewReader(""), &stdout, &stderr, lookup)
	return code, stdout.String(), stderr.String()
}

// seedAudit records five events and returns the application, still open.
func seedAudit(t *testing.T, lookup func(string) (string, bool)) *App {
	t.Helper()
	app := buildApp(t, lookup)
	for i, typ := range []string{audit.LoginFailure, audit.LoginFailure, audit.LoginSuccess,
		audit.Logout, audit.IPBlocked} {
		err := app.Audit.Record(context.Background(), audit.Event{Type: typ,
			UserID: int64(i%2 + 1), IP: "192.0.2.1", Details: map[string]any{"n": i}})
		if err != nil {
			t.Fatal(err)
		}
	}
	return app
}

func TestAuditVerifyCommand(t *testing.T) {
	tests := []struct {
		name   string
		tamper string
		bad    string // the event the command must name; empty when intact
	}{
		{"intact", "", ""},
		{"edited", `UPDATE audit_events SET details = '{"n":9}' WHERE id = 3`, "event 3"},
		{"deleted", `DELETE FROM audit_events WHERE id = 2`, "event 3"},
		{"deleted last", `DELETE FROM audit_events WHERE id = 5`, "event 5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lookup := testEnv(t, nil)
			app := seedAudit(t, lookup)
			if tt.tamper != "" {
				if _, err := app.DB.ExecContext(context.Background(), tt.tamper); err != nil {
					t.Fatal(err)
				}
			}
			app.Close()

			code, stdout, stderr := run(lookup, "audit", "verify")
			if tt.bad == "" {
				if code != 0 || stdout != "audit log intact (5 events)\n" {
					t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
				}
				return
			}
			if code != 1 || !strings.Contains(stderr, tt.bad) {
				t.Fatalf("exit %d, stderr %q; want 1 naming %s", code, stderr, tt.bad)
			}
		})
	}
}

func TestAuditExportCommand(t *testing.T) {
	lookup := testEnv(t, nil)
	seedAudit(t, lookup).Close()

	code, stdout, stderr := run(lookup, "audit", "export", "--format", "csv",
		"--type", audit.LoginFailure)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	records, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	if err != nil || len(records) != 3 || records[1][2] != audit.LoginFailure {
		t.Fatalf("csv export = %q (%v), want a header and 2 login failures", stdout, err)
	}

	code, stdout, _ = run(lookup, "audit", "export", "--format", "json", "--user", "2")
	if code != 0 || strings.Count(stdout, `"event_type"`) != 2 {
		t.Errorf("json export for user 2: exit %d: %s", code, stdout)
	}

	for _, args := range [][]string{
		{"audit", "export"}, {"audit", "export", "--format", "xml"},
		{"audit", "export", "--format", "csv", "--from", "yesterday"}, {"audit"},
		{"audit", "shred"},
	} {
		if code, _, stderr := run(lookup, args...); code == 0 || stderr == "" {
			t.Errorf("%v: exit %d, stderr %q; want a usage error", args, code, stderr)
		}
	}
}

// TestRedisSharesLimits checks that with REDIS_URL the counters and blocks live in Redis,
// where every instance sees them.
func TestRedisSharesLimits(t *testing.T) {
	m := miniredis.RunT(t)
	lookup := testEnv(t, map[string]string{"REDIS_URL": "redis://" + m.Addr() + "/0",
		"RATE_LIMIT_API_CALLS": "1 per hour", "RATE_LIMIT_THRESHOLD": "2"})
	one, two := buildApp(t, lookup), buildApp(t, lookup)
	defer one.Close()
	defer two.Close()
	ctx := context.Background()

	if d := one.Abuse.Guard.Allow(ctx, guard.APICalls, 7, "192.0.2.1"); !d.Allowed {
		t.Fatalf("first call refused: %+v", d)
	}
	if d := two.Abuse.Guard.Allow(ctx, guard.APICalls, 7, "192.0.2.1"); d.Allowed {
		t.Fatal("the second instance did not see the first one's count")
	}
	two.Abuse.Guard.Allow(ctx, guard.APICalls, 7, "192.0.2.1")
	if left, err := one.Abuse.Guard.Blocked(ctx, "192.0.2.1"); err != nil || left <= 0 {
		t.Errorf("a block made on one instance is not seen by the other: %s, %v", left, err)
	}
	if !strings.Contains(strings.Join(m.Keys(), " "), "sketchmaker:rate:api_calls:") {
		t.Errorf("no rate key in Redis: %v", m.Keys())
	}
}

func TestRedisURLProblemsStopTheStart(t *testing.T) {
	for _, url := range []string{"redis://:hunter2secret@127.0.0.1:1/0", "mysql://x"} {
		cfg, err := config.Load(testEnv(t, map[string]string{"REDIS_URL": url}), "")
		if err != nil {
			t.Fatal(err)
		}
		_, err = Build(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard,
			nil)), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "REDIS_URL") ||
			strings.Contains(err.Error(), "hunter2secret") {
			t.Errorf("REDIS_URL %q: error %v; want one naming REDIS_URL without the password",
				url, err)
		}
	}
}

// TestRetentionPrunesOldEvents checks that housekeeping applies AUDIT_RETENTION_DAYS.
func TestRetentionPrunesOldEvents(t *testing.T) {
	app := buildApp(t, testEnv(t, map[string]string{"AUDIT_RETENTION_DAYS": "30"}))
	defer app.Close()
	ctx := context.Background()

	old := audit.New(app.DB, nil, func() time.Time { return time.Now().AddDate(0, 0, -40) })
	for range 3 {
		if err := old.Record(ctx, audit.Event{Type: audit.Logout, UserID: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := app.Audit.Record(ctx, audit.Event{Type: audit.Logout, UserID: 2}); err != nil {
		t.Fatal(err)
	}

	app.housekeeping(ctx)
	rows, total, err := app.Audit.List(ctx, audit.Filter{})
	if err != nil || total != 2 || rows[0].Type != audit.AuditPruned || rows[1].UserID != 2 {
		t.Fatalf("after housekeeping: %d events %+v (%v); want the recent one and "+
			"audit_pruned", total, rows, err)
	}
	if _, err := app.Audit.Verify(ctx); err != nil {
		t.Errorf("the chain is not intact after pruning: %v", err)
	}
}

func TestMetricsListener(t *testing.T) {
	app := buildApp(t, testEnv(t, nil))
	defer app.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	addr, err := app.Abuse.serveMetrics(ctx, "127.0.0.1:0", app.Log)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body),
		"sketchmaker_job_queue_depth 0") {
		t.Errorf("metrics listener: %d %s", res.StatusCode, body)
	}
	if _, err := app.Abuse.serveMetrics(ctx, "256.0.0.1:0", app.Log); err == nil {
		t.Error("a bad METRICS_ADDR was accepted")
	}
}
