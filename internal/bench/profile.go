package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// profileCPU starts capturing a CPU profile of the server for d, when profiling is on, and
// returns a function that waits for it and writes it to the profile folder as
// <run>-<name>.cpu.pprof. Profiles explain figures; they are never needed for them.
func (r *run) profileCPU(ctx context.Context, name string, d time.Duration) func() {
	if r.pprof == "" {
		return func() {}
	}
	secs := max(int(d.Round(time.Second)/time.Second), 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.saveProfile(ctx, fmt.Sprintf("/debug/pprof/profile?seconds=%d", secs),
			name+".cpu.pprof")
	}()

	// Where the goroutines wait, half-way through: a CPU profile does not show waiting.
	half := make(chan struct{})
	go func() {
		defer close(half)
		if sleepCtx(ctx, d/2) == nil {
			r.saveProfile(ctx, "/debug/pprof/goroutine?debug=1", name+".goroutines.txt")
		}
	}()
	return func() { <-done; <-half }
}

// profileHeap writes the server's heap profile as <run>-<name>.heap.pprof, when
// profiling is on.
func (r *run) profileHeap(ctx context.Context, name string) {
	if r.pprof != "" {
		r.saveProfile(ctx, "/debug/pprof/heap?gc=1", name+".heap.pprof")
		// The text form ends with the runtime's memory statistics.
		r.saveProfile(ctx, "/debug/pprof/heap?debug=1", name+".heap.txt")
	}
}

// saveProfile fetches path from the server's profiler into the profile folder; failures
// are logged, since a missing profile changes no figure.
func (r *run) saveProfile(ctx context.Context, path, file string) {
	out := filepath.Join(r.o.Profile, r.name+"-"+file)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.pprof+path, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		r.log.Warn("profile not captured", "file", out, "error", err)
		return
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		io.Copy(io.Discard, res.Body)
		r.log.Warn("profile not captured", "file", out, "status", res.StatusCode)
		return
	}
	err = os.MkdirAll(r.o.Profile, 0o755)
	if err == nil {
		err = writeFrom(out, res.Body)
	}
	if err != nil {
		r.log.Warn("profile not written", "file", out, "error", err)
	}
}
