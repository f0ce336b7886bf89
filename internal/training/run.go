package training

import (
	"archive/zip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"

	"github.com/sketchmaker/sketchmaker/internal/blob"
	"github.com/sketchmaker/sketchmaker/internal/credit"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/job"
	"github.com/sketchmaker/sketchmaker/internal/media"
	"github.com/sketchmaker/sketchmaker/internal/upload"
)

// Set is a training set: the images a run trains on.
type Set interface {
	// Count returns the number of images.
	Count() int
	// Images decodes the images, each scaled down to at most maxSide pixels.
	Images(ctx context.Context, maxSide int) ([]image.Image, error)
	// Archive writes the images as a ZIP file in dir and returns its path.
	Archive(ctx context.Context, dir string) (string, error)
}

// Run is one training as a trainer sees it: its options, its images and a private folder.
type Run struct {
	Training *Training
	Set      Set
	// Dir is the run's own folder, removed when the run ends; trainers write only here.
	Dir string
	// ProviderRequestID is the provider's id for this training when a previous attempt
	// already submitted it, so that a resumed job polls instead of paying twice.
	ProviderRequestID string

	// OnProgress receives progress reports; OnProviderRequest makes a provider's id
	// durable. Either may be nil.
	OnProgress        func(ctx context.Context, pct int, msg string)
	OnProviderRequest func(ctx context.Context, id string) error
	// OnNotified, when not nil, reports whether a provider's webhook said the request is
	// done, so the trainer asks the provider at once instead of at its next poll.
	OnNotified func(ctx context.Context) bool
}

// Notified reports whether a webhook said the provider's request is done.
func (r *Run) Notified(ctx context.Context) bool {
	return r.OnNotified != nil && r.OnNotified(ctx)
}

// Report records progress, 0 to 100, and a line for the training's log.
func (r *Run) Report(ctx context.Context, pct int, msg string) {
	if r.OnProgress != nil {
		r.OnProgress(ctx, pct, msg)
	}
}

// SetProviderRequest remembers the provider's id for this training.
func (r *Run) SetProviderRequest(ctx context.Context, id string) error {
	r.ProviderRequestID = id
	if r.OnProviderRequest == nil {
		return nil
	}
	return r.OnProviderRequest(ctx, id)
}

// storedSet is a training set of stored, cleaned uploads.
type storedSet struct {
	uploads *upload.Service
	images  []*upload.Upload
}

// Count returns the number of images.
func (s *storedSet) Count() int { return len(s.images) }

// Images decodes the training images one at a time, each scaled down to at most maxSide
// pixels before the next is read, so that twenty large photos never sit in memory at once.
func (s *storedSet) Images(ctx context.Context, maxSide int) ([]image.Image, error) {
	out := make([]image.Image, 0, len(s.images))
	for _, u := range s.images {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		img, err := s.decode(ctx, u)
		if err != nil {
			return nil, err
		}
		out = append(out, media.Thumbnail(img, maxSide))
	}
	return out, nil
}

func (s *storedSet) decode(ctx context.Context, u *upload.Upload) (image.Image, error) {
	f, _, err := s.uploads.Open(ctx, u, upload.Original)
	if err != nil {
		return nil, fmt.Errorf("open training image: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read training image: %w", err)
	}
	img, _, err := media.DecodeLimited(data, s.uploads.Limits())
	if err != nil {
		return nil, fmt.Errorf("decode training image %s: %w", u.ID, err)
	}
	return img, nil
}

// Archive writes the training set as a ZIP file in dir and returns its path. Each stored,
// cleaned image goes in under a name of the server's choosing (image_01.jpg, ...), prepared
// as every image sent to a provider is (media.Optimize: at most 1536 pixels a side, JPEG
// under 4 MB).
func (s *storedSet) Archive(ctx context.Context, dir string) (string, error) {
	path := filepath.Join(dir, "training-set.zip")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", fmt.Errorf("create training archive: %w", err)
	}
	defer f.Close()

	zw := zip.NewWriter(f)
	for i, u := range s.images {
		data, err := s.optimized(ctx, u)
		if err != nil {
			return "", err
		}
		// JPEG is compressed already; storing it is as small and much faster.
		name := fmt.Sprintf("image_%02d.jpg", i+1)
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			return "", fmt.Errorf("add to training archive: %w", err)
		}
		if _, err := w.Write(data); err != nil {
			return "", fmt.Errorf("write training archive: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		return "", fmt.Errorf("finish training archive: %w", err)
	}
	return path, f.Close()
}

// optimized returns upload u prepared for a provider.
func (s *storedSet) optimized(ctx context.Context, u *upload.Upload) ([]byte, error) {
	img, err := s.decode(ctx, u)
	if err != nil {
		return nil, err
	}
	data, _, err := media.Optimize(img)
	if err != nil {
		return nil, fmt.Errorf("prepare training image %s: %w", u.ID, err)
	}
	return data, nil
}

// result is what a finished training job stores as its result.
type result struct {
	TrainingID string `json:"training_id"`
	RemoteURL  string `json:"provider_weights_url,omitempty"`
}

// Run runs a training job: it gives the trainer a private folder and the stored images,
// then copies what the trainer produced into storage. It implements job.Kind.
func (s *Service) Run(ctx context.Context, j *job.Job, report func(int, string)) (
	job.Outcome, error) {
	t, err := s.get(ctx, j.ID)
	if err != nil {
		return job.Outcome{}, err
	}
	trainer, ok := s.trainers[t.Backend]
	if !ok {
		return job.Outcome{}, fault.New(fault.Unavailable, "This server no longer offers "+
			"the "+t.Backend+" trainer. Your credits were refunded.")
	}
	images, err := s.images(ctx, t)
	if err != nil {
		return job.Outcome{}, err
	}

	dir, err := os.MkdirTemp(s.TempDir, "training-")
	if err != nil {
		return job.Outcome{}, fmt.Errorf("create training folder: %w", err)
	}
	defer os.RemoveAll(dir)
	run := &Run{Training: t, Set: &storedSet{uploads: s.Uploads, images: images}, Dir: dir,
		ProviderRequestID: j.ProviderRequestID,
		OnProgress: func(ctx context.Context, pct int, msg string) {
			s.appendLog(ctx, t.ID, msg)
			report(pct, msg)
		},
		OnProviderRequest: func(ctx context.Context, id string) error {
			if err := s.Jobs.SetProviderRequest(ctx, t.ID, id); err != nil {
				return err
			}
			if s.Hints == nil {
				return nil
			}
			return s.Hints.TrackRequest(ctx, t.ID, t.Backend, id)
		},
	}
	if s.Hints != nil {
		run.OnNotified = func(ctx context.Context) bool { return s.Hints.Notified(ctx, t.ID) }
	}
	run.Report(ctx, 1, fmt.Sprintf("Training %q on %d images with the %s trainer",
		t.TriggerWord, len(images), trainer.Name()))

	out, err := trainer.Train(ctx, run)
	if err == nil {
		err = s.keep(ctx, t, out)
	}
	if err != nil {
		s.appendLog(context.WithoutCancel(ctx), t.ID, "Failed: "+safeText(err))
		return job.Outcome{}, err
	}
	run.Report(ctx, 100, "Finished: the style is ready")
	b, _ := json.Marshal(result{TrainingID: t.ID, RemoteURL: out.RemoteURL})
	return job.Outcome{Result: string(b), Used: j.CostReserved, Message: "Finished"}, nil
}

// safeText is what a training log may say about an error.
func safeText(err error) string {
	if fe := fault.As(err); fe != nil && fe.Kind != fault.Internal {
		return fe.Message
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "the training took too long and was stopped"
	}
	return "the training could not be completed"
}

// keep copies the trainer's files into storage and records them.
func (s *Service) keep(ctx context.Context, t *Training, out *Output) error {
	if out == nil || out.Weights.Path == "" {
		return errors.New("trainer produced no weights")
	}
	if out.Profile != nil {
		b, err := json.Marshal(out.Profile)
		if err != nil {
			return fmt.Errorf("encode style profile: %w", err)
		}
		t.Profile = string(b)
	}

	key, n, err := s.store(ctx, out.Weights)
	if err != nil {
		return err
	}
	t.WeightsKey, t.WeightsBytes, t.WeightsName = key, n, out.Weights.Name
	if out.Config != nil {
		t.ConfigKey, _, err = s.store(ctx, *out.Config)
	}
	if err == nil {
		err = s.saveResult(ctx, t)
	}
	if err != nil {
		// No record points at the files (the owner's account may have gone meanwhile).
		s.dropFiles(ctx, t)
		t.WeightsKey, t.ConfigKey = "", ""
	}
	return err
}

// store puts one produced file under a new random key, keeping its extension.
func (s *Service) store(ctx context.Context, a Artifact) (string, int64, error) {
	f, err := os.Open(a.Path)
	if err != nil {
		return "", 0, fmt.Errorf("open trained file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", 0, fmt.Errorf("stat trained file: %w", err)
	}

	key := blob.NewKey("trainings", safeExt(a.Name))
	if err := s.Blobs.Put(ctx, key, f); err != nil {
		return "", 0, fmt.Errorf("store trained file: %w", err)
	}
	return key, st.Size(), nil
}

// safeExt keeps the extensions SketchMaker produces and drops anything else.
func safeExt(name string) string {
	switch ext := filepath.Ext(name); ext {
	case ".json", ".safetensors":
		return ext
	}
	return ".bin"
}

// Settle charges a training that succeeded and refunds every other outcome. It implements
// job.Kind and is safe to call twice.
func (s *Service) Settle(ctx context.Context, j *job.Job) error {
	used := credit.Milli(0)
	if j.Status == job.Succeeded {
		used = credit.Milli(j.CostReserved)
	}
	err := s.Credits.Settle(ctx, j.UserID, j.ID, credit.Milli(j.CostReserved), used)
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("settle training: %w", err)
	}
	return nil
}
