package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/media"
	"github.com/sketchmaker/sketchmaker/internal/outbound"
)

// Retry bounds: how often a request is sent, how long one wait may be, and the longest
// Retry-After SketchMaker waits for at all; a provider asking for more is reported busy.
const (
	maxAttempts   = 4
	maxBackoff    = 30 * time.Second
	maxRetryAfter = 60 * time.Second
)

// Body limits: answers with inline images may be large, other answers are small.
const (
	maxSmallBody = 1 << 20
	maxImageBody = 96 << 20
)

// StatusError is an HTTP answer that was not a success.
type StatusError struct {
	Provider   string
	Status     int
	RetryAfter time.Duration
	Detail     string // field paths or an error code from the body, never its text
}

// Error describes the status for logs.
func (e *StatusError) Error() string {
	s := fmt.Sprintf("%s answered %d", e.Provider, e.Status)
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s
}

// ErrMalformed is the cause of an answer that could not be read.
var ErrMalformed = errors.New("malformed provider answer")

// caller sends requests to one provider with retries.
type caller struct {
	name   string // for people: "FAL", "OpenAI"
	client *http.Client
	sleep  func(ctx context.Context, d time.Duration) error
	header http.Header // authentication and version headers
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// request is one HTTP exchange: a method, URL and JSON body, and where the answer goes.
type request struct {
	method  string
	url     string
	body    any // marshalled as JSON when not nil
	out     any // the answer is decoded into it when not nil
	maxBody int64
	retry   bool // retry on 429 and 5xx
	// finish lets an exchange already sent run to its answer, up to finishTimeout, when
	// ctx ends: a queue's submission whose answer a shutdown cut off would leave a
	// request running at the provider that no one knows of, and the job would be
	// submitted, and paid for, again. Retries still stop with ctx.
	finish bool
}

// finishTimeout bounds an exchange that outlives its context (request.finish).
const finishTimeout = 60 * time.Second

// do sends r, retrying 429 and 5xx answers with backoff (honouring Retry-After within
// bounds) when r.retry is set, and decodes a 2xx answer into r.out.
func (c *caller) do(ctx context.Context, r request) error {
	var last error
	for attempt := 0; attempt < maxAttempts; attempt++ {
		if attempt > 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		octx := ctx
		if r.finish {
			var cancel context.CancelFunc
			octx, cancel = context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
			defer cancel()
		}
		err := c.once(octx, r)
		var se *StatusError
		if err == nil || !r.retry || !errors.As(err, &se) || !retryable(se.Status) {
			return err
		}
		last = err

		wait := backoff(attempt)
		if se.RetryAfter > 0 {
			wait = se.RetryAfter
		}
		if wait > maxRetryAfter || attempt == maxAttempts-1 {
			break
		}
		if err := c.sleep(ctx, wait); err != nil {
			return err
		}
	}
	return last
}

func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500
}

// backoff is 1, 2, 4, ... seconds, at most maxBackoff.
func backoff(attempt int) time.Duration {
	return min(time.Second<<attempt, maxBackoff)
}

// once sends r a single time.
func (c *caller) once(ctx context.Context, r request) error {
	var body io.Reader
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return fmt.Errorf("encode %s request: %w", c.name, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.url, body)
	if err != nil {
		return fmt.Errorf("%s request: %w", c.name, err)
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")

	res, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s call: %w", c.name, redactURL(err))
	}
	defer res.Body.Close()
	err = c.read(res, r)
	if err != nil && ctx.Err() != nil {
		// Under load, HTTP/2 can hand back the empty answer of a stream the deadline
		// reset; what failed is the wait, not the provider's answer.
		return fmt.Errorf("%s call: %w", c.name, ctx.Err())
	}
	return err
}

// read checks the status and decodes the answer.
func (c *caller) read(res *http.Response, r request) error {
	limit := r.maxBody
	if limit <= 0 {
		limit = maxSmallBody
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, limit+1))
	if err != nil {
		return fmt.Errorf("read %s answer: %w", c.name, err)
	}
	if int64(len(data)) > limit {
		return fmt.Errorf("%w: %s answer over %d bytes", ErrMalformed, c.name, limit)
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return &StatusError{Provider: c.name, Status: res.StatusCode,
			RetryAfter: retryAfter(res.Header.Get("Retry-After"), time.Now()),
			Detail:     detail(data)}
	}
	if r.out == nil {
		return nil
	}
	if err := json.Unmarshal(data, r.out); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrMalformed, c.name, err)
	}
	return nil
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(min(n, 86400)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// detail picks, from an error body, only what identifies the problem without echoing
// input: FastAPI-style field paths and error types, or an error code. Messages are left
// out because providers quote the offending input (a person's prompt) in them.
func detail(data []byte) string {
	var body struct {
		Detail json.RawMessage `json:"detail"`
		Error  json.RawMessage `json:"error"`
	}
	if json.Unmarshal(data, &body) != nil {
		return ""
	}
	var items []struct {
		Loc  []any  `json:"loc"`
		Type string `json:"type"`
	}
	if json.Unmarshal(body.Detail, &items) == nil {
		var parts []string
		for _, it := range items[:min(len(items), 5)] {
			parts = append(parts, fmt.Sprint(it.Loc)+" "+safeWord(it.Type))
		}
		return strings.Join(parts, "; ")
	}
	var e struct {
		Type   string `json:"type"`
		Code   any    `json:"code"`
		Status string `json:"status"`
	}
	if json.Unmarshal(body.Error, &e) == nil {
		return strings.TrimSpace(safeWord(e.Type) + " " + safeWord(fmt.Sprint(e.Code)) + " " +
			safeWord(e.Status))
	}
	return ""
}

// safeWord keeps an identifier-like word (letters, digits, _ . -) of at most 40 bytes.
func safeWord(s string) string {
	if len(s) > 40 || s == "<nil>" {
		return ""
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			r == '_' || r == '.' || r == '-'
		if !ok {
			return ""
		}
	}
	return s
}

// redactURL drops the query string from a *url.Error, where some APIs carry keys.
func redactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			u.RawQuery, u.User = "", nil
			return &url.Error{Op: ue.Op, URL: u.String(), Err: ue.Err}
		}
	}
	return err
}

// userError gives err its safe face for the person whose job it was. The message names
// the provider and what happened, never a key or the provider's answer.
func userError(name string, err error) error {
	if err == nil || fault.As(err) != nil {
		return err
	}
	var se *StatusError
	var me *media.Error
	switch {
	case errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return fault.Wrap(fault.Unavailable, name+" did not answer in time.", err)
	case errors.As(err, &se):
		return statusFault(name, se)
	case errors.Is(err, outbound.ErrRefused), errors.Is(err, outbound.ErrHost),
		errors.Is(err, outbound.ErrScheme):
		return fault.Wrap(fault.Unavailable, name+" sent a result from an address "+
			"SketchMaker does not download from, so nothing was saved.", err)
	case errors.Is(err, outbound.ErrTooLarge):
		return fault.Wrap(fault.Unavailable, name+" sent a result larger than SketchMaker "+
			"accepts, so nothing was saved.", err)
	case errors.As(err, &me):
		return fault.Wrap(fault.Unavailable, name+" sent a result that is not an image "+
			"SketchMaker accepts ("+me.Message+"), so nothing was saved.", err)
	case errors.Is(err, ErrMalformed):
		return fault.Wrap(fault.Unavailable, name+" sent an answer SketchMaker could not "+
			"read.", err)
	}
	return fault.Wrap(fault.Unavailable, name+" could not be reached.", err)
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// statusFault explains an HTTP status from a provider.
func statusFault(name string, se *StatusError) *fault.Error {
	switch {
	case se.Status == http.StatusUnauthorized || se.Status == http.StatusForbidden:
		return fault.Wrap(fault.Unavailable, name+" refused SketchMaker's credentials. "+
			"An administrator needs to check the provider key.", se)
	case se.Status == http.StatusTooManyRequests:
		return fault.Wrap(fault.Limited, name+" is busy and asked SketchMaker to slow "+
			"down. Try again in a few minutes.", se)
	case se.Status == http.StatusBadRequest || se.Status == http.StatusUnprocessableEntity:
		return fault.Wrap(fault.Invalid, name+" refused the settings of this request. "+
			"Try another size, model or prompt.", se)
	case se.Status == http.StatusNotFound:
		return fault.Wrap(fault.Unavailable, name+" does not know this model or request. "+
			"An administrator needs to check the model list.", se)
	case se.Status >= 500:
		return fault.Wrap(fault.Unavailable, name+" is having problems right now. Try "+
			"again later.", se)
	}
	return fault.Wrap(fault.Unavailable, name+" gave an unexpected answer.", se)
}
