// Package providertest stands in for FAL in tests of the whole application: an HTTPS
// server that follows FAL's queue API (submit, status with queue position and progress
// logs, response, cancel) and serves the result files, with the configuration that points
// SketchMaker at it.
package providertest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/outbound/outboundtest"
)

// FAL is a fake FAL queue. A request stays IN_QUEUE for the first quarter of Delay, then
// IN_PROGRESS with a percentage in its logs, then COMPLETED with one image per num_images.
type FAL struct {
	*outboundtest.Server
	Key   string
	Delay time.Duration

	Submits atomic.Int32
	mu      sync.Mutex
	started map[string]time.Time
	counts  map[string]int
	bodies  []map[string]any
	cancels []string
	png     []byte
}

// NewFAL starts a fake FAL whose requests take delay.
func NewFAL(t testing.TB, delay time.Duration) *FAL {
	f := &FAL{Key: "fal-test-key", Delay: delay, started: map[string]time.Time{},
		counts: map[string]int{}, png: picture(t)}
	f.Server = outboundtest.NewTLSServer(t, http.HandlerFunc(f.serve))
	return f
}

// Env is the configuration that points SketchMaker at the fake: its key and base URL, its
// certificate, and its own address as the host results come from.
func (f *FAL) Env(t testing.TB) map[string]string {
	return map[string]string{
		"FAL_KEY": f.Key, "FAL_BASE_URL": f.URL, "PROVIDER_CA_FILE": f.WriteCA(t),
		"FAL_RESULT_HOSTS": "127.0.0.1",
	}
}

// Bodies returns the submitted request bodies.
func (f *FAL) Bodies() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.bodies...)
}

// Cancels returns the ids of the requests whose cancel URL was called.
func (f *FAL) Cancels() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.cancels...)
}

func (f *FAL) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/files/result.png" {
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(f.png)
		return
	}
	if r.Header.Get("Authorization") != "Key "+f.Key {
		reply(w, http.StatusUnauthorized, map[string]any{"detail": "Invalid key"})
		return
	}
	rest, isRequest := strings.CutPrefix(r.URL.Path, "/fal-ai/")
	id, tail, _ := strings.Cut(strings.TrimPrefix(rest, "flux/requests/"), "/")
	switch {
	case r.Method == http.MethodPost && isRequest && !strings.Contains(rest, "/requests/"):
		f.submit(w, r)
	case r.Method == http.MethodGet && tail == "status":
		f.status(w, id)
	case r.Method == http.MethodGet && tail == "":
		f.response(w, id)
	case r.Method == http.MethodPut && tail == "cancel":
		f.mu.Lock()
		f.cancels = append(f.cancels, id)
		f.mu.Unlock()
		reply(w, http.StatusAccepted, map[string]any{"status": "CANCELLATION_REQUESTED"})
	default:
		http.NotFound(w, r)
	}
}

func (f *FAL) submit(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		reply(w, http.StatusUnprocessableEntity, map[string]any{"detail": "bad body"})
		return
	}
	id := fmt.Sprintf("req-%d", f.Submits.Add(1))
	n, _ := body["num_images"].(float64)
	f.mu.Lock()
	f.started[id], f.counts[id] = time.Now(), max(int(n), 1)
	f.bodies = append(f.bodies, body)
	f.mu.Unlock()
	base := f.URL + "/fal-ai/flux/requests/" + id
	reply(w, http.StatusOK, map[string]any{"request_id": id, "status_url": base + "/status",
		"response_url": base, "cancel_url": base + "/cancel", "queue_position": 0})
}

func (f *FAL) status(w http.ResponseWriter, id string) {
	f.mu.Lock()
	at, ok := f.started[id]
	f.mu.Unlock()
	if !ok {
		reply(w, http.StatusNotFound, map[string]any{"detail": "Request not found"})
		return
	}
	elapsed := time.Since(at)
	switch {
	case elapsed < f.Delay/4:
		reply(w, http.StatusAccepted, map[string]any{"status": "IN_QUEUE", "queue_position": 1})
	case elapsed < f.Delay:
		pct := int(100 * elapsed / f.Delay)
		reply(w, http.StatusAccepted, map[string]any{"status": "IN_PROGRESS",
			"logs": []map[string]any{{"message": fmt.Sprintf("step %d%%", pct)}}})
	default:
		reply(w, http.StatusOK, map[string]any{"status": "COMPLETED"})
	}
}

func (f *FAL) response(w http.ResponseWriter, id string) {
	f.mu.Lock()
	n := f.counts[id]
	f.mu.Unlock()
	var images []map[string]any
	for i := 0; i < n; i++ {
		images = append(images, map[string]any{"url": f.URL + "/files/result.png",
			"width": 96, "height": 64, "content_type": "image/png"})
	}
	reply(w, http.StatusOK, map[string]any{"images": images, "seed": 4242,
		"has_nsfw_concepts": make([]bool, n)})
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// picture is the 96×64 result every request gets.
func picture(t testing.TB) []byte {
	b, err := picturePNG()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func picturePNG() ([]byte, error) {
	img := image.NewNRGBA(image.Rect(0, 0, 96, 64))
	for y := 0; y < 64; y++ {
		for x := 0; x < 96; x++ {
			img.Set(x, y, color.NRGBA{uint8(x * 2), 120, uint8(y * 3), 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
