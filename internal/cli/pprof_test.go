package cli

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
)

// TestServePprof serves the profiler's index on its own address, and nothing else there.
func TestServePprof(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, err := servePprof(ctx, "127.0.0.1:0", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}

	for path, want := range map[string]int{"/debug/pprof/": http.StatusOK,
		"/healthz": http.StatusNotFound, "/debug/pprof/cmdline": http.StatusOK} {
		res, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("%s: %d, want %d", path, res.StatusCode, want)
		}
	}
}
