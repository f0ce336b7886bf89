package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/credit"
	"github.com/sketchmaker/sketchmaker/internal/enhance"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/generation"
	"github.com/sketchmaker/sketchmaker/internal/job"
)

func (s *Server) showDashboardPage(w http.ResponseWriter, r *http.Request) {
	cost, err := s.Credits.Cost(r.Context(), "image_generation")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	models, err := s.offeredModels(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "dashboard", "Studio", map[string]any{
		"Models": models, "Styles": generation.Styles,
		"Sizes": generation.Sizes, "Formats": generation.Formats, "Cost": cost.String(),
		"Enhance": enhance.Fields(), "Unverified": s.needsVerification(r),
	})
}

// syncWait is how long POST /generate/image waits for a job before answering 202 with the
// job id, so that the original's synchronous clients get their images in one call.
const syncWait = 30 * time.Second

// generateBody adds SketchMaker's own field to the original's request.
type generateBody struct {
	generation.Request
	Async bool `json:"async"`
}

func (s *Server) generateImage(w http.ResponseWriter, r *http.Request) {
	if s.needsVerification(r) {
		s.fail(w, r, errVerifyFirst)
		return
	}
	var body generateBody
	if err := decodeJSON(r, &body); err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := body.Check(generation.RandomSeed)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.screenPrompt(r, p.Prompt); err != nil {
		s.fail(w, r, err)
		return
	}

	start := time.Now()
	u := state(r).user
	sub, err := s.Generation.Submit(r.Context(), u.ID, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if body.Async {
		writeJSON(w, http.StatusAccepted, s.jobView(r.Context(), sub.Job))
		return
	}

	ctx, cancel := context.WithTimeout(r.Context(), syncWait)
	defer cancel()
	j, err := s.Generation.Wait(ctx, sub.Job.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !j.Done() {
		writeJSON(w, http.StatusAccepted, s.jobView(r.Context(), j))
		return
	}
	s.writeGenerated(w, r, j, time.Since(start))
}

// writeGenerated answers a finished job in the original's response shape.
func (s *Server) writeGenerated(w http.ResponseWriter, r *http.Request, j *job.Job,
	took time.Duration) {
	view := s.jobView(r.Context(), j)
	if j.Status != job.Succeeded {
		writeJSON(w, http.StatusBadGateway, map[string]any{
			"error": view.Error, "type": "generation_failed", "code": http.StatusBadGateway,
			"job": view, "timestamp": time.Now().UTC().Format(time.RFC3339),
			"request_id": state(r).id,
		})
		return
	}
	balance, err := s.Credits.Balance(r.Context(), j.UserID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"success":           true,
		"job_id":            j.ID,
		"images":            view.Images,
		"credits_used":      float64(j.CostSettled) / 1000,
		"credits_remaining": float64(balance) / 1000,
		"generation_time":   took.Seconds(),
	})
}

// imageView is one image in JSON answers.
type imageView struct {
	ID          string `json:"id"`
	URL         string `json:"url"`
	ThumbURL    string `json:"thumbnail_url"`
	PageURL     string `json:"page_url"`
	Width       int    `json:"width"`
	Height      int    `json:"height"`
	Seed        int64  `json:"seed"`
	Format      string `json:"format"`
	Engine      string `json:"engine"`
	EngineLabel string `json:"engine_label"`
}

// jobView is a job as its owner sees it.
type jobView struct {
	ID            string      `json:"job_id"`
	Status        string      `json:"status"`
	Progress      int         `json:"progress"`
	Message       string      `json:"message,omitempty"`
	QueuePosition int         `json:"queue_position"`
	Error         string      `json:"error,omitempty"`
	Model         string      `json:"model"`
	CreditsUsed   float64     `json:"credits_used"`
	Images        []imageView `json:"images"`
	StatusURL     string      `json:"status_url"`
	EventsURL     string      `json:"events_url"`
}

func (s *Server) jobView(ctx context.Context, j *job.Job) jobView {
	v := jobView{ID: j.ID, Status: j.Status, Progress: j.Progress, Message: j.Message,
		Error: j.Error, Model: j.Model, CreditsUsed: float64(j.CostSettled) / 1000,
		Images:    []imageView{},
		StatusURL: "/api/jobs/" + j.ID, EventsURL: "/api/jobs/" + j.ID + "/events"}
	if pos, err := s.Jobs.QueuePosition(ctx, j); err == nil {
		v.QueuePosition = pos
	}

	var res generation.Result
	if j.Result != "" && json.Unmarshal([]byte(j.Result), &res) == nil {
		for _, id := range res.Images {
			im, err := s.Gallery.Get(ctx, j.UserID, id)
			if err != nil {
				continue // deleted since
			}
			v.Images = append(v.Images, imageView{
				ID: im.ID, URL: "/download/" + im.ID + "/" + im.Format,
				ThumbURL: "/images/" + im.ID + "/thumb", PageURL: "/gallery/" + im.ID,
				Width: im.Width, Height: im.Height, Seed: im.Seed, Format: im.Format,
				Engine: im.Engine, EngineLabel: engineLabel(im.Engine),
			})
		}
	}
	return v
}

// engineLabel names an engine for people; the built-in one is always called offline.
func engineLabel(engine string) string {
	if engine == "builtin" {
		return "Offline engine (built in, not a diffusion model)"
	}
	return engine
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) {
	j, err := s.Jobs.GetForUser(r.Context(), state(r).user.ID, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.jobView(r.Context(), j))
}

// endedText says how a finished job ended, for the refusal to cancel it.
var endedText = map[string]string{
	job.Succeeded: "This job has finished already",
	job.Failed:    "This job has failed already",
	job.Canceled:  "This job was canceled already",
}

func (s *Server) cancelJob(w http.ResponseWriter, r *http.Request) {
	u := state(r).user
	before, canceled, err := s.Jobs.Cancel(r.Context(), u.ID, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !canceled && before.Done() {
		s.fail(w, r, fault.New(fault.Conflict, endedText[before.Status]+
			"; there is nothing to cancel."))
		return
	}
	j, err := s.Jobs.GetForUser(r.Context(), u.ID, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// An image job is refunded at once; other kinds are squared by the pool's recovery,
	// which settles every finished job that has not been.
	if canceled && j.Status == job.Canceled && j.Kind == generation.KindImage {
		if err := s.Generation.Settle(r.Context(), j); err != nil {
			s.fail(w, r, err)
			return
		}
		if err := s.Jobs.MarkSettled(r.Context(), j.ID); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, s.jobView(r.Context(), j))
}

// jobEvents streams a job's progress as server-sent events until it is done. It reads the
// job from the database, so it works whichever instance runs the job.
func (s *Server) jobEvents(w http.ResponseWriter, r *http.Request) {
	u := state(r).user
	j, err := s.Jobs.GetForUser(r.Context(), u.ID, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}

	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Now().Add(15 * time.Minute))

	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	last := ""
	for {
		b, _ := json.Marshal(s.jobView(r.Context(), j))
		if string(b) != last {
			last = string(b)
			fmt.Fprintf(w, "event: progress\ndata: %s\n\n", b)
			if err := rc.Flush(); err != nil {
				return
			}
		}
		if j.Done() {
			fmt.Fprint(w, "event: done\ndata: {}\n\n")
			_ = rc.Flush()
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
		if j, err = s.Jobs.Get(r.Context(), j.ID); err != nil {
			return
		}
	}
}

// creditsOf formats a balance for JSON answers.
func creditsOf(m credit.Milli) float64 { return float64(m) / 1000 }
