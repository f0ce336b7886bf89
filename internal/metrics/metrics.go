// Package metrics counts what SketchMaker does, for Prometheus: requests by route and status
// and their latency, jobs by provider and state and the depth of the queue, refused
// requests, failed sign-ins, blocked client addresses and refused prompts.
//
// It writes Prometheus's text exposition format itself (see exposition.go): the
// client_golang module is named in go.mod, but its own dependencies are not, so it cannot be
// built here without changing go.mod. The package stays free of net/http; the web layer
// serves Write. Every method works on a nil *Metrics and then does nothing, so services and
// tests may run without metrics.
package metrics

import (
	"context"
	"io"
	"runtime"
	"strconv"
	"sync"
	"time"
)

// scrapeTimeout bounds the database queries a scrape runs.
const scrapeTimeout = 5 * time.Second

// latencyBuckets are the upper bounds, in seconds, of the request latency histogram.
var latencyBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// Metrics holds SketchMaker's counters and the gauges it reads at scrape time.
type Metrics struct {
	start time.Time

	requests        *counterVec
	latency         *histogramVec
	limited         *counterVec
	loginFailures   *counterVec
	ipBlocks        *counterVec
	blockedRequests *counterVec
	refusedPrompts  *counterVec

	mu     sync.Mutex
	jobs   func(ctx context.Context) ([]JobCount, error)
	blocks func(ctx context.Context) (int, error)
}

// New returns empty metrics.
func New() *Metrics {
	return &Metrics{
		start: time.Now(),
		requests: newCounterVec("sketchmaker_http_requests_total",
			"HTTP requests answered, by route pattern, method and status.",
			"route", "method", "status"),
		latency: newHistogramVec("sketchmaker_http_request_duration_seconds",
			"Time to answer an HTTP request, by route pattern.", latencyBuckets, "route"),
		limited: newCounterVec("sketchmaker_rate_limited_total",
			"Requests refused by a rate limit, by limit name.", "limit"),
		loginFailures: newCounterVec("sketchmaker_login_failures_total",
			"Failed sign-ins, by reason.", "reason"),
		ipBlocks: newCounterVec("sketchmaker_ip_blocks_total",
			"Client addresses blocked for exceeding rate limits too often."),
		blockedRequests: newCounterVec("sketchmaker_blocked_requests_total",
			"Requests refused because their client address is blocked."),
		refusedPrompts: newCounterVec("sketchmaker_prompts_refused_total",
			"Prompts refused by the content policy."),
	}
}

// knownMethods are the methods counted by name; others are counted as "other", so that a
// client cannot grow the label set.
var knownMethods = map[string]bool{
	"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true,
	"OPTIONS": true,
}

// Request counts one answered request. route is the matched route pattern, or empty when
// no route matched; raw paths are never labels, so clients cannot grow the label set.
func (m *Metrics) Request(route, method string, status int, took time.Duration) {
	if m == nil {
		return
	}
	if route == "" {
		route = "unmatched"
	}
	if !knownMethods[method] {
		method = "other"
	}

	m.requests.add(1, route, method, strconv.Itoa(status))
	m.latency.observe(took.Seconds(), route)
}

// RateLimited counts a request refused by the named limit.
func (m *Metrics) RateLimited(limit string) {
	if m != nil {
		m.limited.add(1, limit)
	}
}

// LoginFailed counts a failed sign-in; reason is one of a fixed set chosen by code.
func (m *Metrics) LoginFailed(reason string) {
	if m != nil {
		m.loginFailures.add(1, reason)
	}
}

// IPBlocked counts a block that started.
func (m *Metrics) IPBlocked() {
	if m != nil {
		m.ipBlocks.add(1)
	}
}

// BlockedRequest counts a request refused because its address is blocked.
func (m *Metrics) BlockedRequest() {
	if m != nil {
		m.blockedRequests.add(1)
	}
}

// PromptRefused counts a prompt refused by the content policy.
func (m *Metrics) PromptRefused() {
	if m != nil {
		m.refusedPrompts.add(1)
	}
}

// JobCount is how many jobs of one provider are in one state.
type JobCount struct {
	Provider string
	Status   string
	Jobs     int
}

// WatchJobs makes every scrape report the jobs count returns, as sketchmaker_jobs by
// provider and status, and their queued total as sketchmaker_job_queue_depth. Reading from
// the database at scrape time keeps the numbers right for every instance sharing it.
func (m *Metrics) WatchJobs(count func(ctx context.Context) ([]JobCount, error)) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.jobs = count
	m.mu.Unlock()
}

// WatchBlocks makes every scrape report how many client addresses count says are blocked,
// as sketchmaker_blocked_ips.
func (m *Metrics) WatchBlocks(count func(ctx context.Context) (int, error)) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.blocks = count
	m.mu.Unlock()
}

// ContentType is the media type of what Write produces.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Write writes every metric in Prometheus's text format. A gauge whose source fails is
// left out and the first such error is returned after everything else was written, so a
// scrape still gets the counters.
func (m *Metrics) Write(ctx context.Context, w io.Writer) error {
	if m == nil {
		return nil
	}
	e := &encoder{w: w}
	m.requests.write(e)
	m.latency.write(e)
	m.limited.write(e)
	m.loginFailures.write(e)
	m.ipBlocks.write(e)
	m.blockedRequests.write(e)
	m.refusedPrompts.write(e)
	m.writeRuntime(e)

	ctx, cancel := context.WithTimeout(ctx, scrapeTimeout)
	defer cancel()
	m.mu.Lock()
	jobs, blocks := m.jobs, m.blocks
	m.mu.Unlock()

	var firstErr error
	if jobs != nil {
		firstErr = writeJobs(ctx, e, jobs)
	}
	if blocks != nil {
		if err := writeBlocks(ctx, e, blocks); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if e.err != nil {
		return e.err
	}
	return firstErr
}

// writeRuntime writes a few facts about the process.
func (m *Metrics) writeRuntime(e *encoder) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)

	e.header("sketchmaker_goroutines", "gauge", "Goroutines that exist now.")
	e.sample("sketchmaker_goroutines", nil, float64(runtime.NumGoroutine()))
	e.header("sketchmaker_heap_bytes", "gauge", "Bytes of allocated heap objects.")
	e.sample("sketchmaker_heap_bytes", nil, float64(ms.HeapAlloc))
	e.header("sketchmaker_start_time_seconds", "gauge",
		"When the process started, in Unix seconds.")
	e.sample("sketchmaker_start_time_seconds", nil, float64(m.start.Unix()))
}

// writeJobs writes the job gauges read from count.
func writeJobs(ctx context.Context, e *encoder,
	count func(ctx context.Context) ([]JobCount, error)) error {
	counts, err := count(ctx)
	if err != nil {
		return err
	}

	e.header("sketchmaker_jobs", "gauge", "Jobs stored, by provider and status.")
	queued := 0
	for _, jc := range counts {
		e.sample("sketchmaker_jobs", []label{{"provider", jc.Provider},
			{"status", jc.Status}}, float64(jc.Jobs))
		if jc.Status == "queued" {
			queued += jc.Jobs
		}
	}
	e.header("sketchmaker_job_queue_depth", "gauge", "Jobs waiting for a worker.")
	e.sample("sketchmaker_job_queue_depth", nil, float64(queued))
	return nil
}

// writeBlocks writes the number of blocked addresses read from count.
func writeBlocks(ctx context.Context, e *encoder,
	count func(ctx context.Context) (int, error)) error {
	n, err := count(ctx)
	if err != nil {
		return err
	}
	e.header("sketchmaker_blocked_ips", "gauge", "Client addresses blocked now.")
	e.sample("sketchmaker_blocked_ips", nil, float64(n))
	return nil
}
