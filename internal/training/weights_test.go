package training

import (
	"bytes"
	"context"
	"image/color"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
	"github.com/sketchmaker/sketchmaker/internal/generation"
	"github.com/sketchmaker/sketchmaker/internal/job"
)

// The service hands FAL-hosted weights to generation, which finds them through UseStyles.
var _ generation.WeightsSource = (*Service)(nil)

// hosted is a trainer that, like FAL's, leaves its weights at a provider URL.
type hosted struct{ url string }

func (*hosted) Name() string  { return "fal" }
func (*hosted) Model() string { return "test/hosted" }
func (h *hosted) Train(ctx context.Context, run *Run) (*Output, error) {
	path := filepath.Join(run.Dir, "weights.safetensors")
	if err := os.WriteFile(path, []byte("weights"), 0o600); err != nil {
		return nil, err
	}
	return &Output{Weights: Artifact{Name: "w.safetensors", Path: path}, RemoteURL: h.url}, nil
}

// train runs one training of trigger for owner on r and waits for it to succeed.
func (r *rig) train(t *testing.T, owner int64, trigger string) {
	t.Helper()
	var ids []string
	for i := range MinImages {
		data := solidPNG(t, color.NRGBA{uint8(40 * i), 90, 140, 255})
		acc, err := r.uploads.Accept(context.Background(), owner, "s.png",
			bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, acc.Uploads[0].ID)
	}
	st, err := r.svc.Start(context.Background(), owner, &Request{UploadIDs: ids,
		TriggerWord: trigger})
	if err != nil {
		t.Fatal(err)
	}
	if j := r.finish(t, st.Job.ID); j.Status != job.Succeeded {
		t.Fatalf("training %s: %s", j.Status, j.Error)
	}
}

// TestWeightsURLsFollowTheTriggerWord checks that a FAL-trained style offers the weights
// URL FAL returned, to its owner only, when the prompt names its trigger word, and that
// anything but an HTTPS address is never offered.
func TestWeightsURLsFollowTheTriggerWord(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		const hostedURL = "https://v3.fal.media/files/lora/abc.safetensors"
		ctx := context.Background()
		trainer := &hosted{url: hostedURL}
		r := newRig(t, db, trainer)
		r.work(t)
		owner := r.user(t, "owner@example.com", 200)
		other := r.user(t, "other@example.com", 200)
		r.train(t, owner, "inkwash")
		trainer.url = "http://v3.fal.media/x.safetensors"
		r.train(t, owner, "plainhttp")

		cases := []struct {
			user    int64
			backend string
			prompt  string
			want    []string
		}{
			{owner, "fal", "a harbour, InkWash", []string{hostedURL}},
			{owner, "fal", "a harbour at dusk", nil},
			{owner, "fal", "inkwashed harbour", nil},
			{owner, "builtin", "a harbour, inkwash", nil},
			{other, "fal", "a harbour, inkwash", nil},
			{owner, "fal", "plainhttp harbour", nil},
		}
		for _, c := range cases {
			got, err := r.svc.WeightsURLs(ctx, c.user, c.backend, c.prompt)
			if err != nil || !slices.Equal(got, c.want) {
				t.Errorf("WeightsURLs(%d, %s, %q) = %v, %v; want %v", c.user, c.backend,
					c.prompt, got, err, c.want)
			}
		}
		styles, err := r.svc.Styles(ctx, owner)
		if err != nil || len(styles) != 2 || styles[1].RemoteURL != hostedURL {
			t.Errorf("styles %+v %v", styles, err)
		}
	})
}

// hints records what the service tracked and says every request is notified.
type hints struct {
	mu      sync.Mutex
	tracked []string
}

func (h *hints) TrackRequest(_ context.Context, jobID, provider, requestID string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tracked = append(h.tracked, jobID+"|"+provider+"|"+requestID)
	return nil
}

func (h *hints) Notified(context.Context, string) bool { return true }

// submitting is a trainer that submits a provider request and reports whether it was
// told a webhook arrived.
type submitting struct{ sawHint atomic.Bool }

func (*submitting) Name() string  { return "fal" }
func (*submitting) Model() string { return "test/submitting" }
func (s *submitting) Train(ctx context.Context, run *Run) (*Output, error) {
	if err := run.SetProviderRequest(ctx, "req-9"); err != nil {
		return nil, err
	}
	s.sawHint.Store(run.Notified(ctx))
	path := filepath.Join(run.Dir, "w.safetensors")
	if err := os.WriteFile(path, []byte("w"), 0o600); err != nil {
		return nil, err
	}
	return &Output{Weights: Artifact{Name: "w.safetensors", Path: path}}, nil
}

// TestRunTracksProviderRequestsForWebhooks checks that with Hints set, a training's
// provider request is tracked for webhooks and the trainer can see their mark.
func TestRunTracksProviderRequestsForWebhooks(t *testing.T) {
	tr, h := &submitting{}, &hints{}
	r := newRig(t, dbtest.SQLite(t), tr)
	r.svc.Hints = h
	r.work(t)
	owner := r.user(t, "owner@example.com", 100)
	r.train(t, owner, "hinted")

	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.tracked) != 1 || !strings.HasSuffix(h.tracked[0], "|fal|req-9") ||
		!tr.sawHint.Load() {
		t.Fatalf("tracked %v, trainer saw the hint: %v", h.tracked, tr.sawHint.Load())
	}
}
