package web

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

// maxURLBytes is the longest request target served; no page or API of SketchMaker needs
// more, and long URLs are a common way to probe parsers and fill logs.
const maxURLBytes = 8 << 10

// limitURL answers 414 to a request whose target is longer than maxURLBytes.
func (s *Server) limitURL(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.RequestURI) > maxURLBytes || len(r.URL.RawQuery) > maxURLBytes {
			s.failStatus(w, r, http.StatusRequestURITooLong, "uri_too_long",
				"The address of this request is too long.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// probeMethods are the methods tried to tell a wrong method from a wrong path.
var probeMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
	http.MethodPatch, http.MethodDelete}

// unrouted answers a request no route took: 405 with an Allow header when the path has
// routes for other methods, 404 otherwise, both in the JSON error shape or as the page.
// Go's mux would say 405 itself, but the catch-all route that gives 404 its shape takes
// every method first.
func (s *Server) unrouted(w http.ResponseWriter, r *http.Request) {
	allowed := s.allowedMethods(r)
	if len(allowed) == 0 {
		s.notFound(w, r)
		return
	}
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	s.failStatus(w, r, http.StatusMethodNotAllowed, "method_not_allowed",
		"This address does not accept "+r.Method+" requests; it accepts "+
			strings.Join(allowed, ", ")+".")
}

// allowedMethods returns the methods that some route serves at r's path.
func (s *Server) allowedMethods(r *http.Request) []string {
	var out []string
	for _, m := range probeMethods {
		probe := r.WithContext(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != "/" {
			out = append(out, m)
		}
	}
	return out
}

// failStatus answers with a status that no error kind maps to, in the JSON error shape or
// as the error page.
func (s *Server) failStatus(w http.ResponseWriter, r *http.Request, status int, typ,
	msg string) {
	st := state(r)
	if !st.api {
		s.renderError(w, r, status, msg)
		return
	}
	writeJSON(w, status, apiError{Error: msg, Type: typ, Code: status,
		Details: map[string]string{}, Timestamp: time.Now().UTC().Format(time.RFC3339),
		RequestID: st.id})
}

// corsPrefixes are the paths other origins may call when CORS_ALLOWED_ORIGINS names them.
var corsPrefixes = []string{"/api/", "/generate/"}

// cors lets the origins of CORS_ALLOWED_ORIGINS, and no others, call the API from a
// browser: it answers their preflight requests and marks their responses readable. With no
// origins configured it only refuses preflights, so CORS stays closed.
func (s *Server) cors(next http.Handler) http.Handler {
	allowed := s.Config.Abuse.CORSOrigins
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hasAnyPrefix(r.URL.Path, corsPrefixes) {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Add("Vary", "Origin")
		origin := r.Header.Get("Origin")
		ok := origin != "" && slices.Contains(allowed, strings.ToLower(origin))
		preflight := r.Method == http.MethodOptions &&
			r.Header.Get("Access-Control-Request-Method") != ""

		switch {
		case preflight && !ok:
			state(r).api = true
			s.failStatus(w, r, http.StatusForbidden, "permission_error",
				"This origin may not call the API from a browser.")
		case preflight:
			allowOrigin(w, origin)
			h := w.Header()
			h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE")
			h.Set("Access-Control-Allow-Headers",
				"Content-Type, X-CSRFToken, X-CSRF-Token, Authorization")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
		default:
			if ok {
				allowOrigin(w, origin)
			}
			next.ServeHTTP(w, r)
		}
	})
}

func allowOrigin(w http.ResponseWriter, origin string) {
	w.Header().Set("Access-Control-Allow-Origin", origin)
	w.Header().Set("Access-Control-Allow-Credentials", "true")
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
