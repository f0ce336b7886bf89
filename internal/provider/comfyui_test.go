package provider_test

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/provider"
)

// workflow is a small text-to-image graph in ComfyUI's API format with SketchMaker's
// placeholders.
const workflow = `{
  "3": {"class_type": "KSampler", "inputs": {"seed": "{{seed}}", "steps": "{{steps}}",
        "cfg": "{{cfg}}", "sampler_name": "euler", "model": ["4", 0],
        "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]}},
  "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd15.safetensors"}},
  "5": {"class_type": "EmptyLatentImage", "inputs": {"width": "{{width}}",
        "height": "{{height}}", "batch_size": "{{batch_size}}"}},
  "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "masterpiece, {{prompt}}",
        "clip": ["4", 1]}},
  "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "{{negative_prompt}}",
        "clip": ["4", 1]}},
  "9": {"class_type": "SaveImage", "inputs": {"images": ["8", 0]}}
}`

func comfyGood(t *testing.T, f *fake) {
	var polls atomic.Int32
	f.on("POST /prompt", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"prompt_id": "p-1", "number": 3,
			"node_errors": map[string]any{}})
	})
	f.on("GET /history/p-1", func(w http.ResponseWriter, r *http.Request) {
		if polls.Add(1) < 3 {
			writeJSON(w, http.StatusOK, map[string]any{})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"p-1": map[string]any{
			"outputs": map[string]any{"9": map[string]any{"images": []map[string]any{
				{"filename": "sm_0001.png", "subfolder": "", "type": "output"},
				{"filename": "preview.png", "subfolder": "", "type": "temp"}}}},
			"status": map[string]any{"status_str": "success", "completed": true}}})
	})
	f.on("GET /queue", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{
			"queue_running": [][]any{{2, "other"}}, "queue_pending": [][]any{{3, "p-1"}}})
	})
	img := pngOf(t, 8, 8)
	f.on("GET /view", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(img) })
}

func comfyProvider(t *testing.T, f *fake, sl *sleeps) provider.Image {
	return imageProvider(t, f, sl, provider.ComfyUI, func(s *provider.Settings) {
		s.ComfyWorkflow = []byte(workflow)
	})
}

func runComfy(t *testing.T, f *fake, sl *sleeps) ([]provider.Picture, error) {
	return comfyProvider(t, f, sl).Generate(context.Background(), &provider.Call{
		Model: modelOf(t, "comfyui/default"), Request: basicRequest()})
}

func TestComfyUIQueuesTheFilledWorkflow(t *testing.T) {
	f, sl := newFake(t), &sleeps{}
	comfyGood(t, f)
	var handle string
	var msgs []string
	req := basicRequest()
	req.NegativePrompt = "blurry"
	pics, err := comfyProvider(t, f, sl).Generate(context.Background(), &provider.Call{
		Model: modelOf(t, "comfyui/default"), Request: req,
		Submitted: func(h, _ string) error { handle = h; return nil },
		Progress:  func(_ int, m string) { msgs = append(msgs, m) }})
	if err != nil || len(pics) != 1 {
		t.Fatalf("%d pictures, %v (want only the saved output, not the preview)", len(pics), err)
	}
	if handle != "p-1" {
		t.Errorf("handle %q", handle)
	}

	body := f.requests("POST /prompt")[0].JSON(t)
	graph := body["prompt"].(map[string]any)
	sampler := graph["3"].(map[string]any)["inputs"].(map[string]any)
	if sampler["seed"] != 42.0 || sampler["steps"] != 28.0 || sampler["cfg"] != 3.5 {
		t.Errorf("sampler inputs %v", sampler)
	}
	latent := graph["5"].(map[string]any)["inputs"].(map[string]any)
	if !reflect.DeepEqual(latent, map[string]any{"width": 1024.0, "height": 1024.0,
		"batch_size": 1.0}) {
		t.Errorf("latent inputs %v", latent)
	}
	pos := graph["6"].(map[string]any)["inputs"].(map[string]any)["text"]
	neg := graph["7"].(map[string]any)["inputs"].(map[string]any)["text"]
	if pos != "masterpiece, a red fox in the snow, modern style" || neg != "blurry" {
		t.Errorf("texts %q / %q", pos, neg)
	}
	if id, _ := body["client_id"].(string); len(id) != 32 {
		t.Errorf("client_id %q", id)
	}
	view := f.requests("GET /view")[0]
	if view.Query != "filename=sm_0001.png&subfolder=&type=output" {
		t.Errorf("view query %q", view.Query)
	}
	if len(msgs) == 0 || !strings.Contains(msgs[0], "1 ahead") {
		t.Errorf("progress messages %v, want the queue position", msgs)
	}
}

func TestComfyUIAnswers(t *testing.T) {
	checkCommonAnswers(t, contract{route: "POST /prompt", good: comfyGood, run: runComfy,
		imageAnswer: func(t *testing.T, f *fake, data []byte) {
			f.on("GET /view", func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write(data)
			})
		}})
}

func TestComfyUIResumesAndCancels(t *testing.T) {
	f, sl := newFake(t), &sleeps{}
	comfyGood(t, f)
	p := comfyProvider(t, f, sl)
	pics, err := p.Generate(context.Background(), &provider.Call{
		Model: modelOf(t, "comfyui/default"), Request: basicRequest(), Handle: "p-1"})
	if err != nil || len(pics) != 1 {
		t.Fatalf("%d pictures, %v", len(pics), err)
	}
	if n := len(f.requests("POST /prompt")); n != 0 {
		t.Fatalf("resumed prompt queued again (%d)", n)
	}

	f.on("POST /queue", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{})
	})
	if err := p.Cancel(context.Background(), "p-1"); err != nil {
		t.Fatal(err)
	}
	del := f.requests("POST /queue")
	if len(del) != 1 || string(del[0].Body) != `{"delete":["p-1"]}` {
		t.Fatalf("cancel sent %+v", del)
	}
	if n := len(f.requests("POST /interrupt")); n != 0 {
		t.Fatal("a pending prompt's cancel interrupted the running one")
	}
}

func TestParseWorkflow(t *testing.T) {
	cases := map[string]string{
		"not json":        "the workflow is not a JSON object",
		"[]":              "the workflow is not a JSON object",
		"{}":              "no nodes",
		`{"1": 5}`:        "is not an object",
		`{"1": {"x": 1}}`: "no class_type",
		`{"1": {"class_type": "SaveImage", "inputs": {}}}`: "no {{prompt}}",
	}
	for in, want := range cases {
		_, err := provider.ParseWorkflow([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseWorkflow(%q) = %v, want %q", in, err, want)
		}
	}
	if _, err := provider.ParseWorkflow([]byte(workflow)); err != nil {
		t.Fatal(err)
	}
}

func FuzzParseWorkflow(f *testing.F) {
	f.Add([]byte(workflow))
	f.Add([]byte(`{"1":{"class_type":"X","inputs":{"t":"{{prompt}}","s":["{{seed}}"]}}}`))
	f.Add([]byte(`{"1":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		wf, err := provider.ParseWorkflow(data)
		if err != nil {
			return
		}
		g := wf.Fill(map[string]any{"prompt": "p", "seed": int64(1), "width": 8})
		if len(g) == 0 {
			t.Fatal("filled workflow is empty")
		}
	})
}
