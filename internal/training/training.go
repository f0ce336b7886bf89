// Package training learns personal styles from a person's own pictures. A training is a
// durable job of kind "training": it reserves its credits in the transaction that queues
// it, runs through a Trainer (the built-in offline trainer, or FAL's flux-lora-fast-training
// through the fal subpackage), copies the resulting weights into SketchMaker's own storage
// and is settled when it ends, its credits refunded when it failed.
//
// The training set is always assembled on the server from stored, cleaned uploads; a
// client never hands over an archive to be forwarded. The built-in trainer's weights are a
// learned engine.Profile, which the built-in engine applies whenever the style's trigger
// word appears in a prompt (ProfileFor).
package training

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sketchmaker/sketchmaker/internal/blob"
	"github.com/sketchmaker/sketchmaker/internal/credit"
	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/engine"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/job"
	"github.com/sketchmaker/sketchmaker/internal/upload"
)

// Kind is the job kind of trainings.
const Kind = "training"

// Limits of a training request, enforced here whatever the form allowed.
const (
	MinImages    = 5
	MaxImages    = 20
	MinSteps     = 100
	MaxSteps     = 1000
	DefaultSteps = 1000
)

// triggerPattern is what a trigger word may be: letters, digits, _ and -, 2 to 32 of them.
var triggerPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{2,32}$`)

// Trainer turns a training set into weights. Name is stored with each training so that a
// job resumed after a restart goes back to the same trainer.
type Trainer interface {
	Name() string  // "builtin", "fal"
	Model() string // the model id recorded on the job
	Train(ctx context.Context, run *Run) (*Output, error)
}

// Output is what a trainer produced: files in the run's folder, copied into storage by the
// service.
type Output struct {
	Weights Artifact
	Config  *Artifact       // optional
	Profile *engine.Profile // the built-in engine's style; nil for other trainers
	// RemoteURL is the provider's own address of the weights, kept in the job's result
	// for generating with them at that provider; empty for the built-in trainer.
	RemoteURL string
}

// Artifact is one produced file.
type Artifact struct {
	Name string // the file name offered for download
	Path string // where the trainer wrote it, inside Run.Dir
}

// Deps are what the service needs.
type Deps struct {
	DB       *database.DB
	Jobs     *job.Store
	Credits  *credit.Service
	Uploads  *upload.Service
	Blobs    blob.Store
	Trainers []Trainer // the first is used for new trainings
	TempDir  string    // parent of each run's private folder
	Notify   func()    // wakes the job workers
	// Hints, when not nil, records each provider request so that the provider's webhook
	// can mark it done, and tells a waiting trainer so (FAL_WEBHOOKS); nil: polling only.
	Hints Hints
	Now   func() time.Time
	Log   *slog.Logger
}

// Hints is where verified provider webhooks leave their mark; the generation service is
// one. A webhook only hints: the trainer still asks the provider for the result.
type Hints interface {
	// TrackRequest records the provider's request id of a training job.
	TrackRequest(ctx context.Context, jobID, provider, requestID string) error
	// Notified reports whether a webhook said the job's request is done.
	Notified(ctx context.Context, jobID string) bool
}

// Service starts, runs and reports trainings.
type Service struct {
	Deps
	trainers map[string]Trainer
}

// New returns a training service.
func New(d Deps) (*Service, error) {
	if len(d.Trainers) == 0 {
		return nil, errors.New("training: no trainer configured")
	}
	if err := os.MkdirAll(d.TempDir, 0o700); err != nil {
		return nil, fmt.Errorf("create training folder: %w", err)
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Notify == nil {
		d.Notify = func() {}
	}
	s := &Service{Deps: d, trainers: map[string]Trainer{}}
	for _, t := range d.Trainers {
		s.trainers[t.Name()] = t
	}
	return s, nil
}

// Backend returns the name of the trainer new trainings use.
func (s *Service) Backend() string { return s.Trainers[0].Name() }

// Request is the body of POST /api/training/start. Images come either as upload ids or as
// the batch id of one uploaded archive. Absent options take FAL's defaults.
type Request struct {
	UploadIDs   []string `json:"upload_ids"`
	ZipID       string   `json:"zip_id"`
	TriggerWord string   `json:"trigger_word"`
	Steps       *int     `json:"steps"`
	CreateMasks *bool    `json:"create_masks"`
	IsStyle     *bool    `json:"is_style"`
}

// Params are checked training options.
type Params struct {
	TriggerWord string `json:"trigger_word"`
	Steps       int    `json:"steps"`
	CreateMasks bool   `json:"create_masks"`
	IsStyle     bool   `json:"is_style"`
}

// Check validates the options of r. Every error names its field.
func (r *Request) Check() (*Params, error) {
	p := &Params{TriggerWord: r.TriggerWord, Steps: DefaultSteps, CreateMasks: true}
	if !triggerPattern.MatchString(p.TriggerWord) {
		return nil, fault.Field("trigger_word", "The trigger word must be 2 to 32 letters, "+
			"digits, underscores or hyphens, such as my_style.")
	}
	if r.Steps != nil {
		p.Steps = *r.Steps
	}
	if p.Steps < MinSteps || p.Steps > MaxSteps {
		return nil, fault.Field("steps", fmt.Sprintf("steps must be a whole number from %d "+
			"to %d.", MinSteps, MaxSteps))
	}
	if r.CreateMasks != nil {
		p.CreateMasks = *r.CreateMasks
	}
	if r.IsStyle != nil {
		p.IsStyle = *r.IsStyle
	}
	return p, nil
}

// Started is a queued training with what it cost.
type Started struct {
	Training  *Training
	Job       *job.Job
	Cost      credit.Milli
	Remaining credit.Milli
}

// Start checks r, reserves the training's cost and queues its job, in one transaction.
func (s *Service) Start(ctx context.Context, userID int64, r *Request) (*Started, error) {
	p, err := r.Check()
	if err != nil {
		return nil, err
	}
	images, err := s.trainingSet(ctx, userID, r)
	if err != nil {
		return nil, err
	}
	cost, err := s.Credits.Cost(ctx, credit.FeatureTraining)
	if err != nil {
		return nil, fmt.Errorf("training cost: %w", err)
	}

	trainer := s.Trainers[0]
	input, _ := json.Marshal(p)
	j := &job.Job{ID: job.NewID(), UserID: userID, Kind: Kind, Provider: trainer.Name(),
		Model: trainer.Model(), Input: string(input), CostReserved: int64(cost)}
	t := &Training{ID: j.ID, UserID: userID, Backend: trainer.Name(),
		TriggerWord: p.TriggerWord, Steps: p.Steps, CreateMasks: p.CreateMasks,
		IsStyle: p.IsStyle, ImageCount: len(images), CreatedAt: s.Now().UnixMilli()}
	st := &Started{Training: t, Job: j, Cost: cost}
	err = s.DB.Tx(ctx, func(tx *sqlx.Tx) error {
		if err := s.Jobs.Insert(ctx, tx, j); err != nil {
			return err
		}
		if err := insert(ctx, tx, t, images); err != nil {
			return err
		}
		st.Remaining, err = s.Credits.Reserve(ctx, tx, userID, cost, j.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.Notify()
	return st, nil
}

// trainingSet finds the uploads a request names and checks their number.
func (s *Service) trainingSet(ctx context.Context, userID int64,
	r *Request) ([]*upload.Upload, error) {
	var images []*upload.Upload
	var err error
	switch {
	case len(r.UploadIDs) > 0 && r.ZipID != "":
		return nil, fault.Field("upload_ids", "Send either upload_ids or zip_id, not both.")
	case r.ZipID != "":
		images, err = s.Uploads.Batch(ctx, userID, r.ZipID)
	case len(r.UploadIDs) > MaxImages:
		return nil, tooMany(len(r.UploadIDs))
	default:
		images, err = s.Uploads.GetMany(ctx, userID, r.UploadIDs)
	}
	if err != nil {
		return nil, err
	}

	if len(images) < MinImages {
		return nil, fault.Field("upload_ids", fmt.Sprintf("A training needs at least %d "+
			"images; %d were given. Upload more pictures of the style.", MinImages,
			len(images)))
	}
	if len(images) > MaxImages {
		return nil, tooMany(len(images))
	}
	return images, nil
}

func tooMany(n int) error {
	return fault.Field("upload_ids", fmt.Sprintf("A training takes at most %d images; %d "+
		"were given. Choose your best %d.", MaxImages, n, MaxImages))
}
