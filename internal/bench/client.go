package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// csrfMeta finds the token every page offers in its head.
var csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)

// Visitor is one browser's state, fixed once obtained: its cookies as a Cookie header and
// its CSRF token, so that many load workers can reuse it without a shared cookie jar.
type Visitor struct {
	Base   string
	Cookie string
	CSRF   string
}

// NewVisitor opens /login as an anonymous visitor and keeps the anonymous cookie and the
// token bound to it.
func NewVisitor(ctx context.Context, base string) (*Visitor, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: time.Minute}
	v := &Visitor{Base: base}
	if err := v.refresh(ctx, c, "/login"); err != nil {
		return nil, err
	}
	return v, nil
}

// SignIn signs email in with password and returns the signed-in visitor.
func SignIn(ctx context.Context, base, email, password string) (*Visitor, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: time.Minute}
	v := &Visitor{Base: base}
	if err := v.refresh(ctx, c, "/login"); err != nil {
		return nil, err
	}

	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	req, err := v.Request(ctx, http.MethodPost, "/login", "application/json",
		bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Del("Cookie") // the jar sends them
	res, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("sign in %s: %w", email, err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("sign in %s: status %d", email, res.StatusCode)
	}

	// The session has its own token; fetch it with the new cookie.
	if err := v.refresh(ctx, c, "/pricing"); err != nil {
		return nil, err
	}
	return v, nil
}

// refresh loads path with c and keeps c's cookies and the page's CSRF token.
func (v *Visitor) refresh(ctx context.Context, c *http.Client, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.Base+path, nil)
	if err != nil {
		return err
	}
	res, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("load %s: %w", path, err)
	}
	page, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	res.Body.Close()
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	m := csrfMeta.FindSubmatch(page)
	if m == nil {
		return fmt.Errorf("%s (status %d) offers no CSRF token", path, res.StatusCode)
	}
	v.CSRF = string(m[1])

	u, _ := url.Parse(v.Base)
	var parts []string
	for _, ck := range c.Jar.Cookies(u) {
		parts = append(parts, ck.Name+"="+ck.Value)
	}
	v.Cookie = strings.Join(parts, "; ")
	return nil
}

// Request builds a request carrying the visitor's cookies and CSRF token.
func (v *Visitor) Request(ctx context.Context, method, path, contentType string,
	body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, v.Base+path, body)
	if err != nil {
		return nil, err
	}
	if v.Cookie != "" {
		req.Header.Set("Cookie", v.Cookie)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if method != http.MethodGet {
		req.Header.Set("X-CSRFToken", v.CSRF)
	}
	return req, nil
}

// JSON sends one request and decodes its JSON answer into out, expecting status want.
func (v *Visitor) JSON(ctx context.Context, c *http.Client, method, path string, in,
	out any, want int) error {
	body, ctype, raw := readerOf(in)
	if in != nil && !raw {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body, ctype = bytes.NewReader(b), "application/json"
	}
	req, err := v.Request(ctx, method, path, ctype, body)
	if err != nil {
		return err
	}
	res, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if res.StatusCode != want {
		return fmt.Errorf("%s %s: status %d: %.200s", method, path, res.StatusCode, data)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}
