package fal

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/training"
)

const testKey = "test-fal-key"

// fakeFAL follows FAL's documented storage and queue API for flux-lora-fast-training.
type fakeFAL struct {
	t   *testing.T
	srv *httptest.Server

	mu        sync.Mutex
	uploaded  []byte         // the archive PUT to the signed URL
	input     map[string]any // the submitted training input
	submits   int
	polls     int
	canceled  bool
	weights   []byte
	statuses  []string // answers to successive polls; the last repeats
	failPolls int      // polls answered 500 before the statuses
	submitErr int      // status answered to the submission, 0 for success
	requestID string
	fileHost  string // replaces the host of result URLs when set
	badJSON   bool   // answer the result with broken JSON
	failure   string // the status answer's error field
	query     string // the submission's query string
	onPoll    func(n int)
}

func newFake(t *testing.T) *fakeFAL {
	f := &fakeFAL{t: t, statuses: []string{"IN_QUEUE", "IN_PROGRESS", "COMPLETED"},
		requestID: "req-123", weights: bytes.Repeat([]byte("lora"), 5000)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /storage/upload/initiate", f.initiate)
	mux.HandleFunc("PUT /upload/signed", f.put)
	mux.HandleFunc("POST /"+App, f.submit)
	mux.HandleFunc("GET /"+App+"/requests/{id}/status", f.status)
	mux.HandleFunc("GET /"+App+"/requests/{id}", f.result)
	mux.HandleFunc("PUT /"+App+"/requests/{id}/cancel", f.cancel)
	mux.HandleFunc("GET /files/{name}", f.file)
	f.srv = httptest.NewTLSServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// authorized checks the API key, which FAL's API needs and nothing else may receive.
func (f *fakeFAL) authorized(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("Authorization") != "Key "+testKey {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"detail": "Invalid key"}`)
		return false
	}
	return true
}

func (f *fakeFAL) initiate(w http.ResponseWriter, r *http.Request) {
	if !f.authorized(w, r) {
		return
	}
	var in map[string]string
	json.NewDecoder(r.Body).Decode(&in)
	if in["content_type"] != "application/zip" || in["file_name"] == "" {
		w.WriteHeader(http.StatusUnprocessableEntity)
		return
	}
	json.NewEncoder(w).Encode(map[string]string{
		"upload_url": f.srv.URL + "/upload/signed?sig=abc",
		"file_url":   f.srv.URL + "/files/set.zip"})
}

func (f *fakeFAL) put(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "" {
		f.t.Error("the API key was sent to the signed upload URL")
	}
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.uploaded = body
	f.mu.Unlock()
}

func (f *fakeFAL) submit(w http.ResponseWriter, r *http.Request) {
	if !f.authorized(w, r) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.submits++
	if f.submitErr != 0 {
		w.WriteHeader(f.submitErr)
		fmt.Fprint(w, `{"detail": [{"loc": ["body", "steps"], "msg": "secret internals"}]}`)
		return
	}
	json.NewDecoder(r.Body).Decode(&f.input)
	f.query = r.URL.RawQuery
	base := f.srv.URL + "/" + App + "/requests/" + f.requestID
	json.NewEncoder(w).Encode(map[string]string{"request_id": f.requestID,
		"status_url": base + "/status", "response_url": base, "cancel_url": base + "/cancel"})
}

func (f *fakeFAL) status(w http.ResponseWriter, r *http.Request) {
	if !f.authorized(w, r) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.polls++
	if f.onPoll != nil {
		f.onPoll(f.polls)
	}
	if f.failPolls > 0 {
		f.failPolls--
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	st := f.statuses[0]
	if len(f.statuses) > 1 {
		f.statuses = f.statuses[1:]
	}
	answer := map[string]any{"status": st, "queue_position": 2,
		"response_url": f.srv.URL + "/" + App + "/requests/" + r.PathValue("id")}
	if st != "IN_QUEUE" && r.URL.Query().Get("logs") == "1" {
		answer["logs"] = []map[string]string{{"message": "Preparing data"},
			{"message": "Training step 150/300\x1b[0m"}}
	}
	if f.failure != "" {
		answer["error"] = f.failure
	}
	json.NewEncoder(w).Encode(answer)
}

func (f *fakeFAL) result(w http.ResponseWriter, r *http.Request) {
	if !f.authorized(w, r) {
		return
	}
	if f.badJSON {
		fmt.Fprint(w, `{"diffusers_lora_file": `)
		return
	}
	base := f.srv.URL
	if f.fileHost != "" {
		base = f.fileHost
	}
	json.NewEncoder(w).Encode(map[string]any{
		"diffusers_lora_file": map[string]any{"url": base + "/files/lora.safetensors",
			"content_type": "application/octet-stream",
			"file_name":    "pytorch_lora_weights.safetensors", "file_size": len(f.weights)},
		"config_file": map[string]any{"url": base + "/files/config.json",
			"content_type": "application/octet-stream", "file_name": "config.json"},
	})
}

func (f *fakeFAL) cancel(w http.ResponseWriter, r *http.Request) {
	if !f.authorized(w, r) {
		return
	}
	f.mu.Lock()
	f.canceled = true
	f.mu.Unlock()
	fmt.Fprint(w, `{"status": "CANCELLATION_REQUESTED"}`)
}

func (f *fakeFAL) file(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "" {
		f.t.Error("the API key was sent with a file download")
	}
	switch r.PathValue("name") {
	case "lora.safetensors":
		w.Write(f.weights)
	case "config.json":
		fmt.Fprint(w, `{"trigger_word": "mystyle"}`)
	default:
		http.NotFound(w, r)
	}
}

// trainer returns a Trainer pointed at the fake, polling without waiting.
func (f *fakeFAL) trainer() *Trainer {
	return &Trainer{HTTP: f.srv.Client(), Key: testKey, QueueURL: f.srv.URL,
		RestURL: f.srv.URL, FileHosts: []string{"127.0.0.1"},
		Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }}
}

// fakeSet is a training set of five small pictures.
type fakeSet struct{ archived int }

func (s *fakeSet) Count() int { return 5 }

func (s *fakeSet) Images(context.Context, int) ([]image.Image, error) {
	return nil, errors.New("not used by FAL")
}

func (s *fakeSet) Archive(_ context.Context, dir string) (string, error) {
	s.archived++
	path := filepath.Join(dir, "set.zip")
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	for i := range 5 {
		w, _ := zw.Create(fmt.Sprintf("image_%02d.png", i+1))
		img := image.NewNRGBA(image.Rect(0, 0, 8, 8))
		img.Set(1, 1, color.NRGBA{uint8(i * 40), 0, 0, 255})
		png.Encode(w, img)
	}
	return path, zw.Close()
}

// report is what a run reported.
type report struct {
	mu      sync.Mutex
	lines   []string
	pcts    []int
	request string
}

func newRun(t *testing.T, rep *report, set *fakeSet) *training.Run {
	return &training.Run{
		Training: &training.Training{ID: "job", TriggerWord: "mystyle", Steps: 300,
			CreateMasks: true, IsStyle: false},
		Set: set, Dir: t.TempDir(),
		OnProgress: func(_ context.Context, pct int, msg string) {
			rep.mu.Lock()
			defer rep.mu.Unlock()
			rep.lines, rep.pcts = append(rep.lines, msg), append(rep.pcts, pct)
		},
		OnProviderRequest: func(_ context.Context, id string) error {
			rep.request = id
			return nil
		},
	}
}

func TestTrainsThroughTheQueue(t *testing.T) {
	fake := newFake(t)
	rep, set := &report{}, &fakeSet{}
	run := newRun(t, rep, set)
	out, err := fake.trainer().Train(context.Background(), run)
	if err != nil {
		t.Fatal(err)
	}

	zr, err := zip.NewReader(bytes.NewReader(fake.uploaded), int64(len(fake.uploaded)))
	if err != nil || len(zr.File) != 5 {
		t.Fatalf("uploaded archive: %v", err)
	}
	want := map[string]any{"images_data_url": fake.srv.URL + "/files/set.zip",
		"trigger_word": "mystyle", "steps": float64(300), "create_masks": true,
		"is_style": false}
	for k, v := range want {
		if fake.input[k] != v {
			t.Errorf("input %s = %v, want %v", k, fake.input[k], v)
		}
	}
	if rep.request != "req-123" || run.ProviderRequestID != "req-123" {
		t.Errorf("request id %q not remembered", rep.request)
	}

	weights, _ := os.ReadFile(out.Weights.Path)
	config, _ := os.ReadFile(out.Config.Path)
	if !bytes.Equal(weights, fake.weights) || !strings.Contains(string(config), "mystyle") {
		t.Errorf("weights %d bytes, config %q", len(weights), config)
	}
	if out.RemoteURL != fake.srv.URL+"/files/lora.safetensors" {
		t.Errorf("remote weights URL %q", out.RemoteURL)
	}
	if out.Weights.Name != "mystyle.safetensors" || !strings.HasPrefix(out.Weights.Path,
		run.Dir) || out.Profile != nil {
		t.Errorf("output %+v", out)
	}
	log := strings.Join(rep.lines, "\n")
	for _, line := range []string{"Waiting in FAL's queue (position 2)", "FAL: Preparing data",
		"FAL: Training step 150/300 [0m", "Copying the weights"} {
		if !strings.Contains(log, line) {
			t.Errorf("log lacks %q:\n%s", line, log)
		}
	}
	if max := rep.pcts[len(rep.pcts)-2]; max != 15+75*150/300 {
		t.Errorf("progress from the step counter: %v", rep.pcts)
	}
}

func TestResumesWithoutResubmitting(t *testing.T) {
	fake := newFake(t)
	rep, set := &report{}, &fakeSet{}
	run := newRun(t, rep, set)
	run.ProviderRequestID = "req-123"
	if _, err := fake.trainer().Train(context.Background(), run); err != nil {
		t.Fatal(err)
	}
	if fake.submits != 0 || set.archived != 0 || fake.uploaded != nil {
		t.Errorf("resumed training submitted again: %d submits", fake.submits)
	}
}

func TestSurvivesAFewFailedPolls(t *testing.T) {
	fake := newFake(t)
	fake.failPolls = maxPollFailures - 1
	if _, err := fake.trainer().Train(context.Background(), newRun(t, &report{},
		&fakeSet{})); err != nil {
		t.Fatal(err)
	}
}

func TestRefusals(t *testing.T) {
	cases := []struct {
		name   string
		change func(f *fakeFAL, tr *Trainer)
		want   string
		cause  error
	}{
		{"wrong key", func(_ *fakeFAL, tr *Trainer) { tr.Key = "wrong" }, "API key", nil},
		{"no key", func(_ *fakeFAL, tr *Trainer) { tr.Key = "" }, "not configured", nil},
		{"key from the admin panel", func(_ *fakeFAL, tr *Trainer) {
			tr.Key = testKey
			tr.KeyFunc = func(context.Context) (string, error) { return "revoked", nil }
		}, "API key", nil},
		{"submission refused", func(f *fakeFAL, _ *Trainer) { f.submitErr = 422 },
			"status 422", nil},
		{"FAL overloaded", func(f *fakeFAL, _ *Trainer) { f.submitErr = 503 }, "busy", nil},
		{"training failed at FAL", func(f *fakeFAL, _ *Trainer) { f.failure = "OOM" },
			"could not train", nil},
		{"polls keep failing", func(f *fakeFAL, _ *Trainer) { f.failPolls = 10 }, "busy", nil},
		{"unknown status", func(f *fakeFAL, _ *Trainer) { f.statuses = []string{"WEIRD"} },
			"does not understand", nil},
		{"broken result", func(f *fakeFAL, _ *Trainer) { f.badJSON = true },
			"does not understand", nil},
		{"request id with a path", func(f *fakeFAL, _ *Trainer) { f.requestID = "../../x" },
			"does not understand", nil},
		{"weights on another host", func(f *fakeFAL, _ *Trainer) {
			f.fileHost = "https://evil.example"
		}, "does not download", ErrFileHost},
		{"weights over plain HTTP", func(f *fakeFAL, _ *Trainer) {
			f.fileHost = strings.Replace(f.srv.URL, "https:", "http:", 1)
		}, "does not download", ErrFileHost},
		{"weights too large", func(f *fakeFAL, tr *Trainer) { tr.MaxFileBytes = 1000 },
			"larger than", ErrFileTooLong},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := newFake(t)
			tr := fake.trainer()
			tc.change(fake, tr)
			_, err := tr.Train(context.Background(), newRun(t, &report{}, &fakeSet{}))
			fe := fault.As(err)
			if fe == nil || fe.Kind != fault.Unavailable || !strings.Contains(fe.Message, tc.want) {
				t.Fatalf("error %v, want a safe refusal saying %q", err, tc.want)
			}
			if strings.Contains(fe.Message, "secret internals") || !strings.Contains(fe.Message,
				"refunded") {
				t.Errorf("message %q", fe.Message)
			}
			if tc.cause != nil && !errors.Is(err, tc.cause) {
				t.Errorf("error %v does not wrap %v", err, tc.cause)
			}
		})
	}
}

func TestStoppedJobCancelsAtFAL(t *testing.T) {
	fake := newFake(t)
	fake.statuses = []string{"IN_PROGRESS"}
	tr := fake.trainer()
	ctx, cancel := context.WithCancel(context.Background())
	polls := 0
	tr.Sleep = func(ctx context.Context, _ time.Duration) error {
		if polls++; polls == 3 {
			cancel()
		}
		return ctx.Err()
	}
	_, err := tr.Train(ctx, newRun(t, &report{}, &fakeSet{}))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("stopped training: %v", err)
	}
	if !fake.canceled {
		t.Error("the request was not canceled at FAL")
	}
}

func TestStepProgress(t *testing.T) {
	cases := []struct {
		msg  string
		want int
	}{
		{"step 0/300", 15}, {"step 300/300", 90}, {"150 / 300 it", 52}, {"1/2 of data", 15},
		{"no counter", 15}, {"400/300", 15}, {"99999999999999999999/300", 15},
	}
	for _, tc := range cases {
		if got := stepProgress(tc.msg, 300); got != tc.want {
			t.Errorf("stepProgress(%q) = %d, want %d", tc.msg, got, tc.want)
		}
	}
}

// FuzzStepProgress checks that any log line gives progress between 15 and 90.
func FuzzStepProgress(f *testing.F) {
	f.Add("step 10/100", 100)
	f.Add("0/0", 0)
	f.Fuzz(func(t *testing.T, msg string, steps int) {
		if p := stepProgress(msg, steps); p < 15 || p > 90 {
			t.Fatalf("stepProgress(%q, %d) = %d", msg, steps, p)
		}
	})
}

func TestMatchHost(t *testing.T) {
	hosts := []string{"fal.media", "*.fal.media"}
	for host, want := range map[string]bool{"fal.media": true, "v3.fal.media": true,
		"FAL.MEDIA.": true, "evilfal.media": false, "fal.media.evil": false, "": false} {
		if matchHost(hosts, host) != want {
			t.Errorf("matchHost(%q) = %v", host, !want)
		}
	}
}
