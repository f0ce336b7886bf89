package outbound

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/sketchmaker/sketchmaker/internal/media"
)

// DefaultMaxBytes is the largest result file a Fetcher reads: 50 MB.
const DefaultMaxBytes = 50 << 20

// maxRedirects bounds the redirects one download may follow.
const maxRedirects = 3

// Errors of a refused download; each wraps into the error Image returns.
var (
	ErrHost     = errors.New("result host not allowed")
	ErrScheme   = errors.New("result not served over HTTPS")
	ErrTooLarge = errors.New("result too large")
	ErrStatus   = errors.New("result not served")
)

// Fetcher downloads result images from the hosts a provider documents, over HTTPS, with
// redirects only to those hosts, a byte cap, and the bytes checked as PNG, JPEG or WebP
// and decoded within pixel limits.
type Fetcher struct {
	client   *http.Client
	policy   Policy
	hosts    []string
	maxBytes int64
	limits   media.Limits
}

// NewFetcher returns a Fetcher under p for hosts, patterns such as "fal.media" (that host)
// or "*.fal.media" (any subdomain). Hosts of p's trusted backends may also serve results,
// over plain HTTP too. maxBytes of zero means DefaultMaxBytes.
func NewFetcher(p Policy, hosts []string, maxBytes int64) *Fetcher {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	f := &Fetcher{policy: p, hosts: hosts, maxBytes: maxBytes,
		limits: media.Limits{MaxBytes: maxBytes}}
	f.client = &http.Client{Transport: Transport(p), Timeout: p.timeout()}
	f.client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return fmt.Errorf("%w: more than %d redirects", ErrHost, maxRedirects)
		}
		return f.Allowed(req.URL)
	}
	return f
}

// Allowed checks that u may be downloaded: an allowed host over HTTPS, or a trusted
// backend's own host and port.
func (f *Fetcher) Allowed(u *url.URL) error {
	if u == nil || u.Host == "" || u.User != nil {
		return fmt.Errorf("%w: not an absolute URL without credentials", ErrHost)
	}
	if f.policy.IsTrusted(HostPort(u)) && (u.Scheme == "http" || u.Scheme == "https") {
		return nil
	}
	if u.Scheme != "https" {
		return fmt.Errorf("%w: scheme %q", ErrScheme, u.Scheme)
	}
	if !MatchHost(f.hosts, u.Hostname()) {
		return fmt.Errorf("%w: %s", ErrHost, u.Hostname())
	}
	return nil
}

// MatchHost reports whether host matches one of patterns: an exact name, or "*.domain"
// for any name below domain (not domain itself).
func MatchHost(patterns []string, host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, p := range patterns {
		p = strings.ToLower(strings.TrimSpace(p))
		if p == "" {
			continue
		}
		if rest, ok := strings.CutPrefix(p, "*."); ok {
			if strings.HasSuffix(host, "."+rest) {
				return true
			}
			continue
		}
		if host == p {
			return true
		}
	}
	return false
}

// Result is a downloaded and checked image.
type Result struct {
	Image  image.Image
	Format media.Format
	Bytes  int
}

// Image downloads rawURL and returns the decoded picture. It refuses a URL or redirect
// outside the allowed hosts, an address the policy refuses, a body over the byte cap
// (without reading it to the end), and bytes that are not an image within the limits.
func (f *Fetcher) Image(ctx context.Context, rawURL string) (*Result, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%w: unparsable URL", ErrHost)
	}
	if err := f.Allowed(u); err != nil {
		return nil, err
	}

	data, err := f.get(ctx, u)
	if err != nil {
		return nil, err
	}
	return Decode(data, f.limits)
}

// get reads the body of u, at most maxBytes of it.
func (f *Fetcher) get(ctx context.Context, u *url.URL) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("result request: %w", err)
	}
	req.Header.Set("Accept", "image/png, image/jpeg, image/webp")
	res, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("download result: %w", err)
	}
	defer res.Body.Close()

	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: status %d", ErrStatus, res.StatusCode)
	}
	if res.ContentLength > f.maxBytes {
		return nil, fmt.Errorf("%w: %d bytes announced", ErrTooLarge, res.ContentLength)
	}

	// The first bytes say whether this is an image at all; anything else is dropped
	// before the rest is read. A request whose deadline passed is reported as such even
	// when its body ended cleanly: under load, HTTP/2 can hand back the empty answer of a
	// stream the deadline reset, which would otherwise read as a damaged image.
	head := make([]byte, media.SniffLen)
	n, err := io.ReadFull(res.Body, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read result: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("download result: %w", err)
	}
	if _, err := media.Sniff(head[:n]); err != nil {
		return nil, fmt.Errorf("check result image: %w", err)
	}
	rest, err := io.ReadAll(io.LimitReader(res.Body, f.maxBytes+1-int64(n)))
	if err != nil {
		return nil, fmt.Errorf("read result: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("download result: %w", err)
	}
	data := append(head[:n], rest...)
	if int64(len(data)) > f.maxBytes {
		return nil, fmt.Errorf("%w: over %d bytes", ErrTooLarge, f.maxBytes)
	}
	return data, nil
}

// Decode checks data as a PNG, JPEG or WebP image within lim and decodes it. Providers
// that answer with inline (base64) images go through the same check.
func Decode(data []byte, lim media.Limits) (*Result, error) {
	img, format, err := media.DecodeLimited(data, lim)
	if err != nil {
		return nil, fmt.Errorf("check result image: %w", err)
	}
	return &Result{Image: img, Format: format, Bytes: len(data)}, nil
}
