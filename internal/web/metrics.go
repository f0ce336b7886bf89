package web

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/metrics"
)

// observe counts every request by the route it matched and its status, and times it.
func (s *Server) observe(next http.Handler) http.Handler {
	if s.Metrics == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)

		s.Metrics.Request(s.routeOf(r), r.Method, max(sw.status, http.StatusOK),
			time.Since(start))
	})
}

// routeOf names the route of a served request for logs and metrics: the pattern the mux
// chose, or for a request middleware refused before it reached the mux (a missing CSRF
// token, a body too large, a rate limit), the pattern it would have chosen. The catch-all
// route that answers 404 and 405 counts as no route.
func (s *Server) routeOf(r *http.Request) string {
	route := r.Pattern
	if route == "" && s.mux != nil {
		_, route = s.mux.Handler(r)
	}
	if route == "/" {
		return ""
	}
	return route
}

// serveMetrics serves the metrics on the main address to a caller presenting METRICS_TOKEN
// as a bearer token. Without a token configured the address does not exist.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	want := s.Config.Abuse.MetricsToken
	if want == "" || s.Metrics == nil {
		s.notFound(w, r)
		return
	}

	got, bearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !bearer || !sameSecret(got, want) {
		state(r).api = true
		w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
		s.fail(w, r, fault.New(fault.Unauthorized, "Present the metrics token as a "+
			"bearer token."))
		return
	}
	writeMetrics(w, r, s.Metrics, s.Log)
}

// sameSecret compares two secrets in constant time, whatever their lengths.
func sameSecret(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// MetricsHandler serves m on its own, for the separate listener of METRICS_ADDR, which
// should be reachable only from the monitoring network.
func MetricsHandler(m *metrics.Metrics, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		writeMetrics(w, r, m, log)
	})
	return mux
}

// writeMetrics writes a scrape. A gauge whose source failed is left out and logged; the
// counters are still served.
func writeMetrics(w http.ResponseWriter, r *http.Request, m *metrics.Metrics,
	log *slog.Logger) {
	var buf bytes.Buffer
	if err := m.Write(r.Context(), &buf); err != nil {
		log.Error("metrics scrape incomplete", "error", err)
	}
	w.Header().Set("Content-Type", metrics.ContentType)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}
