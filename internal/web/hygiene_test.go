package web_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/apptest"
	"github.com/sketchmaker/sketchmaker/internal/role"
	"github.com/sketchmaker/sketchmaker/internal/web"
)

func TestAbuseMethodNotAllowed(t *testing.T) {
	app := apptest.New(t)
	c := app.Client(t)
	c.Register("m@example.com", goodPassword)
	tok := c.CSRF()

	tests := []struct {
		method, path string
		allow        string
		json         bool
	}{
		{http.MethodGet, "/generate/image", "POST", true},
		{http.MethodPut, "/api/gallery", "GET, HEAD", true},
		{http.MethodDelete, "/login", "GET, HEAD, POST", false},
		{http.MethodPatch, "/api/jobs/0123456789abcdef0123456789abcdef", "GET, HEAD", true},
	}
	for _, tt := range tests {
		res := c.Send(tt.method, tt.path, "application/json", []byte(`{}`), tok)
		if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != tt.allow {
			t.Errorf("%s %s: %d, Allow %q; want 405 with %q", tt.method, tt.path,
				res.StatusCode, res.Header.Get("Allow"), tt.allow)
			continue
		}
		if tt.json {
			if body := res.JSON(); body["type"] != "method_not_allowed" ||
				body["code"] != float64(405) || body["request_id"] == "" {
				t.Errorf("%s %s: body %s", tt.method, tt.path, res.Body)
			}
		} else if !strings.Contains(res.Header.Get("Content-Type"), "text/html") {
			t.Errorf("%s %s: %s, want the error page", tt.method, tt.path,
				res.Header.Get("Content-Type"))
		}
	}
	if res := c.Get("/no/such/page"); res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown path: %d", res.StatusCode)
	}
}

func TestAbuseSizeAndTypeLimits(t *testing.T) {
	app := apptest.New(t)
	c := app.Client(t)
	c.Register("s@example.com", goodPassword)
	tok := c.CSRF()

	huge := `{"prompt":"` + strings.Repeat("a", 2<<20) + `"}`
	res := c.Send(http.MethodPost, "/generate/image", "application/json", []byte(huge), tok)
	if res.StatusCode != http.StatusRequestEntityTooLarge || res.JSON()["type"] !=
		"payload_too_large" {
		t.Errorf("2 MB of JSON: %d %.200s", res.StatusCode, res.Body)
	}
	form := url.Values{"email": {strings.Repeat("a", 300<<10)}, "csrf_token": {tok}}
	res = c.Send(http.MethodPost, "/login", "application/x-www-form-urlencoded",
		[]byte(form.Encode()), "")
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("a 300 KB form: %d", res.StatusCode)
	}
	res = c.Send(http.MethodPost, "/login", "text/plain", []byte("email=a"), tok)
	if res.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("sign-in as text/plain: %d", res.StatusCode)
	}

	long := "/gallery?q=" + strings.Repeat("x", 9000)
	if res := c.Get(long); res.StatusCode != http.StatusRequestURITooLong {
		t.Errorf("a 9 KB URL: %d", res.StatusCode)
	}
	if res := c.Get("/api/gallery?search=" + strings.Repeat("x", 9000)); res.StatusCode !=
		http.StatusRequestURITooLong || res.JSON()["type"] != "uri_too_long" {
		t.Errorf("a 9 KB API URL: %d %.200s", res.StatusCode, res.Body)
	}
	if res := c.Get("/gallery?q=" + strings.Repeat("x", 7000)); res.StatusCode !=
		http.StatusOK {
		t.Errorf("a 7 KB URL: %d", res.StatusCode)
	}
}

// TestAbuseServerLimits checks the real server's header limit and timeouts.
func TestAbuseServerLimits(t *testing.T) {
	app := apptest.New(t)
	srv := app.Server.HTTPServer("127.0.0.1:0")
	if srv.ReadHeaderTimeout <= 0 || srv.ReadTimeout <= 0 || srv.IdleTimeout <= 0 ||
		srv.MaxHeaderBytes <= 0 || srv.MaxHeaderBytes > 1<<20 {
		t.Fatalf("server limits: %+v", srv)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /pricing HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n",
		strings.Repeat("b", srv.MaxHeaderBytes+4096))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.Contains(line, "431") {
		t.Errorf("oversized headers: %q %v; want 431", line, err)
	}
}

func TestAbuseCORS(t *testing.T) {
	preflight := func(app *apptest.App, origin string) *apptest.Response {
		req, _ := http.NewRequest(http.MethodOptions, app.URL+"/api/gallery", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "GET")
		return app.Client(t).Do(req)
	}

	closed := apptest.New(t)
	if res := preflight(closed, "https://app.example"); res.StatusCode != http.StatusForbidden ||
		res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight with no allowed origins: %d %q", res.StatusCode,
			res.Header.Get("Access-Control-Allow-Origin"))
	}

	app := apptest.NewWith(t, apptest.Options{Env: map[string]string{
		"CORS_ALLOWED_ORIGINS": "https://app.example, http://localhost:3000"}})
	res := preflight(app, "https://app.example")
	if res.StatusCode != http.StatusNoContent ||
		res.Header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		!strings.Contains(res.Header.Get("Access-Control-Allow-Headers"), "X-CSRFToken") {
		t.Errorf("allowed preflight: %d %v", res.StatusCode, res.Header)
	}
	if res := preflight(app, "https://evil.example"); res.StatusCode != http.StatusForbidden ||
		res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from another origin: %d %q", res.StatusCode,
			res.Header.Get("Access-Control-Allow-Origin"))
	}

	c := app.Client(t)
	c.Register("cors@example.com", goodPassword)
	for origin, want := range map[string]string{"http://localhost:3000": "http://localhost:3000",
		"https://evil.example": ""} {
		req, _ := http.NewRequest(http.MethodGet, app.URL+"/api/user/profile", nil)
		req.Header.Set("Origin", origin)
		res := c.Do(req)
		if got := res.Header.Get("Access-Control-Allow-Origin"); got != want {
			t.Errorf("GET from %s: Allow-Origin %q, want %q", origin, got, want)
		}
		if !strings.Contains(res.Header.Get("Vary"), "Origin") {
			t.Errorf("GET from %s: no Vary: Origin", origin)
		}
	}
	// Pages are never opened to other origins.
	req, _ := http.NewRequest(http.MethodGet, app.URL+"/dashboard", nil)
	req.Header.Set("Origin", "https://app.example")
	if res := c.Do(req); res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("a page answered with Access-Control-Allow-Origin")
	}
}

func TestAbuseMetricsEndpoint(t *testing.T) {
	if res := apptest.New(t).Client(t).Get("/metrics"); res.StatusCode != http.StatusNotFound {
		t.Errorf("/metrics without METRICS_TOKEN: %d, want 404", res.StatusCode)
	}

	token := "metrics-token-0123456789"
	app := apptest.NewWith(t, apptest.Options{Env: map[string]string{"METRICS_TOKEN": token}})
	c := app.Client(t)
	c.Register("metrics@example.com", goodPassword)
	c.Send(http.MethodPost, "/generate/image", "application/json",
		[]byte(`{"prompt":"a quiet harbour","image_size":"square"}`), c.CSRF())
	app.Client(t).PostForm("/login", url.Values{"email": {"metrics@example.com"},
		"password": {"wrong password 1"}})
	c.Get("/no/such/page")
	// Refused before it reaches its handler, it still counts under its route.
	if res := c.Send(http.MethodPost, "/generate/image", "application/json",
		[]byte(`{"prompt":"no token"}`), ""); res.StatusCode != http.StatusForbidden {
		t.Fatalf("a request without its CSRF token: %d", res.StatusCode)
	}

	scrape := func(auth string) *apptest.Response {
		req, _ := http.NewRequest(http.MethodGet, app.URL+"/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		return app.Client(t).Do(req)
	}
	for _, bad := range []string{"", "Bearer wrong", "Basic " + token, token} {
		if res := scrape(bad); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("Authorization %q: %d, want 401", bad, res.StatusCode)
		}
	}

	res := scrape("Bearer " + token)
	body := string(res.Body)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"),
		"text/plain; version=0.0.4") {
		t.Fatalf("scrape: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		`sketchmaker_http_requests_total{route="POST /register",method="POST",status="303"} 1`,
		`sketchmaker_http_requests_total{route="unmatched",method="GET",status="404"}`,
		`sketchmaker_http_requests_total{route="POST /generate/image",method="POST",status="403"} 1`,
		`sketchmaker_http_request_duration_seconds_count{route="GET /pricing"}`,
		`sketchmaker_jobs{provider="builtin",status="succeeded"} 1`,
		"sketchmaker_job_queue_depth 0",
		`sketchmaker_login_failures_total{reason="wrong_password"} 1`,
		"sketchmaker_blocked_ips 0",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
	if strings.Contains(body, "metrics@example.com") || strings.Contains(body, "harbour") {
		t.Error("the scrape holds user data")
	}
}

func TestMetricsHandlerServesOnlyMetrics(t *testing.T) {
	app := apptest.New(t)
	h := web.MetricsHandler(app.Abuse.Metrics, app.Log)
	rec := &recorder{header: http.Header{}}
	h.ServeHTTP(rec, (&http.Request{Method: http.MethodGet,
		URL: &url.URL{Path: "/metrics"}}).WithContext(context.Background()))
	if rec.status != http.StatusOK || !strings.Contains(rec.body.String(),
		"sketchmaker_http_requests_total") {
		t.Errorf("metrics handler: %d", rec.status)
	}
	rec = &recorder{header: http.Header{}}
	h.ServeHTTP(rec, (&http.Request{Method: http.MethodGet,
		URL: &url.URL{Path: "/dashboard"}}).WithContext(context.Background()))
	if rec.status != http.StatusNotFound {
		t.Errorf("metrics handler on another path: %d", rec.status)
	}
}

// recorder is a minimal ResponseWriter.
type recorder struct {
	header http.Header
	status int
	body   strings.Builder
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(s int) {
	if r.status == 0 {
		r.status = s
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}

func TestRouteWithUnknownLimitRefusesToStart(t *testing.T) {
	err := web.CheckRoutes([]web.RouteInfo{{Pattern: "GET /x", Perm: role.Public,
		Limit: "made_up"}})
	if err == nil {
		t.Fatal("a route naming an unknown limit was accepted")
	}
	for _, rt := range web.Routes(apptest.New(t).Server) {
		if strings.Contains(rt.Pattern, " /api/") && rt.Limit == "" {
			t.Errorf("API route %s names no rate limit", rt.Pattern)
		}
	}
}
