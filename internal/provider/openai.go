package provider

import (
	"context"
	"encoding/base64"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/media"
	"github.com/sketchmaker/sketchmaker/internal/outbound"
)

// DefaultOpenAIBase is OpenAI's API; any server speaking the same API can stand in.
const DefaultOpenAIBase = "https://api.openai.com/v1"

// openaiProvider calls POST /images/generations of OpenAI or an OpenAI-compatible server
// (LocalAI and similar), asking for base64 images so no result URL is ever fetched.
type openaiProvider struct {
	call    *caller
	base    string
	fetcher *outbound.Fetcher
	now     func() time.Time
}

type openaiImages struct {
	Data []struct {
		B64 string `json:"b64_json"`
		URL string `json:"url"`
	} `json:"data"`
}

// Generate asks for the images in one request and decodes them.
func (p *openaiProvider) Generate(ctx context.Context, call *Call) ([]Picture, error) {
	body := call.Model.Args(call.Request)
	body["model"] = call.Model.endpoint()
	// GPT Image models always answer in base64 and refuse the parameter; the others,
	// and compatible servers, are asked for base64 explicitly.
	if !strings.HasPrefix(call.Model.endpoint(), "gpt-image") {
		body["response_format"] = "b64_json"
	}

	stop := tick(ctx, call, "Generating at OpenAI", call.Model.ExpectedSeconds, p.now)
	var out openaiImages
	err := p.call.do(ctx, request{method: http.MethodPost,
		url: p.base + "/images/generations", body: body, out: &out, retry: true,
		maxBody: maxImageBody})
	stop()
	if err != nil {
		return nil, userError("OpenAI", err)
	}

	var pics []Picture
	for _, d := range out.Data {
		res, err := p.decode(ctx, d.B64, d.URL)
		if err != nil {
			return pics, userError("OpenAI", err)
		}
		pics = append(pics, Picture{Image: res.Image, Format: res.Format,
			Seed: int64(call.Request.Seed)})
	}
	if len(pics) == 0 {
		return nil, userError("OpenAI", fmt.Errorf("%w: no images", ErrMalformed))
	}
	return pics, nil
}

// decode reads an inline image, or downloads one from a URL under the fetcher's rules
// (a compatible server on an administrator's own host may answer with URLs).
func (p *openaiProvider) decode(ctx context.Context, b64, u string) (*outbound.Result, error) {
	if b64 != "" {
		data, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, fmt.Errorf("%w: base64 image: %v", ErrMalformed, err)
		}
		return outbound.Decode(data, media.Limits{})
	}
	if u != "" {
		return p.fetcher.Image(ctx, u)
	}
	return nil, fmt.Errorf("%w: image without data", ErrMalformed)
}

// Cancel does nothing: the request is synchronous, and ending its context ends it.
func (p *openaiProvider) Cancel(context.Context, string) error { return nil }

// tick reports estimated progress every second while a synchronous request runs, so the
// page moves while the provider works. The returned function stops it.
func tick(ctx context.Context, call *Call, msg string, expectedSec int,
	now func() time.Time) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	start := now()
	expected := float64(max(expectedSec, 5))
	go func() {
		defer close(done)
		for {
			elapsed := now().Sub(start).Seconds()
			call.progress(10+int(80*(1-math.Exp(-elapsed/expected))), msg)
			if sleepCtx(ctx, time.Second) != nil {
				return
			}
		}
	}()
	return func() { cancel(); <-done }
}

// withheld is the answer when a provider's safety system kept every image back.
func withheld(name string) error {
	return fault.New(fault.Invalid, name+"'s safety system withheld the image. Try "+
		"another prompt.")
}
