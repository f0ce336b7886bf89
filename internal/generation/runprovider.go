package generation

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"sync"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/blob"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/gallery"
	"github.com/sketchmaker/sketchmaker/internal/job"
	"github.com/sketchmaker/sketchmaker/internal/media"
	"github.com/sketchmaker/sketchmaker/internal/provider"
)

// UseProviders lets the service run hosted and self-hosted models through r. Call it while
// wiring, before the workers start.
func (s *Service) UseProviders(r *provider.Registry, log *slog.Logger) {
	s.providers, s.log = r, log
}

// errNoProviders answers a provider job on a server without provider support.
var errNoProviders = fault.New(fault.Unavailable, "This model's provider is not "+
	"configured on this server any more.")

// runProvider generates the job's images at its provider: it waits for one of the
// provider's slots, submits the request (or follows the one an earlier attempt submitted),
// and copies every checked picture into the gallery before the job counts as done.
func (s *Service) runProvider(ctx context.Context, j *job.Job, p *Params,
	report func(int, string)) (job.Outcome, error) {
	unit := j.CostReserved / int64(max(p.NumImages, 1))
	none := s.outcome(Result{}, unit)
	m, img, err := s.imageProvider(ctx, j)
	if err != nil {
		return none, delivered(err, 0, p.NumImages)
	}

	rep := &throttle{report: report, now: time.Now}
	release, err := s.providers.Acquire(ctx, j.Provider, func() {
		rep.send(0, "Waiting for a free slot at the provider", true)
	})
	if err != nil {
		return none, err
	}
	defer release()

	pics, handle, err := s.generate(ctx, j, p, m, img, rep)
	if ctx.Err() != nil {
		s.cancelAtProvider(ctx, j, img, handle)
	}
	res, serr := s.storePictures(ctx, j, p, pics)
	if err == nil {
		err = serr
	}
	if err != nil {
		return s.outcome(res, unit), delivered(err, len(res.Images), p.NumImages)
	}
	rep.send(100, "Done", true)
	return s.outcome(res, unit), nil
}

// imageProvider returns the job's model and its provider. A provider that is not
// configured fails the job; one whose settings could not be read leaves the job for a
// later attempt (job.ErrLater).
func (s *Service) imageProvider(ctx context.Context, j *job.Job) (Model, provider.Image,
	error) {
	if s.providers == nil {
		return Model{}, nil, errNoProviders
	}
	m, err := lookupModel(ctx, j.Model)
	if err != nil {
		return m, nil, lookupError(ctx, err)
	}

	// The registry reads the settings once more, and they may have become unreadable
	// since the check.
	img, err := s.providers.Image(ctx, j.Provider)
	switch {
	case err == nil:
		return m, img, nil
	case ctx.Err() != nil:
		return m, nil, ctx.Err()
	case errors.Is(err, provider.ErrUnread):
		return m, nil, job.Later(unchecked(j.Provider, err))
	}
	return m, nil, err
}

// lookupError classifies a failed model lookup of a running job: the job's own end
// (canceled, stopped or out of time) as it is, unread provider settings as passing, and
// anything else as a provider that is not configured.
func lookupError(ctx context.Context, err error) error {
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, ErrUnchecked):
		return job.Later(err)
	}
	return fault.Wrap(errNoProviders.Kind, errNoProviders.Message, err)
}

// generate runs the provider call and returns its pictures and the request's handle.
func (s *Service) generate(ctx context.Context, j *job.Job, p *Params, m Model,
	img provider.Image, rep *throttle) ([]provider.Picture, string, error) {
	handle, err := s.requestHandle(ctx, j.ID)
	if err != nil {
		return nil, "", err
	}
	req := providerRequest(p)
	if req.Loras, err = s.loras(ctx, j.UserID, p.Prompt, m); err != nil {
		return nil, "", err
	}
	var mu sync.Mutex
	call := &provider.Call{
		Model: m.Def, Request: req, Handle: handle,
		Submitted: func(h, requestID string) error {
			mu.Lock()
			handle = h
			mu.Unlock()
			return s.saveRequest(ctx, j, h, requestID)
		},
		Progress: func(pct int, msg string) { rep.send(pct*95/100, msg, false) },
	}
	if s.providers.WebhooksEnabled() {
		call.Notified = func() bool { return s.notified(ctx, j.ID) }
	}
	pics, err := img.Generate(ctx, call)
	mu.Lock()
	defer mu.Unlock()
	return pics, handle, err
}

// providerRequest is the checked request in the providers' terms, without trained styles.
func providerRequest(p *Params) provider.Request {
	return provider.Request{Prompt: p.Prompt, NegativePrompt: p.NegativePrompt,
		Style: p.Style, SizeName: p.SizeName, Width: p.Width, Height: p.Height,
		Steps: p.Steps, Guidance: p.Guidance, Seed: p.Seed, NumImages: p.NumImages,
		Format: p.Format}
}

// cancelAtProvider asks the provider to stop when the person canceled the job or the job
// ran out of time; a worker that is merely shutting down leaves the request running for
// the next one to follow.
func (s *Service) cancelAtProvider(ctx context.Context, j *job.Job, img provider.Image,
	handle string) {
	bg := context.WithoutCancel(ctx)
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		cur, err := s.jobs.Get(bg, j.ID)
		if err != nil || cur.Status != job.Canceled {
			return
		}
	}
	cctx, cancel := context.WithTimeout(bg, 15*time.Second)
	defer cancel()
	if err := img.Cancel(cctx, handle); err != nil && s.log != nil {
		s.log.Warn("provider cancel failed", "job_id", j.ID, "provider", j.Provider,
			"error", err)
	}
}

// storePictures re-encodes each picture in the format asked for (so no byte of the
// provider's file is kept), makes its thumbnail and records it in the gallery. Pictures an
// earlier attempt already stored (same seed) are not stored twice.
func (s *Service) storePictures(ctx context.Context, j *job.Job, p *Params,
	pics []provider.Picture) (Result, error) {
	var res Result
	stored, err := s.storedImages(context.WithoutCancel(ctx), j.UserID, j.ID)
	if err != nil {
		return res, err
	}
	for _, pic := range pics[:min(len(pics), p.NumImages)] {
		if im, ok := stored[pic.Seed]; ok {
			res.Images = append(res.Images, im.ID)
			continue
		}
		id, err := s.storePicture(context.WithoutCancel(ctx), j, p, pic)
		if err != nil {
			return res, err
		}
		res.Images = append(res.Images, id)
	}
	return res, nil
}

// storePicture encodes and stores one picture.
func (s *Service) storePicture(ctx context.Context, j *job.Job, p *Params,
	pic provider.Picture) (string, error) {
	format, err := media.ParseFormat(p.Format)
	if err != nil {
		return "", err
	}
	full, thumb, err := EncodePicture(pic.Image, format, 0)
	if err != nil {
		return "", err
	}

	b := pic.Image.Bounds()
	im := &gallery.Image{
		ID: job.NewID(), UserID: j.UserID, JobID: j.ID, Prompt: p.Prompt,
		NegativePrompt: p.NegativePrompt, Model: p.Model, Engine: j.Provider,
		Style: p.Style, Width: b.Dx(), Height: b.Dy(), Seed: pic.Seed,
		Format: string(format), SizeBytes: int64(full.Len()),
		BlobKey:   blob.NewKey("images", format.Ext()),
		ThumbKey:  blob.NewKey("thumbs", ".webp"),
		CreatedAt: s.now().UnixMilli(),
	}
	return im.ID, s.keep(ctx, im, full, thumb)
}

// EncodePicture makes a picture ready to store: its file in format at quality (zero for
// the format's default) and its WebP thumbnail. The two are encoded side by side: the
// re-encode and the thumbnail are most of a provider picture's post-processing, and a
// picture's latency halves where a core is free (issue 8).
func EncodePicture(img image.Image, format media.Format, quality int) (full,
	thumb *bytes.Buffer, err error) {
	full, thumb = new(bytes.Buffer), new(bytes.Buffer)
	var thumbErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		thumbErr = media.Encode(thumb, media.Thumbnail(img, ThumbSide), media.WebP, 80)
	})
	err = media.Encode(full, img, format, quality)
	wg.Wait()
	if err != nil {
		return nil, nil, fmt.Errorf("encode image: %w", err)
	}
	if thumbErr != nil {
		return nil, nil, fmt.Errorf("encode thumbnail: %w", thumbErr)
	}
	return full, thumb, nil
}

// keep writes an image's files and record, removing the files when the record fails.
func (s *Service) keep(ctx context.Context, im *gallery.Image, full, thumb *bytes.Buffer) error {
	if err := s.blobs.Put(ctx, im.BlobKey, full); err != nil {
		return err
	}
	if err := s.blobs.Put(ctx, im.ThumbKey, thumb); err != nil {
		_ = s.blobs.Delete(ctx, im.BlobKey)
		return err
	}
	if err := s.gallery.Add(ctx, im); err != nil {
		_ = s.blobs.Delete(ctx, im.BlobKey)
		_ = s.blobs.Delete(ctx, im.ThumbKey)
		return err
	}
	return nil
}

// delivered adds to a provider error what the person was charged.
func delivered(err error, got, want int) error {
	fe := fault.As(err)
	if fe == nil && (errors.Is(err, context.Canceled) ||
		errors.Is(err, context.DeadlineExceeded)) {
		return err // the job's own end: canceled, stopped or out of time
	}
	if fe == nil {
		fe = fault.Wrap(fault.Internal, "The image could not be generated.", err)
	}
	msg := fe.Message + " Your credits were refunded."
	if got > 0 {
		msg = fmt.Sprintf("%s %d of %d images were delivered; you were charged for those "+
			"only.", fe.Message, got, want)
	}
	return fault.Wrap(fe.Kind, msg, err)
}

// throttle passes progress on to the job, but not more than the page needs: a new message
// at once, a new percentage at most every two seconds, and the same state every three
// seconds (which keeps the job's lease and notices a cancellation soon). Each is a write to
// the jobs table; with hundreds of jobs in flight, a percentage a second was most of the
// database's writes (issue 8).
type throttle struct {
	mu     sync.Mutex
	report func(int, string)
	now    func() time.Time
	last   time.Time
	pct    int
	msg    string
}

func (t *throttle) send(pct int, msg string, force bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	since := t.now().Sub(t.last)
	switch {
	case force, msg != t.msg, pct != t.pct && since >= 2*time.Second, since >= 3*time.Second:
	default:
		return
	}
	t.pct, t.msg, t.last = pct, msg, t.now()
	t.report(pct, msg)
}

// requestHandle returns the handle of the request an earlier attempt submitted, or "".
func (s *Service) requestHandle(ctx context.Context, jobID string) (string, error) {
	var h string
	q := s.db.Rebind(`SELECT handle FROM provider_requests WHERE job_id = ?`)
	err := s.db.GetContext(ctx, &h, q, jobID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read provider request: %w", err)
	}
	return h, nil
}

// saveRequest records the request the provider accepted for job j, before waiting for it.
func (s *Service) saveRequest(ctx context.Context, j *job.Job, handle, requestID string) error {
	q := s.db.Rebind(`INSERT INTO provider_requests (job_id, provider, request_id, handle,
		created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (job_id) DO UPDATE SET provider = excluded.provider,
		request_id = excluded.request_id, handle = excluded.handle, notified_status = '',
		notified_at = 0`)
	_, err := s.db.ExecContext(context.WithoutCancel(ctx), q, j.ID, j.Provider, requestID,
		handle, s.now().UnixMilli())
	if err != nil {
		return fmt.Errorf("save provider request: %w", err)
	}
	return s.jobs.SetProviderRequest(context.WithoutCancel(ctx), j.ID, requestID)
}

// notified reports whether a webhook said the job's request is done.
func (s *Service) notified(ctx context.Context, jobID string) bool {
	var at int64
	q := s.db.Rebind(`SELECT notified_at FROM provider_requests WHERE job_id = ?`)
	return s.db.GetContext(ctx, &at, q, jobID) == nil && at > 0
}

// errBadWebhook answers a webhook whose signature, timestamp or body is refused.
var errBadWebhook = fault.New(fault.Unauthorized, "The webhook signature is not valid.")

// FALWebhook verifies a webhook from FAL and marks its request as done, once: a repeated
// delivery, or one about a request no job knows, changes nothing. It reports whether the
// webhook was new. The worker following the request then fetches the result itself, so
// the webhook's own payload is never trusted as a result.
func (s *Service) FALWebhook(ctx context.Context, h provider.WebhookHeaders, body []byte) (
	bool, error) {
	if s.providers == nil {
		return false, fault.New(fault.NotFound, "Webhooks are not configured.")
	}
	ev, err := s.providers.Webhooks().Verify(ctx, h, body)
	if errors.Is(err, provider.ErrWebhook) {
		return false, fault.Wrap(errBadWebhook.Kind, errBadWebhook.Message, err)
	}
	if err != nil {
		return false, err
	}

	q := s.db.Rebind(`UPDATE provider_requests SET notified_status = ?, notified_at = ?
		WHERE provider = ? AND request_id = ? AND notified_at = 0`)
	res, err := s.db.ExecContext(ctx, q, ev.Status, s.now().UnixMilli(), provider.FAL,
		ev.RequestID)
	if err != nil {
		return false, fmt.Errorf("record webhook: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}
