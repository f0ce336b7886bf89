package provider

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/media"
	"github.com/sketchmaker/sketchmaker/internal/outbound"
)

// DefaultFALBase is FAL's queue API.
const DefaultFALBase = "https://queue.fal.run"

// DefaultFALResultHosts are the hosts FAL serves result files from.
var DefaultFALResultHosts = []string{"fal.media", "*.fal.media", "storage.googleapis.com"}

// falProvider runs models on FAL's queue: submit, follow the status, read the response,
// using the URLs FAL returns. The request id is kept so a restart follows the same request.
type falProvider struct {
	call     *caller
	base     *url.URL
	fetcher  *outbound.Fetcher
	webhook  string        // fal_webhook URL; empty when webhooks are off
	poll     time.Duration // between status requests
	slowPoll time.Duration // between status requests while a webhook is expected
	now      func() time.Time
}

// falHandle is what SketchMaker stores about a FAL request.
type falHandle struct {
	RequestID   string `json:"request_id"`
	StatusURL   string `json:"status_url"`
	ResponseURL string `json:"response_url"`
	CancelURL   string `json:"cancel_url"`
}

// Generate submits the call (or follows call.Handle), waits for FAL and downloads the
// images.
func (p *falProvider) Generate(ctx context.Context, call *Call) ([]Picture, error) {
	h, err := p.handle(ctx, call)
	if err != nil {
		return nil, userError("FAL", err)
	}
	if err := p.wait(ctx, call, h); err != nil {
		return nil, userError("FAL", err)
	}
	call.progress(92, "Downloading the images from FAL")
	pics, err := p.result(ctx, h)
	return pics, userError("FAL", err)
}

// handle returns the stored handle of a resumed call, or submits a new request.
func (p *falProvider) handle(ctx context.Context, call *Call) (*falHandle, error) {
	if call.Handle != "" {
		var h falHandle
		if err := json.Unmarshal([]byte(call.Handle), &h); err != nil {
			return nil, fmt.Errorf("%w: stored FAL handle: %v", ErrMalformed, err)
		}
		return &h, p.checkHandle(&h)
	}

	u := strings.TrimRight(p.base.String(), "/") + "/" + call.Model.endpoint()
	if p.webhook != "" {
		u += "?fal_webhook=" + url.QueryEscape(p.webhook)
	}
	var h falHandle
	err := p.call.do(ctx, request{method: http.MethodPost, url: u,
		body: call.Model.Args(call.Request), out: &h, retry: true, finish: true})
	if err != nil {
		return nil, err
	}
	if err := p.checkHandle(&h); err != nil {
		return nil, err
	}
	b, _ := json.Marshal(h)
	return &h, call.submitted(string(b), h.RequestID)
}

// checkHandle makes sure the URLs FAL returned point back at FAL's own API: SketchMaker
// sends its key to them, so they must never lead anywhere else.
func (p *falProvider) checkHandle(h *falHandle) error {
	if h.RequestID == "" || len(h.RequestID) > 200 {
		return fmt.Errorf("%w: FAL returned no request id", ErrMalformed)
	}
	for _, raw := range []string{h.StatusURL, h.ResponseURL, h.CancelURL} {
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != p.base.Scheme || !strings.EqualFold(u.Host, p.base.Host) ||
			u.User != nil {
			return fmt.Errorf("%w: FAL returned a request URL outside its API", ErrMalformed)
		}
	}
	return nil
}

// falStatus is FAL's answer about a request.
type falStatus struct {
	Status        string `json:"status"`
	QueuePosition int    `json:"queue_position"`
	Error         string `json:"error"`
	Logs          []struct {
		Message string `json:"message"`
	} `json:"logs"`
}

// wait polls the status until FAL reports the request completed.
func (p *falProvider) wait(ctx context.Context, call *Call, h *falHandle) error {
	start := p.now()
	statusURL := withQuery(h.StatusURL, "logs", "1")
	woken := false
	for {
		var st falStatus
		err := p.call.do(ctx, request{method: http.MethodGet, url: statusURL, out: &st,
			retry: true})
		if err != nil {
			return err
		}

		switch st.Status {
		case "IN_QUEUE":
			call.progress(5, fmt.Sprintf("Waiting in FAL's queue (%d ahead)", st.QueuePosition))
		case "IN_PROGRESS":
			call.progress(p.estimate(call.Model, start, st), "Generating at FAL")
		case "COMPLETED":
			if st.Error != "" {
				return fault.Wrap(fault.Unavailable, "FAL could not generate this image.",
					errors.New("FAL reported the request failed"))
			}
			return nil
		default:
			return fmt.Errorf("%w: FAL status %q", ErrMalformed, safeWord(st.Status))
		}
		if err := p.pause(ctx, call, &woken); err != nil {
			return err
		}
	}
}

// pause waits until the next status request: the poll interval, or at once the first time
// a webhook said the request is done. A webhook wakes the wait only once; should FAL still
// report the request running, polling goes on at the normal interval rather than in a loop.
func (p *falProvider) pause(ctx context.Context, call *Call, woken *bool) error {
	interval := p.poll
	if p.webhook != "" && !*woken {
		interval = p.slowPoll
	}
	deadline := p.now().Add(interval)
	step := min(interval, 250*time.Millisecond)
	for p.now().Before(deadline) {
		if !*woken && call.notified() {
			*woken = true
			return nil
		}
		if err := sleepCtx(ctx, step); err != nil {
			return err
		}
	}
	return nil
}

var percent = regexp.MustCompile(`(\d{1,3})\s*%`)

// estimate turns elapsed time (or a percentage in FAL's logs) into progress from 10 to 90.
func (p *falProvider) estimate(m Model, start time.Time, st falStatus) int {
	for i := len(st.Logs) - 1; i >= 0; i-- {
		if mm := percent.FindStringSubmatch(st.Logs[i].Message); mm != nil {
			n, _ := strconv.Atoi(mm[1])
			return 10 + min(n, 100)*80/100
		}
	}
	expected := float64(max(m.ExpectedSeconds, 5))
	elapsed := p.now().Sub(start).Seconds()
	return 10 + int(80*(1-math.Exp(-elapsed/expected)))
}

// falOutput is the response of an image model.
type falOutput struct {
	Images []struct {
		URL string `json:"url"`
	} `json:"images"`
	Image *struct {
		URL string `json:"url"`
	} `json:"image"`
	Seed json.Number `json:"seed"`
	NSFW []bool      `json:"has_nsfw_concepts"`
}

// result reads the response and downloads every image the safety checker let through.
func (p *falProvider) result(ctx context.Context, h *falHandle) ([]Picture, error) {
	var out falOutput
	err := p.call.do(ctx, request{method: http.MethodGet, url: h.ResponseURL, out: &out,
		retry: true, maxBody: maxImageBody})
	if err != nil {
		return nil, err
	}
	if out.Image != nil {
		out.Images = append(out.Images, *out.Image)
	}
	if len(out.Images) == 0 {
		return nil, fmt.Errorf("%w: FAL returned no images", ErrMalformed)
	}

	seed, _ := out.Seed.Int64()
	var pics []Picture
	for i, im := range out.Images {
		if i < len(out.NSFW) && out.NSFW[i] {
			continue // FAL sends a black picture in its place
		}
		res, err := p.download(ctx, im.URL)
		if err != nil {
			return pics, err
		}
		pics = append(pics, Picture{Image: res.Image, Format: res.Format, Seed: seed + int64(i)})
	}
	if len(pics) == 0 {
		return nil, fault.New(fault.Invalid, "The provider's safety checker withheld the "+
			"image. Try another prompt.")
	}
	return pics, nil
}

// download fetches one result, or decodes it when FAL sent it inline as a data URI.
func (p *falProvider) download(ctx context.Context, raw string) (*outbound.Result, error) {
	if rest, ok := strings.CutPrefix(raw, "data:"); ok {
		_, payload, ok := strings.Cut(rest, ";base64,")
		data, err := base64.StdEncoding.DecodeString(payload)
		if !ok || err != nil {
			return nil, fmt.Errorf("%w: FAL data URI", ErrMalformed)
		}
		return outbound.Decode(data, media.Limits{})
	}
	return p.fetcher.Image(ctx, raw)
}

// Cancel asks FAL to cancel the request; one already finished is not an error.
func (p *falProvider) Cancel(ctx context.Context, handle string) error {
	if handle == "" {
		return nil // never submitted
	}
	var h falHandle
	if err := json.Unmarshal([]byte(handle), &h); err != nil {
		return fmt.Errorf("%w: stored FAL handle: %v", ErrMalformed, err)
	}
	if err := p.checkHandle(&h); err != nil {
		return err
	}
	err := p.call.do(ctx, request{method: http.MethodPut, url: h.CancelURL})
	var se *StatusError
	if errors.As(err, &se) && se.Status == http.StatusBadRequest {
		return nil // ALREADY_COMPLETED
	}
	return err
}

// withQuery returns raw with the query parameter k set to v.
func withQuery(raw, k, v string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	q.Set(k, v)
	u.RawQuery = q.Encode()
	return u.String()
}
