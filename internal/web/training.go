package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/apitoken"
	"github.com/sketchmaker/sketchmaker/internal/audit"
	"github.com/sketchmaker/sketchmaker/internal/credit"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/training"
	"github.com/sketchmaker/sketchmaker/internal/upload"
)

// uploadPaths are the routes that receive files. Their bodies may be as large as
// MAX_CONTENT_LENGTH instead of the small form and JSON limits.
var uploadPaths = map[string]bool{"/api/training/upload": true}

// uploadLimit returns the body limit of an upload request, and false for any other
// request. Only a request that carries its CSRF token in a header, or an API token, gets
// the larger limit: the CSRF check would otherwise parse a multipart body to find the
// token, reading a whole upload before anyone is authorised. Both are checked before the
// body is read.
func (s *Server) uploadLimit(r *http.Request) (int64, bool) {
	if r.Method != http.MethodPost || !uploadPaths[r.URL.Path] {
		return 0, false
	}
	secret, bearer := bearerToken(r)
	if r.Header.Get("X-CSRFToken") == "" && r.Header.Get("X-CSRF-Token") == "" &&
		!(bearer && apitoken.Looks(secret)) {
		return 0, false
	}
	return s.Config.MaxUploadBytes, true
}

// maxUploadFiles is the most file parts one upload request may carry.
const maxUploadFiles = training.MaxImages

// trainingHistory is how many trainings the training page lists.
const trainingHistory = 50

// errNoStyles refuses uploads and trainings to a user whose plan does not include them.
var errNoStyles = fault.New(fault.Forbidden, "Your plan does not include style training. "+
	"Ask an administrator for a plan with style training.")

// mayTrain returns errNoStyles when the caller's plan does not include style training.
// The styles trained before stay the caller's to use and download.
func (s *Server) mayTrain(r *http.Request) error {
	ok, err := s.planIncludes(r.Context(), state(r).user, credit.FeatureStyles)
	if err != nil {
		return err
	}
	if !ok {
		return errNoStyles
	}
	return nil
}

func (s *Server) showTrainingPage(w http.ResponseWriter, r *http.Request) {
	u := state(r).user
	allowed, err := s.planIncludes(r.Context(), u, credit.FeatureStyles)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	list, err := s.Training.List(r.Context(), u.ID, trainingHistory)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	cost, err := s.Credits.Cost(r.Context(), credit.FeatureTraining)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	views := make([]trainingView, 0, len(list))
	for _, st := range list {
		views = append(views, s.trainingView(st))
	}
	s.render(w, r, http.StatusOK, "training", "Style training", map[string]any{
		"History": views, "Cost": cost.String(), "Backend": s.Training.Backend(),
		"MinImages": training.MinImages, "MaxImages": training.MaxImages,
		"MinSteps": training.MinSteps, "MaxSteps": training.MaxSteps,
		"MaxMB": s.Config.MaxUploadBytes >> 20, "Allowed": allowed,
	})
}

// uploadView is one accepted upload in JSON answers.
type uploadView struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Format       string `json:"format"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	ThumbnailURL string `json:"thumbnail_url"`
	PreviewURL   string `json:"preview_url"`
}

// uploadTraining answers POST /api/training/upload: every file part, an image or one ZIP
// archive, is streamed into the upload pipeline as it arrives. When one is refused, the
// ones this request already stored are deleted, so a request is kept whole or not at all.
func (s *Server) uploadTraining(w http.ResponseWriter, r *http.Request) {
	if err := s.mayTrain(r); err != nil {
		w.Header().Set("Connection", "close") // the body is not wanted
		s.fail(w, r, err)
		return
	}
	mr, err := r.MultipartReader()
	if err != nil {
		s.fail(w, r, fault.New(fault.Unsupported, "Send the images as multipart/form-data: "+
			"one file part per image, or one ZIP archive."))
		return
	}

	u := state(r).user
	var got []*upload.Upload
	batch := ""
	refuse := func(err error) {
		// Whatever the client is still sending is not wanted: closing the connection after
		// the answer keeps the server from reading the rest of the body to reuse it.
		w.Header().Set("Connection", "close")
		// The cleanup must happen even when the client has gone away.
		ctx := context.WithoutCancel(r.Context())
		if derr := s.Uploads.Discard(ctx, u.ID, uploadIDs(got)); derr != nil {
			s.Log.Error("uploads of a refused request not deleted", "error", derr)
		}
		if errors.Is(err, upload.ErrInfected) {
			s.audit(r, audit.Event{Type: audit.SuspiciousContent, UserID: u.ID,
				Details: map[string]any{"reason": "malware_upload"}})
		}
		s.fail(w, r, err)
	}

	for files := 0; ; {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			refuse(fault.Wrap(fault.Invalid, "The upload is not valid multipart/form-data.",
				err))
			return
		}
		if part.FileName() == "" {
			part.Close() // a plain form field; nothing to keep
			continue
		}
		if files++; files > maxUploadFiles {
			refuse(fault.New(fault.Invalid, "Send at most 20 files in one request."))
			return
		}

		acc, err := s.Uploads.Accept(r.Context(), u.ID, part.FileName(), part)
		part.Close()
		if err == nil && acc.Batch != "" && batch != "" {
			got = append(got, acc.Uploads...)
			err = fault.New(fault.Invalid, "Send one ZIP archive per request.")
		}
		if err != nil {
			refuse(err)
			return
		}
		got = append(got, acc.Uploads...)
		if acc.Batch != "" {
			batch = acc.Batch
		}
	}

	if len(got) == 0 {
		s.fail(w, r, fault.New(fault.Invalid, "Choose at least one image or ZIP archive to "+
			"upload."))
		return
	}
	views := make([]uploadView, 0, len(got))
	for _, up := range got {
		views = append(views, uploadView{ID: up.ID, Name: up.DisplayName, Format: up.Format,
			Width: up.Width, Height: up.Height, ThumbnailURL: "/uploads/" + up.ID + "/thumb",
			PreviewURL: "/uploads/" + up.ID + "/thumb?size=768"})
	}
	body := map[string]any{"success": true, "uploads": views, "upload_ids": uploadIDs(got)}
	if batch != "" {
		body["zip_id"] = batch
	}
	writeJSON(w, http.StatusOK, body)
}

func uploadIDs(ups []*upload.Upload) []string {
	out := make([]string, len(ups))
	for i, u := range ups {
		out[i] = u.ID
	}
	return out
}

// serveUploadThumb serves an upload's thumbnail (256 px) or, with ?size=768, its preview,
// to its owner.
func (s *Server) serveUploadThumb(w http.ResponseWriter, r *http.Request) {
	up, err := s.Uploads.Get(r.Context(), state(r).user.ID, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	size := upload.Thumb
	if r.URL.Query().Get("size") == "768" {
		size = upload.Preview
	}
	f, _, err := s.Uploads.Open(r.Context(), up, size)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "image/webp")
	w.Header().Set("Cache-Control", "private, max-age=86400")
	http.ServeContent(w, r, "", time.UnixMilli(up.CreatedAt), f)
}

// startTraining answers POST /api/training/start. RATE_LIMIT_TRAINING counts this route.
func (s *Server) startTraining(w http.ResponseWriter, r *http.Request) {
	if err := s.mayTrain(r); err != nil {
		s.fail(w, r, err)
		return
	}
	var req training.Request
	if err := decodeJSON(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	st, err := s.Training.Start(r.Context(), state(r).user.ID, &req)
	if err != nil {
		s.fail(w, r, err)
		return
	}

	view := s.trainingView(&training.Status{Training: st.Training, Job: st.Job})
	writeJSON(w, http.StatusAccepted, map[string]any{
		"success": true, "training_id": st.Job.ID, "job_id": st.Job.ID,
		"status": st.Job.Status, "status_url": view.StatusURL, "training": view,
		"credits_reserved": creditsOf(st.Cost), "credits_remaining": creditsOf(st.Remaining),
	})
}

// trainingView is a training as its owner reads it, with the original's field names.
type trainingView struct {
	ID              string   `json:"id"`
	JobID           string   `json:"job_id"`
	Status          string   `json:"status"`
	Progress        int      `json:"progress"`
	Message         string   `json:"message"`
	Logs            []string `json:"logs"`
	Error           string   `json:"error,omitempty"`
	TriggerWord     string   `json:"trigger_word"`
	Steps           int      `json:"steps"`
	CreateMasks     bool     `json:"create_masks"`
	IsStyle         bool     `json:"is_style"`
	Backend         string   `json:"backend"`
	ImageCount      int      `json:"image_count"`
	CreatedAt       string   `json:"created_at"`
	CompletedAt     *string  `json:"completed_at"`
	DurationSeconds float64  `json:"duration_seconds"`
	CreditsUsed     float64  `json:"credits_used"`
	LoraURL         string   `json:"lora_url,omitempty"`
	ConfigURL       string   `json:"config_url,omitempty"`
	StatusURL       string   `json:"status_url"`
}

func (s *Server) trainingView(st *training.Status) trainingView {
	j := st.Job
	v := trainingView{ID: st.ID, JobID: j.ID, Status: j.Status, Progress: j.Progress,
		Message: j.Message, Logs: st.LogLines(), Error: j.Error, TriggerWord: st.TriggerWord,
		Steps: st.Steps, CreateMasks: st.CreateMasks, IsStyle: st.IsStyle,
		Backend: st.Backend, ImageCount: st.ImageCount,
		CreatedAt:       time.UnixMilli(st.CreatedAt).UTC().Format(time.RFC3339),
		DurationSeconds: st.Duration(s.Now()).Seconds(),
		CreditsUsed:     float64(j.CostSettled) / 1000,
		StatusURL:       "/api/training/status/" + st.ID}
	if j.Done() && j.FinishedAt > 0 {
		done := time.UnixMilli(j.FinishedAt).UTC().Format(time.RFC3339)
		v.CompletedAt = &done
	}
	if st.Done() {
		v.LoraURL = "/api/training/weights/" + st.ID
		if st.ConfigKey != "" {
			v.ConfigURL = "/api/training/config/" + st.ID
		}
	}
	return v
}

func (s *Server) trainingStatus(w http.ResponseWriter, r *http.Request) {
	st, err := s.Training.Get(r.Context(), state(r).user.ID, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.trainingView(st))
}

// trainingStyles lists the signed-in user's finished styles for the generator.
func (s *Server) trainingStyles(w http.ResponseWriter, r *http.Request) {
	styles, err := s.Training.Styles(r.Context(), state(r).user.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"styles": styles})
}

func (s *Server) trainingWeights(w http.ResponseWriter, r *http.Request) {
	s.serveTrainingFile(w, r, training.Weights)
}

func (s *Server) trainingConfig(w http.ResponseWriter, r *http.Request) {
	s.serveTrainingFile(w, r, training.Config)
}

// serveTrainingFile sends a finished training's file to its owner; anyone else gets 404.
// The file name comes from the trigger word, which holds only [A-Za-z0-9_-].
func (s *Server) serveTrainingFile(w http.ResponseWriter, r *http.Request,
	which training.File) {
	f, _, name, err := s.Training.Open(r.Context(), state(r).user.ID, r.PathValue("id"), which)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer f.Close()

	ctype := "application/octet-stream"
	if strings.EqualFold(path.Ext(name), ".json") {
		ctype = "application/json"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "private, no-cache")
	http.ServeContent(w, r, "", time.Time{}, f)
}
