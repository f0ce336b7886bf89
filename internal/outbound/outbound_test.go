package outbound_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/media"
	"github.com/sketchmaker/sketchmaker/internal/outbound"
	"github.com/sketchmaker/sketchmaker/internal/outbound/outboundtest"
)

func TestPublic(t *testing.T) {
	cases := []struct {
		ip     string
		public bool
	}{
		{"8.8.8.8", true},
		{"151.101.1.69", true},
		{"2606:4700:4700::1111", true},
		{"127.0.0.1", false},
		{"127.8.9.10", false},
		{"10.1.2.3", false},
		{"172.16.0.1", false},
		{"192.168.1.1", false},
		{"169.254.169.254", false},
		{"100.64.0.1", false},
		{"0.0.0.0", false},
		{"0.1.2.3", false},
		{"224.0.0.1", false},
		{"255.255.255.255", false},
		{"198.18.0.1", false},
		{"::1", false},
		{"::", false},
		{"fe80::1", false},
		{"fc00::1", false},
		{"fd00:ec2::254", false},
		{"ff02::1", false},
		{"::ffff:127.0.0.1", false},
		{"::ffff:169.254.169.254", false},
		{"64:ff9b::a9fe:a9fe", false}, // NAT64 of 169.254.169.254
		{"64:ff9b::808:808", true},    // NAT64 of 8.8.8.8
		{"2002:7f00:1::", false},      // 6to4 of 127.0.0.1
		{"::10.0.0.1", false},         // IPv4-compatible
		{"2001:db8::1", false},
	}
	for _, c := range cases {
		if got := outbound.Public(netip.MustParseAddr(c.ip)); got != c.public {
			t.Errorf("Public(%s) = %v, want %v", c.ip, got, c.public)
		}
	}
}

func FuzzPublic(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::7f00:1", "8.8.8.8"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return
		}
		if outbound.Public(ip) && (ip.Unmap().IsLoopback() || ip.Unmap().IsPrivate() ||
			ip.Unmap().IsLinkLocalUnicast()) {
			t.Fatalf("%s judged public", s)
		}
	})
}

// plainServer answers "ok" over HTTP on 127.0.0.1.
func plainServer(t *testing.T) (*httptest.Server, string) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return srv, u.Host
}

func TestClientRefusesPrivateAddresses(t *testing.T) {
	srv, hostport := plainServer(t)
	port := hostport[len("127.0.0.1:"):]
	res := outboundtest.NewResolver("rebind.example=127.0.0.1",
		"mixed.example=8.8.8.8,127.0.0.1", "meta.example=169.254.169.254",
		"trusted.example=127.0.0.1")

	cases := []struct {
		name    string
		url     string
		trusted []string
		ok      bool
	}{
		{"loopback literal", srv.URL, nil, false},
		{"name resolving to loopback", "http://rebind.example:" + port, nil, false},
		{"name with one private answer", "http://mixed.example:" + port, nil, false},
		{"metadata address", "http://meta.example:" + port, nil, false},
		{"metadata literal", "http://169.254.169.254:" + port, nil, false},
		{"trusted backend", srv.URL, []string{hostport}, true},
		{"trusted backend by name", "http://trusted.example:" + port,
			[]string{"trusted.example:" + port}, true},
		{"trusted host, other port", "http://127.0.0.1:1", []string{hostport}, false},
		// An administrator's backend at the metadata address is refused all the same.
		{"trusted metadata address", "http://meta.example:" + port,
			[]string{"meta.example:" + port}, false},
		{"trusted metadata literal", "http://169.254.169.254:" + port,
			[]string{"169.254.169.254:" + port}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			client := outbound.Client(outbound.Policy{Trusted: c.trusted, Resolver: res,
				Timeout: 5 * time.Second})
			resp, err := client.Get(c.url)
			if c.ok {
				if err != nil {
					t.Fatalf("trusted backend refused: %v", err)
				}
				resp.Body.Close()
				return
			}
			if err == nil {
				resp.Body.Close()
				t.Fatal("private address reached")
			}
			if c.name != "trusted host, other port" && !errors.Is(err, outbound.ErrRefused) {
				t.Fatalf("error %v, want ErrRefused", err)
			}
		})
	}
}

func TestClientFollowsNoRedirects(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)

	client := outbound.Client(outbound.Policy{Trusted: []string{u.Host}})
	res, err := client.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound || hits.Load() != 1 {
		t.Fatalf("status %d after %d requests; want the 302 itself", res.StatusCode, hits.Load())
	}
}

func TestMatchHost(t *testing.T) {
	hosts := []string{"fal.media", "*.fal.media", "storage.googleapis.com"}
	cases := map[string]bool{
		"fal.media": true, "v3.fal.media": true, "a.b.fal.media": true, "FAL.MEDIA.": true,
		"storage.googleapis.com": true, "evilfal.media": false, "fal.media.evil.com": false,
		"googleapis.com": false, "x.storage.googleapis.com": false, "": false,
	}
	for host, want := range cases {
		if got := outbound.MatchHost(hosts, host); got != want {
			t.Errorf("MatchHost(%q) = %v, want %v", host, got, want)
		}
	}
}

func tinyPNG(t testing.TB) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 4, 3))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func attackPath(name string) string {
	return filepath.Join("..", "..", "..", "shared", "testdata", "attacks", name)
}

func attack(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(attackPath(name))
	if err != nil {
		t.Skipf("shared test data not available: %v", err)
	}
	return data
}

// fetchWorld is a CDN under *.fal.media served by one HTTPS test server, with the real
// address checks in force: the test resolver sends names to 127.0.0.1, which only the
// server's own port is trusted for.
type fetchWorld struct {
	srv     *outboundtest.Server
	written atomic.Int64
	fetcher *outbound.Fetcher
}

func newFetchWorld(t *testing.T) *fetchWorld {
	w := &fetchWorld{}
	img := tinyPNG(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/ok.png", func(rw http.ResponseWriter, r *http.Request) {
		_, _ = rw.Write(img)
	})
	mux.HandleFunc("/page.html", func(rw http.ResponseWriter, r *http.Request) {
		_, _ = rw.Write([]byte("<!doctype html><html><body>not an image</body></html>"))
	})
	mux.HandleFunc("/missing.png", http.NotFound)
	// Read here, not in the handler: a handler goroutine cannot skip the test.
	bomb, _ := os.ReadFile(attackPath("bomb_50000x50000.png"))
	mux.HandleFunc("/bomb.png", func(rw http.ResponseWriter, r *http.Request) {
		_, _ = rw.Write(bomb)
	})
	mux.HandleFunc("/huge.png", func(rw http.ResponseWriter, r *http.Request) {
		w.stream(rw, r, false)
	})
	mux.HandleFunc("/huge-declared.png", func(rw http.ResponseWriter, r *http.Request) {
		w.stream(rw, r, true)
	})
	mux.HandleFunc("/hang.png", func(rw http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	mux.HandleFunc("/to-loopback", func(rw http.ResponseWriter, r *http.Request) {
		http.Redirect(rw, r, "https://127.0.0.1:1/ok.png", http.StatusFound)
	})
	mux.HandleFunc("/to-internal", func(rw http.ResponseWriter, r *http.Request) {
		http.Redirect(rw, r, "https://internal.fal.media:"+w.srv.Port()+"/ok.png",
			http.StatusFound)
	})
	mux.HandleFunc("/to-cdn", func(rw http.ResponseWriter, r *http.Request) {
		http.Redirect(rw, r, "https://v2.fal.media:"+w.srv.Port()+"/ok.png", http.StatusFound)
	})
	w.srv = outboundtest.NewTLSServer(t, mux, "*.fal.media", "fal.media", "cdn.evil.example")

	res := outboundtest.NewResolver("v3.fal.media=127.0.0.1", "v2.fal.media=127.0.0.1",
		"internal.fal.media=10.0.0.7", "meta.fal.media=169.254.169.254",
		"cdn.evil.example=127.0.0.1")
	policy := outbound.Policy{Trusted: []string{w.srv.HostPort}, RootCAs: w.srv.Pool,
		Resolver: res, Timeout: 3 * time.Second, ConnectTimeout: time.Second}
	w.fetcher = outbound.NewFetcher(policy, []string{"fal.media", "*.fal.media"}, 1<<20)
	return w
}

// stream sends a PNG signature followed by 200 MB of zeros in chunks, counting what the
// client actually took.
func (w *fetchWorld) stream(rw http.ResponseWriter, r *http.Request, declare bool) {
	const total = 200 << 20
	if declare {
		rw.Header().Set("Content-Length", strconv.Itoa(total))
	}
	chunk := make([]byte, 64<<10)
	copy(chunk, "\x89PNG\r\n\x1a\n")
	for sent := 0; sent < total; sent += len(chunk) {
		n, err := rw.Write(chunk)
		w.written.Add(int64(n))
		if err != nil {
			return
		}
		chunk = make([]byte, 64<<10)
	}
}

func (w *fetchWorld) url(host, path string) string {
	return "https://" + host + ":" + w.srv.Port() + path
}

func TestFetcher(t *testing.T) {
	w := newFetchWorld(t)
	cases := []struct {
		name string
		url  string
		want error // nil: success
	}{
		{"image on an allowed host", w.url("v3.fal.media", "/ok.png"), nil},
		{"redirect to another allowed host", w.url("v3.fal.media", "/to-cdn"), nil},
		{"foreign host", w.url("cdn.evil.example", "/ok.png"), outbound.ErrHost},
		{"plain HTTP", "http://v3.fal.media:" + w.srv.Port() + "/ok.png", outbound.ErrScheme},
		{"loopback literal", "https://127.0.0.1:1/ok.png", outbound.ErrHost},
		{"metadata literal", "https://169.254.169.254/latest/meta-data/", outbound.ErrHost},
		{"allowed name at the metadata address", w.url("meta.fal.media", "/ok.png"),
			outbound.ErrRefused},
		{"allowed name at a private address", w.url("internal.fal.media", "/ok.png"),
			outbound.ErrRefused},
		{"redirect to loopback", w.url("v3.fal.media", "/to-loopback"), outbound.ErrHost},
		{"redirect to a private address", w.url("v3.fal.media", "/to-internal"),
			outbound.ErrRefused},
		{"credentials in the URL", "https://user:pw@v3.fal.media/ok.png", outbound.ErrHost},
		{"not found", w.url("v3.fal.media", "/missing.png"), outbound.ErrStatus},
		{"not an image", w.url("v3.fal.media", "/page.html"), media.ErrUnsupported},
		{"pixel bomb", w.url("v3.fal.media", "/bomb.png"), media.ErrTooLarge},
		{"200 MB streamed", w.url("v3.fal.media", "/huge.png"), outbound.ErrTooLarge},
		{"200 MB declared", w.url("v3.fal.media", "/huge-declared.png"), outbound.ErrTooLarge},
		{"hang past the timeout", w.url("v3.fal.media", "/hang.png"), context.DeadlineExceeded},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "pixel bomb" {
				attack(t, "bomb_50000x50000.png") // skips when the shared data is absent
			}
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			if c.name != "hang past the timeout" {
				cancel()
				ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
			}
			defer cancel()
			res, err := w.fetcher.Image(ctx, c.url)
			if c.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if b := res.Image.Bounds(); b.Dx() != 4 || b.Dy() != 3 || res.Format != media.PNG {
					t.Fatalf("got %v %s", b, res.Format)
				}
				return
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("error %v, want %v", err, c.want)
			}
		})
	}
	if got := w.written.Load(); got > 20<<20 {
		t.Fatalf("the server wrote %d MB before the client stopped reading", got>>20)
	}
}

func TestDecodeChecksInlineImages(t *testing.T) {
	if _, err := outbound.Decode(tinyPNG(t), media.Limits{}); err != nil {
		t.Fatalf("valid image refused: %v", err)
	}
	if _, err := outbound.Decode([]byte("GIF89a...."), media.Limits{}); !errors.Is(err,
		media.ErrUnsupported) {
		t.Fatalf("GIF: %v", err)
	}
	if _, err := outbound.Decode(attack(t, "bomb_30000x30000.jpg"), media.Limits{}); !errors.Is(
		err, media.ErrDimensions) && !errors.Is(err, media.ErrTooLarge) {
		t.Fatalf("bomb: %v", err)
	}
}

func FuzzFetcherAllowed(f *testing.F) {
	for _, s := range []string{"https://v3.fal.media/x.png", "http://fal.media/x",
		"https://user:pw@fal.media/", "https://fal.media.evil.com/", "https://[::1]:443/",
		"https://127.0.0.1:9000/x", "//fal.media/x", "https://FAL.media./x"} {
		f.Add(s)
	}
	fetcher := outbound.NewFetcher(outbound.Policy{Trusted: []string{"127.0.0.1:9000"}},
		[]string{"fal.media", "*.fal.media"}, 0)
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.Parse(raw)
		if err != nil {
			return
		}
		if fetcher.Allowed(u) != nil {
			return
		}
		trusted := outbound.HostPort(u) == "127.0.0.1:9000"
		if !trusted && (u.Scheme != "https" ||
			!outbound.MatchHost([]string{"fal.media", "*.fal.media"}, u.Hostname())) {
			t.Fatalf("allowed %q", raw)
		}
		if u.User != nil {
			t.Fatalf("allowed credentials in %q", raw)
		}
	})
}
