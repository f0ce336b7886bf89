package provider

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/outbound"
)

// Workflow is a ComfyUI workflow in API format that an administrator uploaded, with
// placeholders where SketchMaker puts each request's values: a string value that is
// exactly "{{seed}}", "{{width}}", "{{height}}", "{{steps}}", "{{cfg}}" or
// "{{batch_size}}" becomes that number, and "{{prompt}}" and "{{negative_prompt}}" are
// replaced inside any string.
type Workflow struct {
	graph map[string]any
}

// ParseWorkflow checks an uploaded workflow: a JSON object of nodes, each with a
// class_type and inputs, holding a {{prompt}} placeholder somewhere.
func ParseWorkflow(data []byte) (*Workflow, error) {
	var graph map[string]any
	if err := json.Unmarshal(data, &graph); err != nil {
		return nil, fmt.Errorf("the workflow is not a JSON object (export it with \"Save " +
			"(API Format)\")")
	}
	if len(graph) == 0 {
		return nil, errors.New("the workflow has no nodes")
	}
	for id, n := range graph {
		node, ok := n.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("node %q is not an object", clipText(id, 20))
		}
		if _, ok := node["class_type"].(string); !ok {
			return nil, fmt.Errorf("node %q has no class_type; export the workflow in API "+
				"format", clipText(id, 20))
		}
	}
	if !strings.Contains(string(data), "{{prompt}}") {
		return nil, errors.New("the workflow has no {{prompt}} placeholder for the prompt")
	}
	return &Workflow{graph: graph}, nil
}

// Fill returns the workflow with the placeholders replaced by args' values.
func (w *Workflow) Fill(args map[string]any) map[string]any {
	numbers := map[string]any{
		"{{seed}}": args["seed"], "{{width}}": args["width"], "{{height}}": args["height"],
		"{{steps}}": args["num_inference_steps"], "{{cfg}}": args["guidance_scale"],
		"{{batch_size}}": args["batch_size"],
	}
	neg, _ := args["negative_prompt"].(string)
	prompt, _ := args["prompt"].(string)
	text := strings.NewReplacer("{{prompt}}", prompt, "{{negative_prompt}}", neg)
	return fill(w.graph, numbers, text).(map[string]any)
}

// fill copies v, replacing placeholders.
func fill(v any, numbers map[string]any, text *strings.Replacer) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = fill(e, numbers, text)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = fill(e, numbers, text)
		}
		return out
	case string:
		if n, ok := numbers[t]; ok && n != nil {
			return n
		}
		return text.Replace(t)
	}
	return v
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// comfyProvider queues a filled workflow at ComfyUI's /prompt, follows it on ComfyUI's
// websocket (/ws, step-by-step progress and the end of the prompt) and through /history,
// and downloads the outputs from /view. When the websocket cannot be opened, or for a
// prompt an earlier attempt queued (its client id is gone), /history is polled and
// progress estimated from the queue position and elapsed time.
type comfyProvider struct {
	call     *caller
	base     string
	workflow *Workflow
	fetcher  *outbound.Fetcher
	poll     time.Duration
	now      func() time.Time
}

// Generate queues the workflow (or follows the queued prompt of call.Handle).
func (p *comfyProvider) Generate(ctx context.Context, call *Call) ([]Picture, error) {
	id := call.Handle
	var stream *comfyStream
	if id == "" {
		clientID := newClientID()
		stream = p.dialStream(ctx, clientID)
		defer stream.close()
		var err error
		if id, err = p.submit(ctx, call, clientID); err != nil {
			return nil, userError("ComfyUI", err)
		}
		stream.follow(ctx, call, id)
	}
	outputs, err := p.wait(ctx, call, id, stream)
	if err != nil {
		return nil, userError("ComfyUI", err)
	}
	call.progress(92, "Downloading the images from ComfyUI")
	pics, err := p.download(ctx, call, outputs)
	return pics, userError("ComfyUI", err)
}

// newClientID returns a random ComfyUI client id, which routes the websocket's messages
// about a prompt to the one caller that queued it.
func newClientID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// submit queues the filled workflow for clientID and reports its prompt id.
func (p *comfyProvider) submit(ctx context.Context, call *Call, clientID string) (string,
	error) {
	if p.workflow == nil {
		return "", errors.New("no ComfyUI workflow configured")
	}
	body := map[string]any{"prompt": p.workflow.Fill(call.Model.Args(call.Request)),
		"client_id": clientID}
	var out struct {
		PromptID string `json:"prompt_id"`
	}
	err := p.call.do(ctx, request{method: http.MethodPost, url: p.base + "/prompt",
		body: body, out: &out, retry: true})
	if err != nil {
		return "", err
	}
	if out.PromptID == "" || len(out.PromptID) > 100 || strings.ContainsAny(out.PromptID,
		"/?#") {
		return "", fmt.Errorf("%w: ComfyUI returned no usable prompt id", ErrMalformed)
	}
	return out.PromptID, call.submitted(out.PromptID, out.PromptID)
}

// comfyImage is one output file.
type comfyImage struct {
	Filename  string `json:"filename"`
	Subfolder string `json:"subfolder"`
	Type      string `json:"type"`
}

type comfyHistory struct {
	Outputs map[string]struct {
		Images []comfyImage `json:"images"`
	} `json:"outputs"`
	Status struct {
		StatusStr string `json:"status_str"`
		Completed bool   `json:"completed"`
	} `json:"status"`
}

// wait reads /history until the prompt is done and returns its output images: at once
// when the stream says the prompt ended, else at the polling interval.
func (p *comfyProvider) wait(ctx context.Context, call *Call, id string,
	stream *comfyStream) ([]comfyImage, error) {
	start := p.now()
	for {
		var hist map[string]comfyHistory
		err := p.call.do(ctx, request{method: http.MethodGet,
			url: p.base + "/history/" + url.PathEscape(id), out: &hist, retry: true,
			maxBody: 8 << 20})
		if err != nil {
			return nil, err
		}
		if h, ok := hist[id]; ok {
			return h.images()
		}

		if !stream.reporting() {
			p.report(ctx, call, id, start)
		}
		if err := stream.sleep(ctx, p.poll); err != nil {
			return nil, err
		}
	}
}

// images returns the saved outputs of a finished prompt.
func (h comfyHistory) images() ([]comfyImage, error) {
	if h.Status.StatusStr == "error" {
		return nil, errors.New("ComfyUI reported an error running the workflow")
	}
	var out []comfyImage
	for _, o := range h.Outputs {
		for _, im := range o.Images {
			if im.Type == "output" {
				out = append(out, im)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: the workflow saved no images", ErrMalformed)
	}
	return out, nil
}

// report estimates progress from the queue and the time spent running.
func (p *comfyProvider) report(ctx context.Context, call *Call, id string, start time.Time) {
	running, ahead, err := p.position(ctx, id)
	switch {
	case err != nil:
	case !running && ahead >= 0:
		call.progress(5, fmt.Sprintf("Waiting in ComfyUI's queue (%d ahead)", ahead))
		return
	}
	expected := float64(max(call.Model.ExpectedSeconds, 5))
	elapsed := p.now().Sub(start).Seconds()
	call.progress(10+int(80*(1-math.Exp(-elapsed/expected))), "Generating at ComfyUI")
}

// position reads /queue: whether id is running, or how many prompts are ahead of it
// (-1 when it is in neither list).
func (p *comfyProvider) position(ctx context.Context, id string) (bool, int, error) {
	var q struct {
		Running [][]any `json:"queue_running"`
		Pending [][]any `json:"queue_pending"`
	}
	if err := p.call.do(ctx, request{method: http.MethodGet, url: p.base + "/queue",
		out: &q, maxBody: 8 << 20}); err != nil {
		return false, -1, err
	}
	for _, e := range q.Running {
		if len(e) > 1 && e[1] == id {
			return true, 0, nil
		}
	}
	for i, e := range q.Pending {
		if len(e) > 1 && e[1] == id {
			return false, len(q.Running) + i, nil
		}
	}
	return false, -1, nil
}

// download fetches the output files from /view on the administrator's ComfyUI host.
func (p *comfyProvider) download(ctx context.Context, call *Call, ims []comfyImage) (
	[]Picture, error) {
	n := call.Model.Images(call.Request.NumImages)
	var pics []Picture
	for i, im := range ims[:min(len(ims), n)] {
		q := url.Values{"filename": {im.Filename}, "subfolder": {im.Subfolder},
			"type": {im.Type}}
		res, err := p.fetcher.Image(ctx, p.base+"/view?"+q.Encode())
		if err != nil {
			return pics, err
		}
		pics = append(pics, Picture{Image: res.Image, Format: res.Format,
			Seed: int64(call.Request.Seed) + int64(i)})
	}
	return pics, nil
}

// Cancel removes the prompt from the queue, or interrupts it when it is the one running
// (never another prompt).
func (p *comfyProvider) Cancel(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	running, _, err := p.position(ctx, id)
	if err != nil {
		return err
	}
	if running {
		return p.call.do(ctx, request{method: http.MethodPost, url: p.base + "/interrupt"})
	}
	return p.call.do(ctx, request{method: http.MethodPost, url: p.base + "/queue",
		body: map[string]any{"delete": []string{id}}})
}
