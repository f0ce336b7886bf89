package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// maxSamples bounds the latencies kept by one run, so a fast endpoint cannot fill memory.
const maxSamples = 2_000_000

// Load is a closed-loop load: Conns workers, each sending its next request as soon as it
// has read the previous answer, for Warmup (not measured) and then Duration or until
// MaxRequests answers, whichever comes first.
type Load struct {
	Conns       int
	Warmup      time.Duration
	Duration    time.Duration
	MaxRequests int // 0: bounded by Duration and maxSamples only

	// Until, when not nil, ends the measured window early once it is closed.
	Until <-chan struct{}

	// Request builds worker's next request; it must point at 127.0.0.1.
	Request func(worker int) (*http.Request, error)
	// Want is the status every answer must have; 0 means 200.
	Want int
}

// Run drives the load and returns the measured window's summary. It refuses a request to
// any host but 127.0.0.1, so a mistake cannot turn the generator on another machine.
func (l Load) Run(ctx context.Context) (Summary, error) {
	if l.Conns < 1 || l.Duration <= 0 || l.Request == nil {
		return Summary{}, errors.New("load needs connections, a duration and a request")
	}
	want := l.Want
	if want == 0 {
		want = http.StatusOK
	}
	client, done := loopbackClient(l.Conns)
	defer done()

	var (
		measuring atomic.Bool
		count     atomic.Int64
		errs      atomic.Int64
		firstErr  sync.Once
		firstMsg  string
	)
	limit := int64(maxSamples)
	if l.MaxRequests > 0 {
		limit = int64(min(l.MaxRequests, maxSamples))
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()

	parts := make([][]time.Duration, l.Conns)
	var wg sync.WaitGroup
	for w := range l.Conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for runCtx.Err() == nil {
				took, err := l.one(runCtx, client, w, want)
				if runCtx.Err() != nil || !measuring.Load() {
					continue
				}
				if err != nil {
					errs.Add(1)
					firstErr.Do(func() { firstMsg = err.Error() })
					continue
				}
				if count.Add(1) > limit {
					stop()
					continue
				}
				parts[w] = append(parts[w], took)
			}
		}()
	}

	// Warm up, then measure until the time is up or the request budget is spent.
	if err := sleepCtx(runCtx, l.Warmup); err != nil && ctx.Err() != nil {
		stop()
		wg.Wait()
		return Summary{}, ctx.Err()
	}
	measuring.Store(true)
	start := time.Now()
	window := time.NewTimer(l.Duration)
	select {
	case <-runCtx.Done():
	case <-window.C:
	case <-l.Until: // a nil channel never ends the window
	}
	window.Stop()
	elapsed := time.Since(start)
	stop()
	wg.Wait()
	return merge(parts, int(errs.Load()), firstMsg, elapsed), ctx.Err()
}

// one sends one request, reads the whole answer and returns how long that took.
func (l Load) one(ctx context.Context, c *http.Client, worker, want int) (time.Duration,
	error) {
	req, err := l.Request(worker)
	if err != nil {
		return 0, err
	}
	if err := loopbackOnly(req.URL); err != nil {
		return 0, err
	}

	start := time.Now()
	res, err := c.Do(req.WithContext(ctx))
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	took := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("read answer: %w", err)
	}
	if res.StatusCode != want {
		return 0, fmt.Errorf("%s %s: status %d, want %d", req.Method, req.URL.Path,
			res.StatusCode, want)
	}
	return took, nil
}

// loopbackOnly refuses any URL that does not name 127.0.0.1.
func loopbackOnly(u *url.URL) error {
	if u.Hostname() != "127.0.0.1" {
		return fmt.Errorf("refusing to load %q: only 127.0.0.1 is benchmarked", u.Host)
	}
	return nil
}

// loopbackClient returns a client that keeps up to conns connections open, follows no
// redirects and asks for no compression, and a function that closes its connections.
func loopbackClient(conns int) (*http.Client, func()) {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		DisableCompression:  true,
		IdleConnTimeout:     30 * time.Second,
	}
	c := &http.Client{Transport: tr, Timeout: 2 * time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
	return c, tr.CloseIdleConnections
}

// sleepCtx waits for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
