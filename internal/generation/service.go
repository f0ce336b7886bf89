package generation

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sketchmaker/sketchmaker/internal/blob"
	"github.com/sketchmaker/sketchmaker/internal/credit"
	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/engine"
	"github.com/sketchmaker/sketchmaker/internal/gallery"
	"github.com/sketchmaker/sketchmaker/internal/job"
	"github.com/sketchmaker/sketchmaker/internal/media"
	"github.com/sketchmaker/sketchmaker/internal/provider"
)

// KindImage is the job kind of text-to-image generation.
const KindImage = "image"

// ThumbSide is the longest side of gallery thumbnails.
const ThumbSide = 256

// Service queues generation jobs and runs them.
type Service struct {
	db      *database.DB
	jobs    *job.Store
	credits *credit.Service
	gallery *gallery.Gallery
	blobs   blob.Store
	notify  func()
	now     func() time.Time
	policy  Policy // nil: every available model, at the feature's price

	// providers runs the hosted and self-hosted models (runprovider.go); nil: only the
	// built-in engine.
	providers *provider.Registry
	log       *slog.Logger

	// styles finds a person's trained styles for the built-in engine (styles.go); nil:
	// none.
	styles StyleSource
}

// New returns a generation service. notify wakes the job workers after a submission.
func New(db *database.DB, jobs *job.Store, credits *credit.Service, g *gallery.Gallery,
	blobs blob.Store, notify func(), now func() time.Time) *Service {
	return &Service{db: db, jobs: jobs, credits: credits, gallery: g, blobs: blobs,
		notify: notify, now: now}
}

// RandomSeed returns a seed from the system's random source.
func RandomSeed() uint32 {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return binary.LittleEndian.Uint32(b[:])
}

// Submission is a queued job with what it cost.
type Submission struct {
	Job       *job.Job
	Cost      credit.Milli
	Remaining credit.Milli
}

// Submit reserves the credits for p and queues its job, in one transaction: either both
// happen or neither does. While the provider settings cannot be read, it queues nothing
// and answers an Unavailable error with ErrUnchecked in its chain.
func (s *Service) Submit(ctx context.Context, userID int64, p *Params) (*Submission, error) {
	sub, err := s.submit(ctx, userID, p)
	if errors.Is(err, ErrUnchecked) && s.log != nil {
		s.log.Warn("submission refused: provider settings unread", "user_id", userID,
			"model", p.Model, "error", err)
	}
	return sub, err
}

// submit is Submit without the log.
func (s *Service) submit(ctx context.Context, userID int64, p *Params) (*Submission, error) {
	if err := s.applyPolicy(ctx, userID, p); err != nil {
		return nil, err
	}
	m, err := lookupModel(ctx, p.Model)
	if err != nil {
		return nil, err
	}
	if !m.Offline {
		// A model makes at most as many images per request as its provider documents;
		// the reservation covers exactly those.
		p.NumImages = m.Def.Images(p.NumImages)
	}
	unit, err := s.unitPrice(ctx, m)
	if err != nil {
		return nil, err
	}
	input, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode job input: %w", err)
	}

	cost := unit * credit.Milli(p.NumImages)
	j := &job.Job{ID: job.NewID(), UserID: userID, Kind: KindImage, Provider: m.Provider,
		Model: m.ID, Input: string(input), CostReserved: int64(cost)}
	sub := &Submission{Job: j, Cost: cost}
	err = s.db.Tx(ctx, func(tx *sqlx.Tx) error {
		if err := s.jobs.Insert(ctx, tx, j); err != nil {
			return err
		}
		sub.Remaining, err = s.credits.Reserve(ctx, tx, userID, cost, j.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.notify()
	return sub, nil
}

// Result is what a finished image job stored.
type Result struct {
	Images []string `json:"images"`
}

// Wait polls job id until it is done or ctx ends, and returns it as it then stands.
func (s *Service) Wait(ctx context.Context, id string) (*job.Job, error) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		j, err := s.jobs.Get(ctx, id)
		if err != nil || j.Done() {
			return j, err
		}
		select {
		case <-ctx.Done():
			return j, nil
		case <-tick.C:
		}
	}
}

// Run renders the job's images with the built-in engine and stores them in the gallery.
// A job resumed after its worker died keeps the images the earlier attempt stored and
// renders only the rest.
func (s *Service) Run(ctx context.Context, j *job.Job, report func(int, string)) (
	job.Outcome, error) {
	var p Params
	if err := json.Unmarshal([]byte(j.Input), &p); err != nil {
		return job.Outcome{}, fmt.Errorf("decode job input: %w", err)
	}
	if j.Provider != "" && j.Provider != "builtin" {
		return s.runProvider(ctx, j, &p, report)
	}
	unit := j.CostReserved / int64(max(p.NumImages, 1))
	stored := map[int64]gallery.Image{}
	if j.Attempts > 1 {
		var err error
		if stored, err = s.storedImages(ctx, j.UserID, j.ID); err != nil {
			return job.Outcome{}, err
		}
	}

	var res Result
	for i := 0; i < p.NumImages; i++ {
		if err := ctx.Err(); err != nil {
			return s.outcome(res, unit), err
		}
		if im, ok := stored[int64(p.Seed+uint32(i))]; ok {
			res.Images = append(res.Images, im.ID)
			continue
		}
		report(100*i/p.NumImages, fmt.Sprintf("Rendering image %d of %d", i+1, p.NumImages))
		id, err := s.renderOne(ctx, j, &p, uint32(i))
		if err != nil {
			return s.outcome(res, unit), err
		}
		res.Images = append(res.Images, id)
	}
	return s.outcome(res, unit), nil
}

// storedImages returns, by seed, the images already stored for the job jobID, such as those
// of an attempt whose worker died.
func (s *Service) storedImages(ctx context.Context, userID int64, jobID string) (
	map[int64]gallery.Image, error) {
	out := map[int64]gallery.Image{}
	pg, err := s.gallery.List(ctx, userID, gallery.Filter{JobID: jobID}, 1, 100)
	if err != nil {
		return nil, fmt.Errorf("images of earlier attempts: %w", err)
	}
	for _, im := range pg.Images {
		out[im.Seed] = im
	}
	return out, nil
}

func (s *Service) outcome(res Result, unit int64) job.Outcome {
	b, _ := json.Marshal(res)
	return job.Outcome{Result: string(b), Used: unit * int64(len(res.Images))}
}

// renderOne renders, encodes and stores image n of a job.
func (s *Service) renderOne(ctx context.Context, j *job.Job, p *Params, n uint32) (
	string, error) {
	seed := p.Seed + n
	prof, err := s.styleProfile(ctx, j.UserID, p.Prompt)
	if err != nil {
		return "", err
	}
	img, err := engine.Render(engine.Params{Prompt: p.Prompt, Style: p.Style,
		Width: p.Width, Height: p.Height, Seed: seed, Profile: prof})
	if err != nil {
		return "", fmt.Errorf("render: %w", err)
	}

	format, err := media.ParseFormat(p.Format)
	if err != nil {
		return "", err
	}
	full, thumb, err := EncodePicture(img, format, 90)
	if err != nil {
		return "", err
	}

	im := &gallery.Image{
		ID: job.NewID(), UserID: j.UserID, JobID: j.ID, Prompt: p.Prompt,
		NegativePrompt: p.NegativePrompt, Model: p.Model, Engine: "builtin",
		Style: p.Style, Width: p.Width, Height: p.Height, Seed: int64(seed),
		Format: string(format), SizeBytes: int64(full.Len()),
		BlobKey:   blob.NewKey("images", format.Ext()),
		ThumbKey:  blob.NewKey("thumbs", ".webp"),
		CreatedAt: s.now().UnixMilli(),
	}
	return im.ID, s.keep(ctx, im, full, thumb)
}

// Settle charges what the job delivered and refunds the rest of its reservation.
func (s *Service) Settle(ctx context.Context, j *job.Job) error {
	used := credit.Milli(j.CostSettled)
	if j.Status == job.Canceled {
		used = 0
	}
	err := s.credits.Settle(ctx, j.UserID, j.ID, credit.Milli(j.CostReserved), used)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("settle job: %w", err)
	}

	// A job refunded in full keeps nothing: drop what an interrupted or canceled attempt
	// had stored, so a refund never comes with free images.
	if used == 0 && j.Status != job.Succeeded {
		stored, err := s.storedImages(ctx, j.UserID, j.ID)
		if err != nil {
			return err
		}
		for _, im := range stored {
			if err := s.gallery.Delete(ctx, j.UserID, im.ID); err != nil {
				return fmt.Errorf("drop images of a refunded job: %w", err)
			}
		}
	}
	return nil
}
