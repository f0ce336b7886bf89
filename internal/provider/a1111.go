package provider

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/media"
	"github.com/sketchmaker/sketchmaker/internal/outbound"
)

// a1111Provider calls AUTOMATIC1111's (or Forge's) /sdapi/v1/txt2img and follows its
// progress at /sdapi/v1/progress while the request runs. The API is synchronous, so there
// is no request id to resume: a job interrupted by a restart is generated again.
type a1111Provider struct {
	call *caller
	base string
	poll time.Duration
}

type a1111Progress struct {
	Progress float64 `json:"progress"`
	State    struct {
		JobCount int `json:"job_count"`
	} `json:"state"`
}

// Generate runs txt2img and reports the server's own progress meanwhile.
func (p *a1111Provider) Generate(ctx context.Context, call *Call) ([]Picture, error) {
	args := call.Model.Args(call.Request)
	body := map[string]any{
		"prompt": args["prompt"], "negative_prompt": args["negative_prompt"],
		"width": args["width"], "height": args["height"], "seed": args["seed"],
		"steps": args["num_inference_steps"], "cfg_scale": args["guidance_scale"],
		"batch_size": args["batch_size"], "n_iter": 1,
		"send_images": true, "save_images": false,
	}
	for k, v := range call.Model.Fixed {
		body[k] = v
	}
	for k, v := range body {
		if v == nil {
			delete(body, k)
		}
	}

	stop := p.follow(ctx, call)
	var out struct {
		Images []string `json:"images"`
	}
	err := p.call.do(ctx, request{method: http.MethodPost, url: p.base + "/sdapi/v1/txt2img",
		body: body, out: &out, retry: true, maxBody: maxImageBody})
	stop()
	if err != nil {
		return nil, userError("AUTOMATIC1111", err)
	}

	pics, err := p.decode(out.Images, call)
	return pics, userError("AUTOMATIC1111", err)
}

// decode reads the base64 images of the answer. With more than one image the server may
// put a grid first, so the last batch_size images are the pictures.
func (p *a1111Provider) decode(images []string, call *Call) ([]Picture, error) {
	n := call.Model.Images(call.Request.NumImages)
	if len(images) > n {
		images = images[len(images)-n:]
	}
	var pics []Picture
	for i, s := range images {
		if _, rest, ok := strings.Cut(s, ";base64,"); ok {
			s = rest
		}
		data, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return pics, fmt.Errorf("%w: base64 image: %v", ErrMalformed, err)
		}
		res, err := outbound.Decode(data, media.Limits{})
		if err != nil {
			return pics, err
		}
		pics = append(pics, Picture{Image: res.Image, Format: res.Format,
			Seed: int64(call.Request.Seed) + int64(i)})
	}
	if len(pics) == 0 {
		return nil, fmt.Errorf("%w: no images", ErrMalformed)
	}
	return pics, nil
}

// follow polls /sdapi/v1/progress until the returned function is called.
func (p *a1111Provider) follow(ctx context.Context, call *Call) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for sleepCtx(ctx, p.poll) == nil {
			var pr a1111Progress
			err := p.call.do(ctx, request{method: http.MethodGet,
				url: p.base + "/sdapi/v1/progress?skip_current_image=true", out: &pr})
			if err != nil {
				continue // progress is a courtesy; the generation request decides
			}
			call.progress(5+int(min(max(pr.Progress, 0), 1)*85), "Generating at AUTOMATIC1111")
		}
	}()
	return func() { cancel(); <-done }
}

// Cancel interrupts the image the server is working on.
func (p *a1111Provider) Cancel(ctx context.Context, _ string) error {
	return p.call.do(ctx, request{method: http.MethodPost, url: p.base + "/sdapi/v1/interrupt"})
}
