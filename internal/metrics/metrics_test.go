package metrics

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
)

func scrape(t *testing.T, m *Metrics) (string, error) {
	t.Helper()
	var buf bytes.Buffer
	err := m.Write(context.Background(), &buf)
	return buf.String(), err
}

func TestCountersAndHistogram(t *testing.T) {
	m := New()
	m.Request("POST /login", "POST", 429, 3*time.Millisecond)
	m.Request("POST /login", "POST", 429, 70*time.Millisecond)
	m.Request("", "BREW", 404, time.Minute)
	m.RateLimited("login_ip")
	m.LoginFailed("wrong_password")
	m.LoginFailed("wrong_password")
	m.IPBlocked()
	m.BlockedRequest()
	m.PromptRefused()

	out, err := scrape(t, m)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"# TYPE sketchmaker_http_requests_total counter",
		`sketchmaker_http_requests_total{route="POST /login",method="POST",status="429"} 2`,
		`sketchmaker_http_requests_total{route="unmatched",method="other",status="404"} 1`,
		"# TYPE sketchmaker_http_request_duration_seconds histogram",
		`sketchmaker_http_request_duration_seconds_bucket{route="POST /login",le="0.005"} 1`,
		`sketchmaker_http_request_duration_seconds_bucket{route="POST /login",le="0.05"} 1`,
		`sketchmaker_http_request_duration_seconds_bucket{route="POST /login",le="0.1"} 2`,
		`sketchmaker_http_request_duration_seconds_bucket{route="POST /login",le="+Inf"} 2`,
		`sketchmaker_http_request_duration_seconds_count{route="POST /login"} 2`,
		`sketchmaker_http_request_duration_seconds_bucket{route="unmatched",le="30"} 0`,
		`sketchmaker_http_request_duration_seconds_bucket{route="unmatched",le="+Inf"} 1`,
		`sketchmaker_rate_limited_total{limit="login_ip"} 1`,
		`sketchmaker_login_failures_total{reason="wrong_password"} 2`,
		"sketchmaker_ip_blocks_total 1",
		"sketchmaker_blocked_requests_total 1",
		"sketchmaker_prompts_refused_total 1",
		"# TYPE sketchmaker_goroutines gauge",
	}
	for _, line := range want {
		if !strings.Contains(out, line+"\n") {
			t.Errorf("missing line %q in:\n%s", line, out)
		}
	}
}

// TestFormatIsParseable checks every line against the text format's grammar, with label
// values that need escaping.
func TestFormatIsParseable(t *testing.T) {
	m := New()
	m.RateLimited("a \"quoted\" \\ name\nwith a line break")
	m.WatchJobs(func(ctx context.Context) ([]JobCount, error) {
		return []JobCount{{"builtin", "queued", 3}, {"fal", "queued", 2},
			{"fal", "failed", 1}}, nil
	})
	m.WatchBlocks(func(ctx context.Context) (int, error) { return 4, nil })

	out, err := scrape(t, m)
	if err != nil {
		t.Fatal(err)
	}
	comment := regexp.MustCompile(`^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*$`)
	sample := regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*` +
		`(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*",?)*\})? ` +
		`(-?[0-9.e+-]+|\+Inf|-Inf|NaN)$`)
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if !comment.MatchString(line) && !sample.MatchString(line) {
			t.Errorf("line does not follow the text format: %q", line)
		}
	}
	for _, line := range []string{
		`sketchmaker_rate_limited_total{limit="a \"quoted\" \\ name\nwith a line break"} 1`,
		`sketchmaker_jobs{provider="fal",status="failed"} 1`,
		"sketchmaker_job_queue_depth 5",
		"sketchmaker_blocked_ips 4",
	} {
		if !strings.Contains(out, line+"\n") {
			t.Errorf("missing line %q", line)
		}
	}
}

func TestFailingGaugeKeepsCounters(t *testing.T) {
	m := New()
	m.IPBlocked()
	m.WatchJobs(func(ctx context.Context) ([]JobCount, error) {
		return nil, errors.New("database is down")
	})

	out, err := scrape(t, m)
	if err == nil || !strings.Contains(err.Error(), "database is down") {
		t.Fatalf("error = %v, want the job source's error", err)
	}
	if !strings.Contains(out, "sketchmaker_ip_blocks_total 1\n") {
		t.Errorf("counters missing after a failing gauge:\n%s", out)
	}
	if strings.Contains(out, "sketchmaker_job_queue_depth") {
		t.Error("a gauge whose source failed was written anyway")
	}
}

func TestNilMetricsDoNothing(t *testing.T) {
	var m *Metrics
	m.Request("GET /", "GET", 200, time.Millisecond)
	m.RateLimited("x")
	m.LoginFailed("x")
	m.IPBlocked()
	m.BlockedRequest()
	m.PromptRefused()
	m.WatchJobs(nil)
	m.WatchBlocks(nil)
	if err := m.Write(context.Background(), &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
}
