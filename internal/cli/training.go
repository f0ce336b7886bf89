package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/blob"
	"github.com/sketchmaker/sketchmaker/internal/clamd"
	"github.com/sketchmaker/sketchmaker/internal/config"
	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/generation"
	"github.com/sketchmaker/sketchmaker/internal/media"
	"github.com/sketchmaker/sketchmaker/internal/outbound"
	"github.com/sketchmaker/sketchmaker/internal/provider"
	"github.com/sketchmaker/sketchmaker/internal/training"
	"github.com/sketchmaker/sketchmaker/internal/training/fal"
	"github.com/sketchmaker/sketchmaker/internal/upload"
)

// Training holds the upload pipeline and style training (issue 6).
type Training struct {
	Uploads *upload.Service
	Service *training.Service
}

// wireTraining builds the upload pipeline (with the clamd scanner when CLAMAV_ADDRESS is
// set) and the training service with the configured trainer, registers trainings as a job
// kind, and lets the built-in engine apply trained styles. Files being checked and
// trainings being assembled live under the data directory's tmp folder, never in a
// memory-backed system temporary directory.
func (a *App) wireTraining(cfg *config.Config, log *slog.Logger, db *database.DB,
	blobs blob.Store, gen *generation.Service) error {
	tmp := filepath.Join(cfg.DataDir, "tmp")
	opts := upload.Options{
		Limits: media.Limits{MaxBytes: cfg.MaxUploadBytes, MaxSide: cfg.Uploads.MaxSide,
			MaxPixels: cfg.Uploads.MaxPixels},
		TempDir: filepath.Join(tmp, "uploads"), FailOpen: cfg.Uploads.ClamAVFailOpen,
		Log: log,
	}
	if cfg.Uploads.ClamAVAddress != "" {
		opts.Scanner = upload.ClamdScanner{Client: &clamd.Client{
			Addr: cfg.Uploads.ClamAVAddress, Timeout: cfg.Uploads.ClamAVTimeout}}
	}
	ups, err := upload.New(db, blobs, opts)
	if err != nil {
		return err
	}
	if !media.ProgressiveJPEG() {
		log.Info("progressive JPEG is off: jpegtran (libjpeg-turbo-progs) is not on PATH")
	}

	trainers := []training.Trainer{training.Builtin{}}
	if cfg.Uploads.TrainingBackend == "fal" {
		ft, err := a.falTrainer(cfg, log)
		if err != nil {
			return err
		}
		trainers = []training.Trainer{ft, training.Builtin{}}
	}
	svc, err := training.New(training.Deps{DB: db, Jobs: a.Jobs, Credits: a.Credits,
		Uploads: ups, Blobs: blobs, Trainers: trainers,
		TempDir: filepath.Join(tmp, "training"), Notify: a.Pool.Notify, Now: time.Now,
		Log: log, Hints: trainingHints(cfg, gen)})
	if err != nil {
		return err
	}
	a.Pool.RegisterTimeout(training.Kind, svc, trainingTimeLimit)
	gen.UseStyles(svc)
	a.Training = &Training{Uploads: ups, Service: svc}
	// Trainings go before the uploads they were made from.
	a.files = append(a.files, svc, ups)
	return nil
}

// trainingHints lets FAL's verified webhooks wake trainings when FAL_WEBHOOKS is on.
func trainingHints(cfg *config.Config, gen *generation.Service) training.Hints {
	if !cfg.Providers.FALWebhooks {
		return nil
	}
	return gen
}

// trainingTimeLimit is how long one training may run before it is stopped, canceled at
// FAL and refunded; image jobs keep the pool's ten minutes.
const trainingTimeLimit = 2 * time.Hour

// falTrainer builds the FAL trainer on the outbound client. Its key is the admin panel's
// saved FAL key when there is one, else FAL_KEY. With FAL_WEBHOOKS it asks for FAL's
// webhook, and polls as well.
func (a *App) falTrainer(cfg *config.Config, log *slog.Logger) (*fal.Trainer, error) {
	p := cfg.Providers
	policy := outbound.Policy{Timeout: 10 * time.Minute}
	if p.FALBaseURL != "" {
		u, err := url.Parse(p.FALBaseURL)
		if err != nil {
			return nil, fmt.Errorf("FAL_BASE_URL: %w", err)
		}
		policy.Trusted = []string{outbound.HostPort(u)}
	}
	t := &fal.Trainer{HTTP: outbound.Client(policy), Key: p.FALKey, QueueURL: p.FALBaseURL,
		FileHosts: p.FALResultHosts, Log: log}
	if p.FALWebhooks {
		t.WebhookURL = cfg.BaseURL + "/webhooks/fal"
	}
	if a.Admin != nil && a.Admin.Vault != nil {
		saved := vaultOverrides{a.Admin.Vault}
		t.KeyFunc = func(ctx context.Context) (string, error) {
			b, ok, err := saved.Backend(ctx, provider.FAL)
			if err != nil || !ok || b.Key == "" {
				return p.FALKey, err
			}
			return b.Key, nil
		}
	}
	return t, nil
}
