// Package apptest builds the whole SketchMaker application on a temporary database for
// tests, serves it with httptest, and gives tests a browser-like client with a cookie jar
// that fetches CSRF tokens the way the pages do.
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/cli"
	"github.com/sketchmaker/sketchmaker/internal/config"
	"github.com/sketchmaker/sketchmaker/internal/credit"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
)

// App is a running SketchMaker for one test.
type App struct {
	*cli.App
	URL   string
	Audit *SafeBuffer
}

// SafeBuffer is a bytes.Buffer safe for concurrent writers, holding the audit lines.
type SafeBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *SafeBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *SafeBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Options change the test configuration.
type Options struct {
	Env      map[string]string
	Postgres bool // use a fresh PostgreSQL schema instead of SQLite
}

// New starts SketchMaker on a temporary SQLite database with fast password hashing.
func New(t testing.TB) *App { return NewWith(t, Options{}) }

// NewWith starts SketchMaker with extra configuration.
func NewWith(t testing.TB, o Options) *App {
	t.Helper()
	env := map[string]string{
		"SKETCHMAKER_DATA_DIR": t.TempDir(),
		"BCRYPT_LOG_ROUNDS":    "10",
		"SECRET_KEY":           "test-secret-key-0123456789abcdef0123456789abcdef",
		"LOG_LEVEL":            "warn",
		// Many tests send bursts from one address; the tests of the limits switch them on.
		"API_RATE_LIMIT_ENABLED": "false",
	}
	if o.Postgres {
		if os.Getenv(dbtest.EnvPostgres) == "" {
			t.Skip(dbtest.EnvPostgres + " is not set; skipping the PostgreSQL run")
		}
		env["DATABASE_URL"] = pgSchemaURL(t)
	}
	for k, v := range o.Env {
		env[k] = v
	}
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok }, "")
	if err != nil {
		t.Fatalf("config: %v", err)
	}

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	auditBuf := &SafeBuffer{}
	app, err := cli.Build(context.Background(), cfg, log, auditBuf)
	if err != nil {
		t.Fatalf("build app: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	app.Background(ctx)
	srv := httptest.NewServer(app.Server)
	t.Cleanup(func() {
		srv.Close()
		cancel()
		app.Close()
	})
	return &App{App: app, URL: srv.URL, Audit: auditBuf}
}

// pgSchemaURL returns the test server's URL pointed at a fresh schema.
func pgSchemaURL(t testing.TB) string {
	db := dbtest.Postgres(t) // creates and migrates a schema, dropped at cleanup
	var schema string
	if err := db.GetContext(context.Background(), &schema, "SELECT current_schema()"); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(os.Getenv(dbtest.EnvPostgres))
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Client is a browser-like client with its own cookies.
type Client struct {
	T    testing.TB
	App  *App
	HTTP *http.Client
}

// Client returns a new client with an empty cookie jar that does not follow redirects.
func (a *App) Client(t testing.TB) *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{T: t, App: a, HTTP: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}}
}

// Response is a read response.
type Response struct {
	*http.Response
	Body []byte
}

// JSON decodes the body into a map.
func (r *Response) JSON() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(r.Body, &m)
	return m
}

// Do sends req and reads the whole answer.
func (c *Client) Do(req *http.Request) *Response {
	c.T.Helper()
	res, err := c.HTTP.Do(req)
	if err != nil {
		c.T.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return &Response{Response: res, Body: body}
}

// Get fetches path.
func (c *Client) Get(path string) *Response {
	c.T.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.App.URL+path, nil)
	return c.Do(req)
}

var csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)

// CSRF fetches a page and returns the token its meta tag offers.
func (c *Client) CSRF() string {
	c.T.Helper()
	res := c.Get("/pricing")
	m := csrfMeta.FindSubmatch(res.Body)
	if m == nil {
		c.T.Fatalf("no csrf-token meta tag on /pricing (status %d)", res.StatusCode)
	}
	return string(m[1])
}

// PostForm submits a form with a fresh CSRF token.
func (c *Client) PostForm(path string, vals url.Values) *Response {
	c.T.Helper()
	if vals.Get("csrf_token") == "" {
		vals.Set("csrf_token", c.CSRF())
	}
	req, _ := http.NewRequest(http.MethodPost, c.App.URL+path,
		strings.NewReader(vals.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.Do(req)
}

// PostJSON sends body as JSON with the CSRF header.
func (c *Client) PostJSON(path string, body any) *Response {
	c.T.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		c.T.Fatal(err)
	}
	return c.Send(http.MethodPost, path, "application/json", b, c.CSRF())
}

// Send sends a raw body with the given content type and CSRF token (may be empty).
func (c *Client) Send(method, path, contentType string, body []byte, token string) *Response {
	c.T.Helper()
	req, _ := http.NewRequest(method, c.App.URL+path, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("X-CSRFToken", token)
	}
	return c.Do(req)
}

// Register creates an account through the form and leaves the client signed in.
func (c *Client) Register(email, password string) {
	c.T.Helper()
	res := c.PostForm("/register", url.Values{"email": {email}, "password": {password}})
	if res.StatusCode != http.StatusSeeOther {
		c.T.Fatalf("register %s: status %d: %s", email, res.StatusCode, res.Body)
	}
}

// UserID returns the id of the signed-in user.
func (c *Client) UserID() int64 {
	c.T.Helper()
	res := c.Get("/api/user/profile")
	if res.StatusCode != http.StatusOK {
		c.T.Fatalf("profile: status %d", res.StatusCode)
	}
	return int64(res.JSON()["id"].(float64))
}

// SetCredits gives a user an exact balance through the ledger.
func (a *App) SetCredits(t testing.TB, userID int64, credits int64) {
	t.Helper()
	if err := a.Credits.Set(context.Background(), userID, credit.Milli(credits*1000), 0,
		"test setup"); err != nil {
		t.Fatalf("set credits: %v", err)
	}
}

// JSONCredits returns the signed-in user's balance as the API reports it.
func (c *Client) JSONCredits() float64 {
	c.T.Helper()
	res := c.Get("/api/user/profile")
	v, ok := res.JSON()["credits"].(float64)
	if !ok {
		c.T.Fatalf("profile has no credits: %s", res.Body)
	}
	return v
}
