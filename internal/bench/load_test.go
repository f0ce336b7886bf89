package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestLoadRun(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	request := func(path string) func(int) (*http.Request, error) {
		return func(int) (*http.Request, error) {
			return http.NewRequest(http.MethodGet, srv.URL+path, nil)
		}
	}

	t.Run("answers are counted and timed", func(t *testing.T) {
		sum, err := Load{Conns: 4, Warmup: 20 * time.Millisecond,
			Duration: 200 * time.Millisecond, Request: request("/")}.Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if sum.Requests == 0 || sum.Errors != 0 || len(sum.Latencies) != sum.Requests {
			t.Fatalf("summary: %+v", sum)
		}
		if int64(sum.Requests) > served.Load() {
			t.Fatalf("%d requests counted but %d served", sum.Requests, served.Load())
		}
		if sum.P(50) <= 0 || sum.P(99) < sum.P(50) || sum.Elapsed < 200*time.Millisecond {
			t.Fatalf("p50 %v, p99 %v, elapsed %v", sum.P(50), sum.P(99), sum.Elapsed)
		}
	})

	t.Run("the request budget stops the run", func(t *testing.T) {
		sum, err := Load{Conns: 2, Duration: time.Minute, MaxRequests: 25,
			Request: request("/")}.Run(context.Background())
		// It ends when the budget is spent, long before the minute is up.
		if err != nil || sum.Requests != 25 || sum.Elapsed >= time.Minute {
			t.Fatalf("%d requests in %v, %v", sum.Requests, sum.Elapsed, err)
		}
	})

	t.Run("another status is an error", func(t *testing.T) {
		sum, err := Load{Conns: 1, Duration: 100 * time.Millisecond,
			Request: request("/missing")}.Run(context.Background())
		if err != nil || sum.Requests != 0 || sum.Errors == 0 ||
			!strings.Contains(sum.FirstErr, "status 404") {
			t.Fatalf("summary %+v, %v", sum, err)
		}
	})

	t.Run("only loopback is loaded", func(t *testing.T) {
		sum, err := Load{Conns: 1, Duration: 50 * time.Millisecond,
			Request: func(int) (*http.Request, error) {
				return http.NewRequest(http.MethodGet, "http://192.0.2.1/", nil)
			}}.Run(context.Background())
		if err != nil || sum.Requests != 0 ||
			!strings.Contains(sum.FirstErr, "only 127.0.0.1") {
			t.Fatalf("summary %+v, %v", sum, err)
		}
	})

	t.Run("a load without a duration is refused", func(t *testing.T) {
		_, err := Load{Conns: 1, Request: request("/")}.Run(context.Background())
		if err == nil {
			t.Fatal("no error")
		}
	})
}
