package provider_test

import (
	"context"
	"net/http"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/provider"
)

const a1111Route = "POST /sdapi/v1/txt2img"

func a1111Good(t *testing.T, f *fake) {
	img := pngOf(t, 8, 8)
	f.on(a1111Route, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(60 * time.Millisecond) // long enough for progress to be asked for
		writeJSON(w, http.StatusOK, map[string]any{"images": []string{b64(img)},
			"parameters": map[string]any{}, "info": "{}"})
	})
	f.on("GET /sdapi/v1/progress", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"progress": 0.5, "eta_relative": 3.0,
			"state": map[string]any{"job_count": 1, "sampling_step": 14, "sampling_steps": 28}})
	})
}

func runA1111(t *testing.T, f *fake, sl *sleeps) ([]provider.Picture, error) {
	p := imageProvider(t, f, sl, provider.A1111, nil)
	return p.Generate(context.Background(), &provider.Call{Model: modelOf(t, "a1111/default"),
		Request: basicRequest()})
}

func TestA1111SendsTheDocumentedRequestAndFollowsProgress(t *testing.T) {
	f, sl := newFake(t), &sleeps{}
	a1111Good(t, f)
	p := imageProvider(t, f, sl, provider.A1111, func(s *provider.Settings) {
		s.Backends[provider.A1111] = provider.Backend{BaseURL: "https://sd:secret@" +
			f.HostPort}
	})

	var mu sync.Mutex
	var progress []int
	req := basicRequest()
	req.NegativePrompt, req.NumImages = "blurry", 2
	pics, err := p.Generate(context.Background(), &provider.Call{
		Model: modelOf(t, "a1111/default"), Request: req,
		Progress: func(pct int, _ string) { mu.Lock(); progress = append(progress, pct); mu.Unlock() }})
	if err != nil || len(pics) != 1 {
		t.Fatalf("%d pictures, %v", len(pics), err)
	}

	sent := f.requests(a1111Route)[0]
	want := map[string]any{"prompt": "a red fox in the snow, modern style",
		"negative_prompt": "blurry", "width": 1024.0, "height": 1024.0, "seed": 42.0,
		"steps": 28.0, "cfg_scale": 3.5, "batch_size": 2.0, "n_iter": 1.0,
		"send_images": true, "save_images": false}
	if got := sent.JSON(t); !reflect.DeepEqual(got, want) {
		t.Errorf("sent %v\nwant %v", got, want)
	}
	if got := sent.Header.Get("Authorization"); got != "Basic c2Q6c2VjcmV0" {
		t.Errorf("Authorization = %q, want basic auth from the URL", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(progress) == 0 || progress[0] != 47 {
		t.Errorf("progress %v, want 47 (half of the sampling steps)", progress)
	}
}

func TestA1111Answers(t *testing.T) {
	checkCommonAnswers(t, contract{route: a1111Route, good: a1111Good, run: runA1111,
		imageAnswer: func(t *testing.T, f *fake, data []byte) {
			f.on(a1111Route, func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusOK, map[string]any{"images": []string{b64(data)}})
			})
		}})
}

func TestA1111CancelInterrupts(t *testing.T) {
	f, sl := newFake(t), &sleeps{}
	f.on("POST /sdapi/v1/interrupt", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{})
	})
	if err := imageProvider(t, f, sl, provider.A1111, nil).Cancel(context.Background(),
		""); err != nil {
		t.Fatal(err)
	}
	if len(f.requests("POST /sdapi/v1/interrupt")) != 1 {
		t.Fatal("no interrupt sent")
	}
}
