package web

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/account"
	"github.com/sketchmaker/sketchmaker/internal/apitoken"
	"github.com/sketchmaker/sketchmaker/internal/audit"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/role"
	"github.com/sketchmaker/sketchmaker/internal/session"
)

// reqState is what the middleware learns about a request, shared with the handlers.
type reqState struct {
	id     string
	ip     string
	start  time.Time
	secure bool
	api    bool

	user     *account.User
	sess     *session.Session
	token    string          // the session cookie's secret
	apiToken *apitoken.Token // the bearer token that signed the request in, if any
	anonID   string          // binds CSRF tokens before sign-in
}

type stateKey struct{}

// state returns the request's state; every request passing wrap has one.
func state(r *http.Request) *reqState {
	if st, ok := r.Context().Value(stateKey{}).(*reqState); ok {
		return st
	}
	return &reqState{}
}

// wrap puts the middleware around the mux, outermost first: state and request id, the
// refusal of blocked addresses (before any session work or password hashing), panic
// recovery, security headers, metrics, access log, URL length, CORS, body limits,
// cross-origin protection, text checks (text.go), session, rate limits by route, CSRF.
// Authorization happens per route, inside the mux.
func (s *Server) wrap(mux http.Handler) http.Handler {
	h := s.checkCSRF(mux)
	h = s.limitRoutes(h)
	h = s.loadSession(h)
	h = s.checkText(h)
	h = s.crossOrigin(h)
	h = s.limitBody(h)
	h = s.cors(h)
	h = s.limitURL(h)
	h = s.accessLog(h)
	h = s.observe(h)
	h = s.securityHeaders(h)
	h = s.recoverPanics(h)
	h = s.refuseBlocked(h)
	return s.begin(h)
}

// begin gives each request its state: an id, the client address and whether it came over
// HTTPS.
func (s *Server) begin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &reqState{id: randomID(), start: time.Now(), secure: s.isSecure(r)}
		st.ip = s.ip.Resolve(r.RemoteAddr, r.Header.Values("X-Forwarded-For")).String()
		st.api = wantsJSON(r)
		w.Header().Set("X-Request-ID", st.id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), stateKey{}, st)))
	})
}

// isSecure decides whether cookies carry Secure and responses carry HSTS.
func (s *Server) isSecure(r *http.Request) bool {
	switch s.Config.CookieSecure {
	case "true":
		return true
	case "false":
		return false
	}
	return r.TLS != nil || strings.HasPrefix(s.Config.BaseURL, "https://")
}

// wantsJSON guesses, before routing, whether an error should be JSON.
func wantsJSON(r *http.Request) bool {
	p := r.URL.Path
	if strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/generate/") ||
		strings.HasPrefix(p, "/admin/api/") {
		return true
	}
	return strings.Contains(r.Header.Get("Accept"), "application/json") &&
		!strings.Contains(r.Header.Get("Accept"), "text/html")
}

func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.Log.Error("handler panicked", "request_id", state(r).id,
					"route", r.Pattern, "panic", fmt.Sprint(v))
				s.fail(w, r, errors.New("panic"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// contentSecurityPolicy allows nothing from other origins and no inline script or style.
const contentSecurityPolicy = "default-src 'self'; img-src 'self' data: blob:; " +
	"object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'; " +
	"connect-src 'self'"

func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Frame-Options", "SAMEORIGIN")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), "+
			"payment=(), usb=(), interest-cohort=()")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if state(r).secure {
			h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}

// statusWriter remembers the status a handler wrote, for the access log.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// ReadFrom hands a file's copy to the real writer, which sends it with sendfile(2) rather
// than through a buffer (http.ServeContent copies with io.Copy).
func (w *statusWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := io.Copy(w.ResponseWriter, r)
	w.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the real writer (flushing event streams).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// accessLog writes one line per request, with the route pattern rather than the raw path,
// so no query string, token or id typed by a client ends up in the log.
func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		st := state(r)
		var uid int64
		if st.user != nil {
			uid = st.user.ID
		}
		s.Log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("request_id", st.id), slog.String("method", r.Method),
			slog.String("route", s.routeOf(r)), slog.Int("status", sw.status),
			slog.Int64("bytes", sw.bytes), slog.Int64("user_id", uid),
			slog.String("ip", st.ip), slog.Duration("took", time.Since(st.start)))
	})
}

// Body limits: JSON and forms are small; uploads have their own, larger limit.
const (
	maxFormBytes = 256 << 10
	maxJSONBytes = 1 << 20
)

func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := int64(maxFormBytes)
		if state(r).api {
			limit = maxJSONBytes
		}
		if n, ok := s.uploadLimit(r); ok {
			limit = n // upload routes (training.go)
		}
		if r.ContentLength > limit {
			s.fail(w, r, fault.New(fault.TooLarge, "The request is too large: this "+
				"address accepts at most "+sizeText(limit)+"."))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		next.ServeHTTP(w, r)
	})
}

// crossOrigin refuses state-changing requests that a browser marks as cross-site, using
// Go's own Sec-Fetch-Site and Origin checks.
func (s *Server) crossOrigin(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	for _, origin := range s.Config.Abuse.CORSOrigins {
		_ = cop.AddTrustedOrigin(origin) // validated by the configuration already
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.recordCSRFFailure(r, "cross_origin")
		s.fail(w, r, fault.New(fault.Forbidden,
			"Cross-site requests are not allowed. Reload the page and try again."))
	}))
	return cop.Handler(next)
}

// Cookie names. Over HTTPS the __Host- prefix pins a cookie to this host and path /.
const (
	sessionCookie = "sketchmaker_session"
	anonCookie    = "sketchmaker_anon"
)

func cookieName(base string, secure bool) string {
	if secure {
		return "__Host-" + base
	}
	return base
}

func readCookie(r *http.Request, base string, secure bool) string {
	c, err := r.Cookie(cookieName(base, secure))
	if err != nil {
		return ""
	}
	return c.Value
}

func (s *Server) setCookie(w http.ResponseWriter, r *http.Request, base, value string,
	maxAge int) {
	secure := state(r).secure
	http.SetCookie(w, &http.Cookie{
		Name: cookieName(base, secure), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode,
	})
}

// loadSession finds the signed-in user, if any: from a bearer API token on the JSON
// routes that take one (apitokens.go), else from the session cookie. Visitors without a
// session get an anonymous id that binds their CSRF tokens, so the sign-in form is
// protected too.
func (s *Server) loadSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := state(r)
		if secret, ok := bearerToken(r); ok && s.Tokens != nil && s.takesToken(r) {
			// A bearer token decides alone: a bad one is refused, never helped by a
			// cookie the same client happens to send.
			if err := s.signInWithToken(w, r, secret); err != nil {
				s.fail(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		if tok := readCookie(r, sessionCookie, st.secure); tok != "" {
			if ended := s.resolveSession(r, st, tok); ended {
				s.setCookie(w, r, sessionCookie, "", -1)
			}
		}
		if st.user == nil {
			st.anonID = readCookie(r, anonCookie, st.secure)
			if len(st.anonID) != 22 {
				st.anonID = randomID()
				if !cacheable(r) {
					s.setCookie(w, r, anonCookie, st.anonID, 0)
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// cacheable reports whether r asks for something a shared cache may keep (static files,
// shared images and their pages), which must then carry no cookie: a cache would hand one
// visitor's anonymous id, and the CSRF tokens bound to it, to every other.
func cacheable(r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		(strings.HasPrefix(r.URL.Path, "/static/") || strings.HasPrefix(r.URL.Path, "/s/"))
}

// resolveSession signs the request in with the session of tok, and reports whether that
// session has ended (so its cookie should go). A lookup that merely failed leaves the
// request anonymous and the session, and its cookie, as they were.
func (s *Server) resolveSession(r *http.Request, st *reqState, tok string) (ended bool) {
	// The session and its user come in one query. A failed read (a client that went away,
	// a broken connection) leaves the request anonymous and keeps the session: ending it
	// signed people out whenever a request was cut short (issue 8, bench/results.md).
	u := new(account.User)
	sess, err := s.Sessions.LookupWithUser(r.Context(), tok, account.JoinedColumns,
		account.ScanTargets(u)...)
	if errors.Is(err, session.ErrNoSession) {
		return true
	}
	if err != nil {
		if r.Context().Err() == nil {
			s.Log.Error("session lookup failed", "request_id", st.id, "error", err)
		}
		return false
	}
	if u.Status != account.StatusActive {
		_ = s.Sessions.Delete(r.Context(), tok)
		s.audit(r, audit.Event{Type: audit.SessionRevoked, UserID: sess.UserID,
			Details: map[string]any{"reason": "account_not_active"}})
		return true
	}
	st.user, st.sess, st.token = u, sess, tok
	return false
}

// csrfBinding is what a request's CSRF tokens are tied to: the session, or before sign-in
// the anonymous id.
func csrfBinding(st *reqState) string {
	if st.sess != nil {
		return "s:" + st.sess.Hash
	}
	return "a:" + st.anonID
}

// csrfToken returns a fresh masked token for the request's pages and scripts.
func (s *Server) csrfToken(r *http.Request) string {
	return s.csrf.Issue(csrfBinding(state(r)))
}

// checkCSRF requires a valid token on every state-changing request, from the form field
// csrf_token or the X-CSRFToken (or X-CSRF-Token) header.
func (s *Server) checkCSRF(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		}
		// The exemptions: FAL's webhook is a server-to-server call authenticated by its
		// ED25519 signature, and a request signed in by a bearer API token carries its
		// credential in a header no browser adds by itself; neither has a session a forged
		// request could ride on.
		if r.Method == http.MethodPost && r.URL.Path == falWebhookPath ||
			state(r).apiToken != nil {
			next.ServeHTTP(w, r)
			return
		}

		tok := r.Header.Get("X-CSRFToken")
		if tok == "" {
			tok = r.Header.Get("X-CSRF-Token")
		}
		if tok == "" && isMultipart(r) {
			// Reading a form field would read the whole upload before the check.
			s.recordCSRFFailure(r, "multipart without header token")
			s.fail(w, r, fault.New(fault.Forbidden, "Send the security token of an upload "+
				"in the X-CSRFToken header; a form field is not read for uploads."))
			return
		}
		if tok == "" && isForm(r) {
			tok = r.PostFormValue("csrf_token")
		}
		if err := s.csrf.Check(csrfBinding(state(r)), tok); err != nil {
			s.recordCSRFFailure(r, err.Error())
			s.fail(w, r, fault.Wrap(fault.Forbidden, csrfMessage(state(r).api), err))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// csrfMessage tells a person with a form, or the author of a script, what to send.
func csrfMessage(api bool) string {
	if api {
		return "The CSRF token is missing or has expired. Send the token of a page's " +
			"csrf-token meta tag in the X-CSRFToken header, or call the API with a personal " +
			"API token (Authorization: Bearer), which needs none."
	}
	return "The security token of this form is missing or has expired. Reload the page " +
		"and try again."
}

func isMultipart(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "multipart/form-data"
}

// sizeText writes a byte limit for people: "25 MB", "256 KB".
func sizeText(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return strconv.FormatInt(n>>20, 10) + " MB"
	}
	if n >= 1<<20 {
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MB"
	}
	return strconv.FormatInt(n>>10, 10) + " KB"
}

func isForm(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/x-www-form-urlencoded" || mt == "multipart/form-data"
}

func isJSON(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/json"
}

func (s *Server) recordCSRFFailure(r *http.Request, reason string) {
	st := state(r)
	var uid int64
	if st.user != nil {
		uid = st.user.ID
	}
	s.audit(r, audit.Event{Type: audit.CSRFFailure, UserID: uid,
		Details: map[string]any{"reason": reason, "route": r.Method + " " + r.URL.Path}})
}

// authorize runs a route's handler only for a caller holding its permission. Anonymous
// callers are sent to sign in; others are refused and the refusal audited.
func (s *Server) authorize(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := state(r)
		st.api = rt.api
		who := role.Anonymous
		if st.user != nil {
			who = st.user.Role
		}
		if who.Can(rt.perm) {
			if s.twoFactorMissing(r, rt.perm) {
				s.fail(w, r, errEnrolFirst)
				return
			}
			if strings.HasPrefix(r.URL.Path, "/admin") {
				s.noteAdminAccess(r, rt.pattern)
			}
			rt.handler(w, r)
			return
		}

		if st.user == nil {
			if rt.api || r.Method != http.MethodGet {
				s.fail(w, r, fault.New(fault.Unauthorized, "Sign in to continue."))
				return
			}
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()),
				http.StatusSeeOther)
			return
		}
		s.audit(r, audit.Event{Type: audit.PermissionDenied, UserID: st.user.ID,
			Details: map[string]any{"route": rt.pattern, "permission": string(rt.perm)}})
		s.fail(w, r, fault.New(fault.Forbidden, role.Describe(rt.perm)))
	})
}

// audit records an event with the request's address and user agent. A failure to audit is
// logged; it does not fail the request.
func (s *Server) audit(r *http.Request, e audit.Event) {
	st := state(r)
	e.IP, e.UserAgent = st.ip, r.UserAgent()
	if st.apiToken != nil {
		// What a script did names the token it used, so a leaked one can be traced. Its
		// public id is called a credential: the audit trail redacts keys saying "token".
		details := make(map[string]any, len(e.Details)+1)
		for k, v := range e.Details {
			details[k] = v
		}
		details["via_credential"] = st.apiToken.ID
		e.Details = details
	}
	if err := s.Audit.Record(r.Context(), e); err != nil {
		s.Log.Error("audit event not recorded", "request_id", st.id,
			"event_type", e.Type, "error", err)
	}
}

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
