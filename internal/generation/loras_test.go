package generation_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/credit"
	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/engine"
	"github.com/sketchmaker/sketchmaker/internal/job"
)

// hostedStyles is a style source whose styles were trained at FAL: each trigger word maps
// to the weights URLs FAL returned.
type hostedStyles struct {
	mu    sync.Mutex
	urls  map[string][]string
	asked []string // "backend|prompt"
}

func (h *hostedStyles) ProfileFor(context.Context, int64, string) (*engine.Profile, error) {
	return nil, nil
}

func (h *hostedStyles) WeightsURLs(_ context.Context, _ int64, backend,
	prompt string) ([]string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.asked = append(h.asked, backend+"|"+prompt)
	var out []string
	for word, urls := range h.urls {
		if strings.Contains(prompt, word) {
			out = append(out, urls...)
		}
	}
	return out, nil
}

// TestTrainedStylesReachFAL checks the exact body FAL receives: a model that takes LoRAs
// gets the trained style's FAL-hosted weights, at most as many as the catalog allows; a
// model that takes none, or a prompt without the trigger word, gets no loras at all.
func TestTrainedStylesReachFAL(t *testing.T) {
	const weights = "https://v3.fal.media/files/lora/ink.safetensors"
	many := make([]string, 7)
	for i := range many {
		many[i] = fmt.Sprintf("https://v3.fal.media/files/lora/%d.safetensors", i)
	}
	lora := func(urls ...string) []any {
		out := []any{}
		for _, u := range urls {
			out = append(out, map[string]any{"path": u, "scale": 1.0})
		}
		return out
	}
	cases := []struct {
		name, model, prompt string
		loras               []any // nil: no loras field
	}{
		{"trigger word", "fal-ai/flux-lora", "a harbour in inkwash", lora(weights)},
		{"bounded by the catalog", "fal-ai/flux-lora", "a harbour in manystyles",
			lora(many[:5]...)},
		{"no trigger word", "fal-ai/flux-lora", "a harbour at dusk", nil},
		{"model without loras", "fal-ai/flux/dev", "a harbour in inkwash", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			eachDB(t, func(t *testing.T, db *database.DB) {
				bodies := make(chan map[string]any, 4)
				fal := newFakeFAL(t)
				fal.submit = func(w http.ResponseWriter, r *http.Request) bool {
					var body map[string]any
					data, _ := io.ReadAll(r.Body)
					if err := json.Unmarshal(data, &body); err != nil {
						t.Errorf("submit body %s: %v", data, err)
					}
					bodies <- body
					return false
				}
				w := newFALWorld(t, db, fal, time.Now, nil)
				w.gen.UseStyles(&hostedStyles{urls: map[string][]string{
					"inkwash": {weights}, "manystyles": many}})
				w.start()
				uid := w.user("u@example.com", 5*credit.One)

				body := fmt.Sprintf(`{"prompt":%q,"model":%q,"image_size":"square",`+
					`"output_format":"png","num_images":1,"seed":77}`, c.prompt, c.model)
				j := w.wait(w.submit(uid, body).ID)
				if j.Status != job.Succeeded {
					t.Fatalf("job %s: %s", j.Status, j.Error)
				}
				got := <-bodies
				want := map[string]any{
					"prompt": c.prompt + ", modern style", "image_size": "square",
					"num_inference_steps": 28.0, "guidance_scale": 3.5, "seed": 77.0,
					"num_images": 1.0, "output_format": "png", "enable_safety_checker": true,
				}
				if c.loras != nil {
					want["loras"] = c.loras
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("FAL got\n%v\nwant\n%v", got, want)
				}
			})
		})
	}
}
