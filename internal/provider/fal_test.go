package provider_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/provider"
)

const falApp = "/fal-ai/flux"

// falQueue scripts FAL's queue API for one request "req-1": the submit answer, a status
// that goes IN_QUEUE, IN_PROGRESS, COMPLETED, and a response naming imageURLs.
func (f *fake) falQueue(t *testing.T, imageURLs ...string) {
	base := f.URL + falApp + "/requests/req-1"
	f.on("POST /fal-ai/flux/dev", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"request_id": "req-1",
			"status_url": base + "/status", "response_url": base, "cancel_url": base + "/cancel",
			"queue_position": 0})
	})
	var polls atomic.Int32
	f.on("GET "+falApp+"/requests/req-1/status", func(w http.ResponseWriter, r *http.Request) {
		switch polls.Add(1) {
		case 1:
			writeJSON(w, http.StatusAccepted, map[string]any{"status": "IN_QUEUE",
				"queue_position": 2, "response_url": base})
		case 2:
			writeJSON(w, http.StatusAccepted, map[string]any{"status": "IN_PROGRESS",
				"logs": []map[string]any{{"message": "step 14/28 50%"}}, "response_url": base})
		default:
			writeJSON(w, http.StatusOK, map[string]any{"status": "COMPLETED",
				"response_url": base})
		}
	})
	var images []map[string]any
	for _, u := range imageURLs {
		images = append(images, map[string]any{"url": u, "width": 8, "height": 8,
			"content_type": "image/png"})
	}
	f.on("GET "+falApp+"/requests/req-1", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"images": images, "seed": 42,
			"has_nsfw_concepts": make([]bool, len(images)), "prompt": "a red fox in the snow"})
	})
	f.on("PUT "+falApp+"/requests/req-1/cancel", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusAccepted, map[string]any{"status": "CANCELLATION_REQUESTED"})
	})
	img := pngOf(t, 8, 8)
	f.on("GET /files/ok.png", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(img) })
}

func falImage(t *testing.T, f *fake, sl *sleeps) provider.Image {
	t.Helper()
	p, err := provider.NewRegistry(f.settings(sl), nil).Image(context.Background(), provider.FAL)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFALSubmitsTheDocumentedRequest(t *testing.T) {
	f, sl := newFake(t), &sleeps{}
	f.falQueue(t, f.cdn("v3.fal.media", "/files/ok.png"))

	var handle, reqID string
	var progress []int
	call := &provider.Call{Model: modelOf(t, "fal-ai/flux/dev"), Request: basicRequest(),
		Submitted: func(h, id string) error { handle, reqID = h, id; return nil },
		Progress:  func(pct int, msg string) { progress = append(progress, pct) }}
	pics, err := falImage(t, f, sl).Generate(context.Background(), call)
	if err != nil {
		t.Fatal(err)
	}
	if len(pics) != 1 || pics[0].Image.Bounds().Dx() != 8 {
		t.Fatalf("got %d pictures", len(pics))
	}

	subs := f.requests("POST /fal-ai/flux/dev")
	if len(subs) != 1 {
		t.Fatalf("%d submissions", len(subs))
	}
	sub := subs[0]
	if got := sub.Header.Get("Authorization"); got != "Key fal-test-key" {
		t.Errorf("Authorization = %q", got)
	}
	if ct := sub.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	want := map[string]any{"prompt": "a red fox in the snow, modern style",
		"image_size": "square_hd", "num_inference_steps": 28.0, "guidance_scale": 3.5,
		"num_images": 1.0, "seed": 42.0, "output_format": "png",
		"enable_safety_checker": true}
	if got := sub.JSON(t); !reflect.DeepEqual(got, want) {
		t.Errorf("submitted %v\nwant      %v", got, want)
	}
	if reqID != "req-1" || !strings.Contains(handle, "/requests/req-1/status") {
		t.Errorf("handle %q, request id %q", handle, reqID)
	}
	if st := f.requests("GET " + falApp + "/requests/req-1/status"); len(st) != 3 ||
		st[0].Header.Get("Authorization") != "Key fal-test-key" || st[0].Query != "logs=1" {
		t.Errorf("status requests: %d", len(st))
	}
	if len(progress) < 2 || progress[0] != 5 || progress[1] != 50 {
		t.Errorf("progress %v, want 5 (queued) then 50 (from the logs)", progress)
	}
}

func TestFALArgumentsAreClampedToTheModel(t *testing.T) {
	req := basicRequest()
	req.Steps, req.Guidance, req.NumImages = 50, 20, 9
	req.SizeName, req.Width, req.Height = "custom", 1920, 1080
	req.NegativePrompt = "blurry"

	cases := []struct {
		model string
		want  map[string]any
	}{
		{"fal-ai/z-image/turbo/lora", map[string]any{"num_inference_steps": 8,
			"num_images": 4, "image_size": map[string]int{"width": 1920, "height": 1080}}},
		{"fal-ai/flux-2-flex", map[string]any{"num_inference_steps": 50,
			"guidance_scale": 10.0}},
		{"fal-ai/flux-pro/v1.1-ultra", map[string]any{"aspect_ratio": "16:9",
			"num_images": 4, "safety_tolerance": "2", "enable_safety_checker": true}},
		{"fal-ai/bytedance/seedream/v4.5/text-to-image", map[string]any{
			"image_size": map[string]int{"width": 1920, "height": 1080}}},
		{"fal-ai/imagen4/preview", map[string]any{"aspect_ratio": "16:9",
			"negative_prompt": "blurry"}},
		{"fal-ai/recraft-v3", map[string]any{"style": "any"}},
		{"fal-ai/ideogram/v2", map[string]any{"aspect_ratio": "16:9", "style": "general"}},
	}
	for _, c := range cases {
		args := modelOf(t, c.model).Args(req)
		for k, v := range c.want {
			if !reflect.DeepEqual(args[k], v) {
				t.Errorf("%s: %s = %#v, want %#v", c.model, k, args[k], v)
			}
		}
	}

	// Small sizes are scaled up into Seedream's range, keeping the aspect ratio.
	req.Width, req.Height = 512, 256
	got := modelOf(t, "fal-ai/bytedance/seedream/v4.5/text-to-image").Args(req)["image_size"]
	if !reflect.DeepEqual(got, map[string]int{"width": 2048, "height": 1024}) {
		t.Errorf("seedream small size: %v", got)
	}
	// Models without a count argument get none, and make one image.
	if _, ok := modelOf(t, "fal-ai/flux-2-pro").Args(req)["num_images"]; ok {
		t.Error("flux-2-pro was sent num_images")
	}
	if n := modelOf(t, "fal-ai/flux-2-pro").Images(4); n != 1 {
		t.Errorf("flux-2-pro makes %d images", n)
	}
}

func TestFALSafetySwitchesComeFromTheServer(t *testing.T) {
	m := modelOf(t, "fal-ai/flux-pro/v1.1")
	m.Fixed = map[string]any{"enable_safety_checker": false, "safety_tolerance": "6"}
	args := m.Args(basicRequest())
	if args["enable_safety_checker"] != true || args["safety_tolerance"] != "2" {
		t.Fatalf("safety switches overridden: %v %v", args["enable_safety_checker"],
			args["safety_tolerance"])
	}
}

func TestFALAnswers(t *testing.T) {
	errorOn := func(status int, body string, header ...string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			for i := 0; i+1 < len(header); i += 2 {
				w.Header().Set(header[i], header[i+1])
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		}
	}
	cases := []struct {
		name   string
		image  string           // result path on v3.fal.media, or a full URL
		submit http.HandlerFunc // replaces the submit answer
		once   bool             // the submit answer applies to the first call only
		kind   fault.Kind
		phrase string
		ok     bool
		checks func(t *testing.T, f *fake, sl *sleeps)
	}{
		{name: "success", image: "/files/ok.png", ok: true},
		{name: "401", submit: errorOn(401, `{"detail":"Invalid key fal-test-key"}`),
			kind: fault.Unavailable, phrase: "credentials",
			checks: func(t *testing.T, f *fake, _ *sleeps) {
				if n := len(f.requests("POST /fal-ai/flux/dev")); n != 1 {
					t.Errorf("401 retried: %d submissions", n)
				}
			}},
		{name: "422", submit: errorOn(422, `{"detail":[{"loc":["body","image_size"],`+
			`"msg":"bad size for a red fox in the snow","type":"value_error"}]}`),
			kind: fault.Invalid, phrase: "settings"},
		{name: "429 with Retry-After, then success", image: "/files/ok.png", ok: true,
			submit: errorOn(429, `{"detail":"slow down"}`, "Retry-After", "7"), once: true,
			checks: func(t *testing.T, f *fake, sl *sleeps) {
				if d := sl.all(); len(d) == 0 || d[0] != 7*time.Second {
					t.Errorf("waits %v, want 7s first (the Retry-After)", d)
				}
			}},
		{name: "429 asking for an hour", submit: errorOn(429, `{}`, "Retry-After", "3600"),
			kind: fault.Limited, phrase: "busy"},
		{name: "500", submit: errorOn(500, `{"detail":"boom"}`), kind: fault.Unavailable,
			phrase: "problems", checks: func(t *testing.T, f *fake, sl *sleeps) {
				if n := len(f.requests("POST /fal-ai/flux/dev")); n != 4 {
					t.Errorf("%d submissions, want 4 attempts", n)
				}
				if d := sl.all(); len(d) != 3 || d[0] != time.Second || d[2] != 4*time.Second {
					t.Errorf("backoff %v, want 1s 2s 4s", d)
				}
			}},
		{name: "hang past the timeout", submit: func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}, kind: fault.Unavailable, phrase: "in time"},
		{name: "malformed JSON", submit: errorOn(200, `{"request_id": "req-1", "status_u`),
			kind: fault.Unavailable, phrase: "could not read"},
		{name: "request URLs outside FAL's API", submit: errorOn(200, `{"request_id":"x",`+
			`"status_url":"https://evil.example/s","response_url":"https://evil.example/r",`+
			`"cancel_url":"https://evil.example/c"}`), kind: fault.Unavailable,
			phrase: "could not read"},
		{name: "image on a foreign host", image: "https://cdn.evil.example/files/ok.png",
			kind: fault.Unavailable, phrase: "address"},
		{name: "image URL to 127.0.0.1", image: "https://127.0.0.1:1/files/ok.png",
			kind: fault.Unavailable, phrase: "address"},
		{name: "image URL to 169.254.169.254",
			image: "https://169.254.169.254/latest/meta-data/iam", kind: fault.Unavailable,
			phrase: "address"},
		{name: "allowed name at the metadata address", image: "meta.fal.media:/files/ok.png",
			kind: fault.Unavailable, phrase: "address"},
		{name: "redirect to a private address", image: "/files/redirect",
			kind: fault.Unavailable, phrase: "address"},
		{name: "200 MB body", image: "/files/huge.png", kind: fault.Unavailable,
			phrase: "larger"},
		{name: "non-image body", image: "/files/page.html", kind: fault.Unavailable,
			phrase: "not an image"},
		{name: "pixel bomb", image: "/files/bomb.png", kind: fault.Unavailable,
			phrase: "not an image"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, sl := newFake(t), &sleeps{}
			imageURL := c.image
			switch {
			case strings.HasPrefix(imageURL, "/"):
				imageURL = f.cdn("v3.fal.media", imageURL)
			case strings.Contains(imageURL, ".fal.media:/"):
				host, path, _ := strings.Cut(imageURL, ":")
				imageURL = f.cdn(host, path)
			}
			f.falQueue(t, imageURL)
			serveFiles(t, f)
			if c.submit != nil {
				ok := f.route("POST /fal-ai/flux/dev")
				var calls atomic.Int32
				f.on("POST /fal-ai/flux/dev", func(w http.ResponseWriter, r *http.Request) {
					if c.once && calls.Add(1) > 1 {
						ok(w, r)
						return
					}
					c.submit(w, r)
				})
			}

			call := &provider.Call{Model: modelOf(t, "fal-ai/flux/dev"), Request: basicRequest()}
			pics, err := falImage(t, f, sl).Generate(context.Background(), call)
			if c.ok {
				if err != nil || len(pics) != 1 {
					t.Fatalf("%d pictures, error %v", len(pics), err)
				}
			} else {
				if len(pics) != 0 {
					t.Fatalf("%d pictures delivered", len(pics))
				}
				wantFault(t, err, c.kind, c.phrase)
			}
			if c.checks != nil {
				c.checks(t, f, sl)
			}
		})
	}
}

// serveFiles adds the hostile result files.
func serveFiles(t *testing.T, f *fake) {
	f.on("GET /files/page.html", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("<!doctype html><p>not an image</p>"))
	})
	f.on("GET /files/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, f.cdn("internal.fal.media", "/files/ok.png"), http.StatusFound)
	})
	bomb := attack(t, "bomb_50000x50000.png")
	f.on("GET /files/bomb.png", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(bomb)
	})
	f.on("GET /files/huge.png", func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 64<<10)
		copy(chunk, "\x89PNG\r\n\x1a\n")
		for sent := 0; sent < 200<<20; sent += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			chunk = make([]byte, 64<<10)
		}
	})
}

func TestFALResumesWithoutSubmittingAgain(t *testing.T) {
	f, sl := newFake(t), &sleeps{}
	f.falQueue(t, f.cdn("v3.fal.media", "/files/ok.png"))
	base := f.URL + falApp + "/requests/req-1"
	handle, _ := json.Marshal(map[string]string{"request_id": "req-1",
		"status_url": base + "/status", "response_url": base, "cancel_url": base + "/cancel"})

	call := &provider.Call{Model: modelOf(t, "fal-ai/flux/dev"), Request: basicRequest(),
		Handle: string(handle)}
	pics, err := falImage(t, f, sl).Generate(context.Background(), call)
	if err != nil || len(pics) != 1 {
		t.Fatalf("%d pictures, %v", len(pics), err)
	}
	if n := len(f.requests("POST /fal-ai/flux/dev")); n != 0 {
		t.Fatalf("resumed request submitted again (%d times)", n)
	}
}

func TestFALCancelUsesTheCancelURL(t *testing.T) {
	f, sl := newFake(t), &sleeps{}
	f.falQueue(t)
	base := f.URL + falApp + "/requests/req-1"
	handle, _ := json.Marshal(map[string]string{"request_id": "req-1",
		"status_url": base + "/status", "response_url": base, "cancel_url": base + "/cancel"})
	if err := falImage(t, f, sl).Cancel(context.Background(), string(handle)); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests("PUT " + falApp + "/requests/req-1/cancel")
	if len(reqs) != 1 || reqs[0].Header.Get("Authorization") != "Key fal-test-key" {
		t.Fatalf("cancel requests: %+v", reqs)
	}

	// A cancel URL outside FAL's API is never called with the key.
	evil, _ := json.Marshal(map[string]string{"request_id": "req-1",
		"status_url": base + "/status", "response_url": base,
		"cancel_url": "https://cdn.evil.example:" + f.Port() + "/steal"})
	if err := falImage(t, f, sl).Cancel(context.Background(), string(evil)); err == nil {
		t.Fatal("foreign cancel URL accepted")
	}
	if n := len(f.requests("PUT /steal")); n != 0 {
		t.Fatal("the key was sent to a foreign cancel URL")
	}
}

func TestFALAsksForTheWebhookAndWakesOnIt(t *testing.T) {
	f, sl := newFake(t), &sleeps{}
	f.falQueue(t, f.cdn("v3.fal.media", "/files/ok.png"))
	s := f.settings(sl)
	s.FALWebhookURL = "https://studio.example/webhooks/fal"
	p, err := provider.NewRegistry(s, nil).Image(context.Background(), provider.FAL)
	if err != nil {
		t.Fatal(err)
	}

	call := &provider.Call{Model: modelOf(t, "fal-ai/flux/dev"), Request: basicRequest(),
		Notified: func() bool { return true }}
	start := time.Now()
	if _, err := p.Generate(context.Background(), call); err != nil {
		t.Fatal(err)
	}
	sub := f.requests("POST /fal-ai/flux/dev")[0]
	if sub.Query != "fal_webhook=https%3A%2F%2Fstudio.example%2Fwebhooks%2Ffal" {
		t.Fatalf("submit query %q", sub.Query)
	}
	// With a webhook expected, polls are 10 s apart unless the webhook arrived; here it
	// had, so three polls took no such wait.
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the webhook did not shorten the wait (%s)", took)
	}
}

func TestFALSafetyCheckerWithheldEverything(t *testing.T) {
	f, sl := newFake(t), &sleeps{}
	f.falQueue(t)
	url := f.cdn("v3.fal.media", "/files/ok.png")
	f.on("GET "+falApp+"/requests/req-1", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"images": []map[string]any{{"url": url},
			{"url": url}}, "seed": 1, "has_nsfw_concepts": []bool{true, false}})
	})
	call := &provider.Call{Model: modelOf(t, "fal-ai/flux/dev"), Request: basicRequest()}
	pics, err := falImage(t, f, sl).Generate(context.Background(), call)
	if err != nil || len(pics) != 1 {
		t.Fatalf("%d pictures, %v; want the one image not flagged", len(pics), err)
	}

	f.on("GET "+falApp+"/requests/req-1", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"images": []map[string]any{{"url": url}},
			"has_nsfw_concepts": []bool{true}})
	})
	_, err = falImage(t, f, sl).Generate(context.Background(), call)
	wantFault(t, err, fault.Invalid, "safety")
}

func TestRetryAfterAsDate(t *testing.T) {
	f, sl := newFake(t), &sleeps{}
	f.falQueue(t, f.cdn("v3.fal.media", "/files/ok.png"))
	ok := f.route("POST /fal-ai/flux/dev")
	var n atomic.Int32
	f.on("POST /fal-ai/flux/dev", func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", time.Now().Add(20*time.Second).UTC().Format(
				http.TimeFormat))
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		ok(w, r)
	})
	call := &provider.Call{Model: modelOf(t, "fal-ai/flux/dev"), Request: basicRequest()}
	if _, err := falImage(t, f, sl).Generate(context.Background(), call); err != nil {
		t.Fatal(err)
	}
	if d := sl.all(); len(d) == 0 || d[0] < 15*time.Second || d[0] > 21*time.Second {
		t.Fatalf("waits %v, want about 20s", d)
	}
}

// TestFALSubmissionOutlivesAShutdown ends the worker's context while FAL is answering a
// submission: the answer is still read and the request id recorded, so the next worker
// follows that request instead of submitting, and paying for, the job again.
func TestFALSubmissionOutlivesAShutdown(t *testing.T) {
	f, sl := newFake(t), &sleeps{}
	f.falQueue(t, f.cdn("v3.fal.media", "/files/ok.png"))
	answer := f.route("POST /fal-ai/flux/dev")
	ctx, cancel := context.WithCancel(context.Background())
	f.on("POST /fal-ai/flux/dev", func(w http.ResponseWriter, r *http.Request) {
		cancel() // the worker shuts down while FAL works on its answer
		time.Sleep(50 * time.Millisecond)
		answer(w, r)
	})

	var reqID string
	call := &provider.Call{Model: modelOf(t, "fal-ai/flux/dev"), Request: basicRequest(),
		Submitted: func(_, id string) error { reqID = id; return nil }}
	if _, err := falImage(t, f, sl).Generate(ctx, call); err == nil {
		t.Fatal("a worker that shut down finished the job")
	}
	if reqID != "req-1" {
		t.Fatalf("request id %q recorded after the shutdown, want req-1", reqID)
	}
}
