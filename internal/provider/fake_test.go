package provider_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/outbound/outboundtest"
	"github.com/sketchmaker/sketchmaker/internal/provider"
)

// recorded is one request a fake provider received.
type recorded struct {
	Method string
	Path   string
	Query  string
	Header http.Header
	Body   []byte
}

// JSON decodes the recorded body.
func (r recorded) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("%s %s body is not JSON: %v: %s", r.Method, r.Path, err, r.Body)
	}
	return m
}

// fake is an HTTPS provider the test scripts: routes by "METHOD /path", every request
// recorded.
type fake struct {
	*outboundtest.Server
	mu     sync.Mutex
	log    []recorded
	routes map[string]http.HandlerFunc
}

func newFake(t *testing.T) *fake {
	f := &fake{routes: map[string]http.HandlerFunc{}}
	f.Server = outboundtest.NewTLSServer(t, http.HandlerFunc(f.serve), "*.fal.media",
		"fal.media", "cdn.evil.example")
	return f
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.log = append(f.log, recorded{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		Header: r.Header.Clone(), Body: body})
	h := f.routes[r.Method+" "+r.URL.Path]
	f.mu.Unlock()
	if h == nil {
		http.Error(w, `{"detail":"not found"}`, http.StatusNotFound)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	h(w, r)
}

// on sets the handler of "METHOD /path".
func (f *fake) on(route string, h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routes[route] = h
}

// route returns the handler of "METHOD /path".
func (f *fake) route(route string) http.HandlerFunc {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.routes[route]
}

// requests returns the recorded requests to route ("METHOD /path").
func (f *fake) requests(route string) []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []recorded
	for _, r := range f.log {
		if r.Method+" "+r.Path == route {
			out = append(out, r)
		}
	}
	return out
}

// cdn returns an https URL on host that reaches this server.
func (f *fake) cdn(host, path string) string {
	return "https://" + host + ":" + f.Port() + path
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// pngOf returns a w×h PNG of one colour.
func pngOf(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 200
	}
	img.Set(0, 0, color.NRGBA{255, 0, 0, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func attack(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "testdata", "attacks",
		name))
	if err != nil {
		t.Skipf("shared test data not available: %v", err)
	}
	return data
}

// sleeps records the waits a provider asked for instead of waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// settings returns provider settings reaching f as every provider's backend, with the
// test's resolver sending FAL's CDN names to the test server.
func (f *fake) settings(sl *sleeps) provider.Settings {
	base := f.URL
	return provider.Settings{
		Backends: map[string]provider.Backend{
			provider.FAL:     {Key: "fal-test-key", BaseURL: base},
			provider.OpenAI:  {Key: "sk-test", BaseURL: base + "/v1"},
			provider.Gemini:  {Key: "gm-test", BaseURL: base + "/v1beta"},
			provider.A1111:   {BaseURL: base},
			provider.ComfyUI: {BaseURL: base},
		},
		Resolver: outboundtest.NewResolver("v3.fal.media=127.0.0.1",
			"internal.fal.media=10.0.0.7", "meta.fal.media=169.254.169.254",
			"cdn.evil.example=127.0.0.1"),
		RootCAs:      f.Pool,
		Timeout:      800 * time.Millisecond,
		PollInterval: 5 * time.Millisecond,
		MaxBytes:     8 << 20,
		Sleep:        sl.sleep,
	}
}

// modelOf returns a catalog model.
func modelOf(t testing.TB, id string) provider.Model {
	t.Helper()
	for _, m := range provider.Catalog() {
		if m.ID == id {
			return m
		}
	}
	t.Fatalf("no model %s in the catalog", id)
	return provider.Model{}
}

// basicRequest is a typical checked request.
func basicRequest() provider.Request {
	return provider.Request{Prompt: "a red fox in the snow", Style: "modern",
		SizeName: "square_hd", Width: 1024, Height: 1024, Steps: 28, Guidance: 3.5,
		Seed: 42, NumImages: 1, Format: "png"}
}

// wantFault checks that err has a safe face of kind, that its message leaks neither a
// key nor the prompt, and that its log text leaks no key.
func wantFault(t *testing.T, err error, kind fault.Kind, phrase string) {
	t.Helper()
	fe := fault.As(err)
	if fe == nil {
		t.Fatalf("error %v has no safe face", err)
	}
	if fe.Kind != kind {
		t.Fatalf("kind %v (%s), want %v", fe.Kind, fe.Message, kind)
	}
	if phrase != "" && !strings.Contains(fe.Message, phrase) {
		t.Fatalf("message %q does not mention %q", fe.Message, phrase)
	}
	for _, secret := range []string{"fal-test-key", "sk-test", "gm-test", "red fox"} {
		if strings.Contains(fe.Message, secret) || strings.Contains(err.Error(), secret) {
			t.Fatalf("error exposes %q: %v", secret, err)
		}
	}
}
