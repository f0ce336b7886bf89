// Package fal trains styles on FAL's flux-lora-fast-training, following FAL's documented
// queue API: the training set, assembled on the server from cleaned uploads, is uploaded to
// FAL's storage (initiate, then PUT to the signed URL); the training is submitted to the
// queue with images_data_url, trigger_word, steps, create_masks and is_style; its status and
// logs are polled; and the diffusers LoRA file and its config file are copied into
// SketchMaker's own storage before the job is marked done.
//
// It is an adapter of the training service and the only part of training that speaks HTTP.
// The HTTP client is injected: SketchMaker wires the outbound client, which refuses private
// addresses and proxies.
package fal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/training"
)

// App is FAL's training application.
const App = "fal-ai/flux-lora-fast-training"

// Defaults of a Trainer.
const (
	DefaultQueueURL     = "https://queue.fal.run"
	DefaultRestURL      = "https://rest.alpha.fal.ai"
	DefaultPollEvery    = 5 * time.Second
	DefaultMaxFileBytes = 1 << 30
)

// DefaultFileHosts are the hosts FAL serves result files from.
var DefaultFileHosts = []string{"fal.media", "*.fal.media", "storage.googleapis.com"}

// maxAnswer bounds a JSON answer of FAL's API.
const maxAnswer = 1 << 20

// maxPollFailures is how many polls in a row may fail before the training is given up.
const maxPollFailures = 3

// Trainer is a training.Trainer on FAL.
type Trainer struct {
	HTTP *http.Client
	Key  string // FAL API key; sent only to QueueURL and RestURL
	// KeyFunc, when not nil, supplies the key for each training instead of Key, so that a
	// key an administrator saves takes effect without a restart.
	KeyFunc func(ctx context.Context) (string, error)

	QueueURL     string        // default DefaultQueueURL
	RestURL      string        // default DefaultRestURL
	FileHosts    []string      // hosts result files may come from; default DefaultFileHosts
	MaxFileBytes int64         // largest result file; default DefaultMaxFileBytes
	PollEvery    time.Duration // default DefaultPollEvery
	// WebhookURL, when set, is sent as the fal_webhook query parameter of the submission
	// (the public URL of POST /webhooks/fal); a verified webhook then makes the next poll
	// happen at once (training.Run.Notified).
	WebhookURL string

	// Sleep waits between polls; nil waits for real. Tests make it instant.
	Sleep func(ctx context.Context, d time.Duration) error
	Log   *slog.Logger
}

// Name returns "fal".
func (t *Trainer) Name() string { return "fal" }

// Model returns FAL's application id.
func (t *Trainer) Model() string { return App }

// Train uploads the set, submits it and waits for the weights, or resumes waiting for a
// request an earlier attempt submitted. When ctx ends first, the request is canceled at FAL.
func (t *Trainer) Train(ctx context.Context, run *training.Run) (*training.Output, error) {
	key, err := t.key(ctx)
	if err != nil {
		return nil, err
	}
	t = t.withKey(key)

	id := run.ProviderRequestID
	if id == "" {
		if id, err = t.submit(ctx, run); err != nil {
			return nil, err
		}
	} else {
		run.Report(ctx, 10, "Resuming: asking FAL about the training submitted earlier")
	}
	if !validRequestID(id) {
		return nil, fmt.Errorf("fal: unusable request id %q", clip(id, 40))
	}

	out, err := t.wait(ctx, run, id)
	if err != nil {
		if ctx.Err() != nil {
			t.cancel(id)
		}
		return nil, err
	}
	return t.download(ctx, run, out)
}

// key returns the API key to use, refusing to start without one.
func (t *Trainer) key(ctx context.Context) (string, error) {
	key := t.Key
	if t.KeyFunc != nil {
		var err error
		if key, err = t.KeyFunc(ctx); err != nil {
			return "", fmt.Errorf("FAL key: %w", err)
		}
	}
	if key == "" {
		return "", fault.New(fault.Unavailable, "FAL training is not configured on this "+
			"server (it has no FAL API key). Your credits were refunded.")
	}
	return key, nil
}

// withKey returns a copy of t that uses key, so that concurrent trainings never share a
// changing field.
func (t *Trainer) withKey(key string) *Trainer {
	c := *t
	c.Key, c.KeyFunc = key, nil
	return &c
}

// input is the request body of flux-lora-fast-training.
type input struct {
	ImagesDataURL string `json:"images_data_url"`
	TriggerWord   string `json:"trigger_word"`
	Steps         int    `json:"steps"`
	CreateMasks   bool   `json:"create_masks"`
	IsStyle       bool   `json:"is_style"`
}

// submit packs and uploads the set and queues the training.
func (t *Trainer) submit(ctx context.Context, run *training.Run) (string, error) {
	run.Report(ctx, 3, fmt.Sprintf("Packing %d images", run.Set.Count()))
	archive, err := run.Set.Archive(ctx, run.Dir)
	if err != nil {
		return "", err
	}
	run.Report(ctx, 5, "Uploading the training set to FAL")
	fileURL, err := t.upload(ctx, archive)
	if err != nil {
		return "", err
	}

	tr := run.Training
	in := input{ImagesDataURL: fileURL, TriggerWord: tr.TriggerWord, Steps: tr.Steps,
		CreateMasks: tr.CreateMasks, IsStyle: tr.IsStyle}
	var sub struct {
		RequestID string `json:"request_id"`
	}
	submitURL := t.queueURL() + "/" + App
	if t.WebhookURL != "" {
		submitURL += "?fal_webhook=" + url.QueryEscape(t.WebhookURL)
	}
	if err := t.call(ctx, http.MethodPost, submitURL, in, &sub); err != nil {
		return "", err
	}
	if !validRequestID(sub.RequestID) {
		return "", t.malformed("submit answer has no usable request_id")
	}
	if err := run.SetProviderRequest(ctx, sub.RequestID); err != nil {
		return "", err
	}
	run.Report(ctx, 10, "Queued at FAL")
	return sub.RequestID, nil
}

// upload puts the archive into FAL's storage and returns the URL the trainer reads it from.
// The key goes only to FAL's API; the signed upload URL gets none.
func (t *Trainer) upload(ctx context.Context, path string) (string, error) {
	var target struct {
		UploadURL string `json:"upload_url"`
		FileURL   string `json:"file_url"`
	}
	in := map[string]string{"content_type": "application/zip", "file_name": filepath.Base(path)}
	if err := t.call(ctx, http.MethodPost, t.restURL()+"/storage/upload/initiate", in,
		&target); err != nil {
		return "", err
	}
	if !httpsURL(target.UploadURL) || !httpsURL(target.FileURL) {
		return "", t.malformed("storage answer lacks https upload_url and file_url")
	}

	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("open training archive: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("stat training archive: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, target.UploadURL, f)
	if err != nil {
		return "", t.malformed("unusable upload_url")
	}
	req.ContentLength = st.Size()
	req.Header.Set("Content-Type", "application/zip")
	res, err := t.HTTP.Do(req)
	if err != nil {
		return "", unreachable(err)
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		return "", t.refused(res.StatusCode, readSome(res.Body))
	}
	return target.FileURL, nil
}

// status is FAL's answer about a queued request.
type status struct {
	Status        string `json:"status"`
	QueuePosition int    `json:"queue_position"`
	Logs          []struct {
		Message string `json:"message"`
	} `json:"logs"`
	Error string `json:"error"`
}

// file is a result file in FAL's answers.
type file struct {
	URL      string `json:"url"`
	FileName string `json:"file_name"`
}

// output is flux-lora-fast-training's result.
type output struct {
	LoRA   *file `json:"diffusers_lora_file"`
	Config *file `json:"config_file"`
}

// wait polls the request until it is completed and returns its result.
func (t *Trainer) wait(ctx context.Context, run *training.Run, id string) (*output, error) {
	base := t.queueURL() + "/" + App + "/requests/" + id
	seen, failures, pct := 0, 0, 10
	hinted := false // a webhook's mark wakes the wait once
	for {
		var st status
		err := t.call(ctx, http.MethodGet, base+"/status?logs=1", nil, &st)
		if err != nil {
			if failures++; failures >= maxPollFailures || ctx.Err() != nil {
				return nil, err
			}
		} else {
			failures = 0
			done, err := t.progress(ctx, run, &st, &seen, &pct)
			if err != nil || done {
				if err != nil {
					return nil, err
				}
				return t.result(ctx, base)
			}
		}
		if err := t.pause(ctx, run, &hinted); err != nil {
			return nil, err
		}
	}
}

// notifiedStep is how often a waiting trainer looks for a webhook's mark.
const notifiedStep = 250 * time.Millisecond

// pause waits for the next poll: the polling interval, or less when a webhook said the
// request is done. The mark stays, so it wakes the wait only once (*hinted).
func (t *Trainer) pause(ctx context.Context, run *training.Run, hinted *bool) error {
	if run.OnNotified == nil || *hinted {
		return t.sleep(ctx, t.pollEvery())
	}
	for waited := time.Duration(0); waited < t.pollEvery(); waited += notifiedStep {
		if run.Notified(ctx) {
			*hinted = true
			return nil
		}
		if err := t.sleep(ctx, min(notifiedStep, t.pollEvery())); err != nil {
			return err
		}
	}
	return nil
}

// progress reports a status answer and says whether the request is completed.
func (t *Trainer) progress(ctx context.Context, run *training.Run, st *status, seen,
	pct *int) (bool, error) {
	if st.Error != "" {
		t.log().Warn("FAL training failed", "error", clip(st.Error, 300))
		return false, fault.New(fault.Unavailable, "FAL could not train this set. Your "+
			"credits were refunded.")
	}
	switch st.Status {
	case "IN_QUEUE":
		run.Report(ctx, *pct, fmt.Sprintf("Waiting in FAL's queue (position %d)",
			st.QueuePosition))
	case "IN_PROGRESS", "COMPLETED":
		for ; *seen < len(st.Logs); *seen++ {
			msg := clean(st.Logs[*seen].Message)
			if msg == "" {
				continue
			}
			*pct = max(*pct, stepProgress(msg, run.Training.Steps))
			run.Report(ctx, *pct, "FAL: "+msg)
		}
		return st.Status == "COMPLETED", nil
	default:
		return false, t.malformed("unknown status " + clip(st.Status, 40))
	}
	return false, nil
}

// stepPattern finds "step 200/1000"-like counters in FAL's log lines.
var stepPattern = regexp.MustCompile(`(\d+)\s*/\s*(\d+)`)

// stepProgress turns a log line's step counter into progress between 15 and 90 percent.
func stepProgress(msg string, steps int) int {
	m := stepPattern.FindStringSubmatch(msg)
	if m == nil {
		return 15
	}
	n, _ := strconv.Atoi(m[1])
	total, _ := strconv.Atoi(m[2])
	if total != steps || total <= 0 || total > 1_000_000 || n > total {
		return 15
	}
	return 15 + 75*n/total
}

// result fetches the output of a completed request.
func (t *Trainer) result(ctx context.Context, base string) (*output, error) {
	var out output
	if err := t.call(ctx, http.MethodGet, base, nil, &out); err != nil {
		return nil, err
	}
	if out.LoRA == nil || out.LoRA.URL == "" {
		return nil, t.malformed("result has no diffusers_lora_file")
	}
	return &out, nil
}

// download copies the weights and the config file into the run's folder.
func (t *Trainer) download(ctx context.Context, run *training.Run,
	out *output) (*training.Output, error) {
	run.Report(ctx, 92, "Copying the weights from FAL")
	name := run.Training.TriggerWord
	weights, err := t.fetch(ctx, out.LoRA.URL, filepath.Join(run.Dir, "weights.safetensors"))
	if err != nil {
		return nil, err
	}
	res := &training.Output{Weights: training.Artifact{Name: name + ".safetensors",
		Path: weights}, RemoteURL: out.LoRA.URL}

	if out.Config != nil && out.Config.URL != "" {
		cfg, err := t.fetch(ctx, out.Config.URL, filepath.Join(run.Dir, "config.json"))
		if err != nil {
			return nil, err
		}
		res.Config = &training.Artifact{Name: name + "-config.json", Path: cfg}
	}
	return res, nil
}

// Errors of a refused result file.
var (
	ErrFileHost    = errors.New("result file host not allowed")
	ErrFileTooLong = errors.New("result file too large")
)

// fetch downloads a result file from an allowed host over HTTPS, without the API key, to
// path, refusing it as soon as it passes MaxFileBytes.
func (t *Trainer) fetch(ctx context.Context, rawURL, path string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "https" || u.User != nil || !matchHost(t.fileHosts(),
		u.Hostname()) {
		t.log().Warn("FAL result file refused", "host", hostOf(rawURL))
		return "", fault.Wrap(fault.Unavailable, "FAL answered with a file SketchMaker does "+
			"not download. Your credits were refunded.", ErrFileHost)
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", fmt.Errorf("result file request: %w", err)
	}
	res, err := t.HTTP.Do(req)
	if err != nil {
		return "", unreachable(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return "", t.refused(res.StatusCode, nil)
	}
	return path, t.save(res, path)
}

// save writes a response body to path within the size limit.
func (t *Trainer) save(res *http.Response, path string) error {
	limit := t.maxFileBytes()
	tooLarge := fault.Wrap(fault.Unavailable, "FAL's result file is larger than SketchMaker "+
		"accepts. Your credits were refunded.", ErrFileTooLong)
	if res.ContentLength > limit {
		return tooLarge
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("create result file: %w", err)
	}
	defer f.Close()
	n, err := io.Copy(f, io.LimitReader(res.Body, limit+1))
	if err != nil {
		return unreachable(err)
	}
	if n > limit {
		return tooLarge
	}
	return f.Close()
}

// call sends a JSON request with the API key to FAL's API and decodes the JSON answer.
func (t *Trainer) call(ctx context.Context, method, rawURL string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode FAL request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, body)
	if err != nil {
		return fmt.Errorf("FAL request: %w", err)
	}
	req.Header.Set("Authorization", "Key "+t.Key)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}

	res, err := t.HTTP.Do(req)
	if err != nil {
		return unreachable(err)
	}
	defer res.Body.Close()
	data := readSome(res.Body)
	if res.StatusCode/100 != 2 {
		return t.refused(res.StatusCode, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return t.malformed("answer is not the expected JSON")
	}
	return nil
}

// cancel asks FAL to stop a request, best effort, after the job itself was stopped.
func (t *Trainer) cancel(id string) {
	ctx, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	u := t.queueURL() + "/" + App + "/requests/" + id + "/cancel"
	var ignored map[string]any
	if err := t.call(ctx, http.MethodPut, u, nil, &ignored); err != nil {
		t.log().Warn("FAL training not canceled", "request_id", id, "error", err)
	}
}

// unreachable is the error of a request that got no answer.
func unreachable(err error) error {
	return fault.Wrap(fault.Unavailable, "FAL could not be reached. Your credits were "+
		"refunded; try again later.", err)
}

// refused turns an error status of FAL into a safe message; FAL's own text goes to the
// log only.
func (t *Trainer) refused(status int, detail []byte) error {
	t.log().Warn("FAL refused a request", "status", status, "detail", clip(string(detail),
		300))
	cause := fmt.Errorf("fal: status %d", status)
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return fault.Wrap(fault.Unavailable, "FAL refused SketchMaker's API key; tell your "+
			"administrator. Your credits were refunded.", cause)
	case status == http.StatusTooManyRequests || status >= 500:
		return fault.Wrap(fault.Unavailable, "FAL is busy or failing right now. Your "+
			"credits were refunded; try again later.", cause)
	}
	return fault.Wrap(fault.Unavailable, fmt.Sprintf("FAL refused the training (status "+
		"%d). Your credits were refunded.", status), cause)
}

// malformed is the error of an answer that does not follow FAL's documented API.
func (t *Trainer) malformed(what string) error {
	t.log().Warn("FAL answered unexpectedly", "problem", what)
	return fault.Wrap(fault.Unavailable, "FAL answered in a way SketchMaker does not "+
		"understand. Your credits were refunded.", errors.New("fal: "+what))
}

func (t *Trainer) queueURL() string {
	return strings.TrimRight(or(t.QueueURL, DefaultQueueURL), "/")
}

func (t *Trainer) restURL() string {
	return strings.TrimRight(or(t.RestURL, DefaultRestURL), "/")
}

func (t *Trainer) fileHosts() []string {
	if len(t.FileHosts) == 0 {
		return DefaultFileHosts
	}
	return t.FileHosts
}

func (t *Trainer) maxFileBytes() int64 {
	if t.MaxFileBytes <= 0 {
		return DefaultMaxFileBytes
	}
	return t.MaxFileBytes
}

func (t *Trainer) pollEvery() time.Duration {
	if t.PollEvery <= 0 {
		return DefaultPollEvery
	}
	return t.PollEvery
}

func (t *Trainer) sleep(ctx context.Context, d time.Duration) error {
	if t.Sleep != nil {
		return t.Sleep(ctx, d)
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

func (t *Trainer) log() *slog.Logger {
	if t.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return t.Log
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// requestIDPattern is what a request id may look like before it becomes part of a URL.
var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,100}$`)

func validRequestID(id string) bool { return requestIDPattern.MatchString(id) }

func httpsURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "https" && u.Host != "" && u.User == nil
}

// matchHost reports whether host is one of patterns: an exact name, or "*.domain" for any
// name below domain.
func matchHost(patterns []string, host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, p := range patterns {
		p = strings.ToLower(p)
		if rest, ok := strings.CutPrefix(p, "*."); ok {
			if strings.HasSuffix(host, "."+rest) {
				return true
			}
		} else if host == p {
			return true
		}
	}
	return false
}

func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return clip(u.Hostname(), 100)
	}
	return ""
}

// clean makes a log line from FAL fit for a training log: one line of valid text, clipped.
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return clip(strings.TrimSpace(s), 200)
}

func clip(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "")
}

func readSome(r io.Reader) []byte {
	b, _ := io.ReadAll(io.LimitReader(r, maxAnswer))
	return b
}
