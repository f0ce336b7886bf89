package training

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sketchmaker/sketchmaker/internal/blob"
	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/job"
	"github.com/sketchmaker/sketchmaker/internal/upload"
)

// Training is the record beside a training job, which carries its status and times.
type Training struct {
	ID           string `db:"id"` // the job's id
	UserID       int64  `db:"user_id"`
	Backend      string `db:"backend"`
	TriggerWord  string `db:"trigger_word"`
	Steps        int    `db:"steps"`
	CreateMasks  bool   `db:"create_masks"`
	IsStyle      bool   `db:"is_style"`
	ImageCount   int    `db:"image_count"`
	Logs         string `db:"logs"`    // one line per step, "15:04:05 message"
	Profile      string `db:"profile"` // the built-in trainer's engine.Profile as JSON
	WeightsKey   string `db:"weights_key"`
	WeightsName  string `db:"weights_name"`
	WeightsBytes int64  `db:"weights_bytes"`
	ConfigKey    string `db:"config_key"`
	CreatedAt    int64  `db:"created_at"`
}

const trainingColumns = `id, user_id, backend, trigger_word, steps, create_masks, is_style,
	image_count, logs, profile, weights_key, weights_name, weights_bytes, config_key,
	created_at`

// ErrNotFound answers a training that does not exist or is not the caller's.
var ErrNotFound = fault.New(fault.NotFound, "That training does not exist.")

// maxLogBytes bounds a training's log; later lines are dropped.
const maxLogBytes = 16 << 10

// insert stores a new training and the uploads it uses, inside the job's transaction.
func insert(ctx context.Context, tx *sqlx.Tx, t *Training, images []*upload.Upload) error {
	q := tx.Rebind(`INSERT INTO trainings (` + trainingColumns + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	_, err := tx.ExecContext(ctx, q, t.ID, t.UserID, t.Backend, t.TriggerWord, t.Steps,
		t.CreateMasks, t.IsStyle, t.ImageCount, t.Logs, t.Profile, t.WeightsKey,
		t.WeightsName, t.WeightsBytes, t.ConfigKey, t.CreatedAt)
	if err != nil {
		return fmt.Errorf("insert training: %w", err)
	}

	q = tx.Rebind(`INSERT INTO training_images (training_id, position, upload_id)
		VALUES (?, ?, ?)`)
	for i, u := range images {
		if _, err := tx.ExecContext(ctx, q, t.ID, i, u.ID); err != nil {
			return fmt.Errorf("insert training image: %w", err)
		}
	}
	return nil
}

// get returns training id, whoever owns it.
func (s *Service) get(ctx context.Context, id string) (*Training, error) {
	var t Training
	err := s.DB.GetContext(ctx, &t, s.DB.Rebind(`SELECT `+trainingColumns+`
		FROM trainings WHERE id = ?`), id)
	if errors.Is(database.NotFound(err), database.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get training: %w", err)
	}
	return &t, nil
}

// images returns the uploads of training t, in their order.
func (s *Service) images(ctx context.Context, t *Training) ([]*upload.Upload, error) {
	var ids []string
	err := s.DB.SelectContext(ctx, &ids, s.DB.Rebind(`SELECT upload_id FROM training_images
		WHERE training_id = ? ORDER BY position`), t.ID)
	if err != nil {
		return nil, fmt.Errorf("training images: %w", err)
	}
	images, err := s.Uploads.GetMany(ctx, t.UserID, ids)
	if errors.Is(err, upload.ErrNotFound) {
		return nil, fault.New(fault.NotFound, "Some images of this training were deleted "+
			"before it ran. Upload them again and start a new training.")
	}
	return images, err
}

// appendLog adds one timestamped line to a training's log, while it has room.
func (s *Service) appendLog(ctx context.Context, id, line string) {
	line = s.Now().UTC().Format("15:04:05") + " " + strings.ReplaceAll(line, "\n", " ") + "\n"
	_, err := s.DB.ExecContext(ctx, s.DB.Rebind(`UPDATE trainings SET logs = logs || ?
		WHERE id = ? AND LENGTH(logs) < ?`), line, id, maxLogBytes)
	if err != nil && ctx.Err() == nil {
		s.Log.Error("training log not written", "training_id", id, "error", err)
	}
}

// saveResult records where a finished training's files are.
func (s *Service) saveResult(ctx context.Context, t *Training) error {
	res, err := s.DB.ExecContext(ctx, s.DB.Rebind(`UPDATE trainings SET profile = ?,
		weights_key = ?, weights_name = ?, weights_bytes = ?, config_key = ? WHERE id = ?`),
		t.Profile, t.WeightsKey, t.WeightsName, t.WeightsBytes, t.ConfigKey, t.ID)
	if err != nil {
		return fmt.Errorf("save training result: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return errors.New("save training result: the training's record is gone " +
			"(its account was deleted)")
	}
	return nil
}

// Status is a training as its owner sees it: the record and its job.
type Status struct {
	*Training
	Job *job.Job
}

// LogLines returns the log, one entry a line.
func (st *Status) LogLines() []string {
	lines := strings.Split(strings.TrimRight(st.Logs, "\n"), "\n")
	if len(lines) == 1 && lines[0] == "" {
		return []string{}
	}
	return lines
}

// Duration is how long the training ran, or has been running at now.
func (st *Status) Duration(now time.Time) time.Duration {
	start, end := st.Job.StartedAt, st.Job.FinishedAt
	if start == 0 {
		return 0
	}
	if end == 0 || end < start {
		end = now.UnixMilli()
	}
	return time.Duration(end-start) * time.Millisecond
}

// Done reports whether the training's weights can be downloaded.
func (st *Status) Done() bool {
	return st.Job.Status == job.Succeeded && st.WeightsKey != ""
}

// Get returns userID's training id, or ErrNotFound.
func (s *Service) Get(ctx context.Context, userID int64, id string) (*Status, error) {
	j, err := s.Jobs.GetForUser(ctx, userID, id)
	if errors.Is(err, job.ErrNotFound) || err == nil && j.Kind != Kind {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	t, err := s.get(ctx, id)
	if err != nil {
		return nil, err
	}
	return &Status{Training: t, Job: j}, nil
}

// List returns userID's most recent trainings, newest first, at most limit of them.
func (s *Service) List(ctx context.Context, userID int64, limit int) ([]*Status, error) {
	var ts []*Training
	err := s.DB.SelectContext(ctx, &ts, s.DB.Rebind(`SELECT `+trainingColumns+`
		FROM trainings WHERE user_id = ? ORDER BY created_at DESC, id LIMIT ?`),
		userID, limit)
	if err != nil {
		return nil, fmt.Errorf("list trainings: %w", err)
	}

	out := make([]*Status, 0, len(ts))
	for _, t := range ts {
		j, err := s.Jobs.Get(ctx, t.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, &Status{Training: t, Job: j})
	}
	return out, nil
}

// Style is a finished training whose trigger word can be used in prompts.
type Style struct {
	ID          string `db:"id" json:"id"`
	TriggerWord string `db:"trigger_word" json:"trigger_word"`
	Backend     string `db:"backend" json:"backend"`
	Profile     string `db:"profile" json:"-"`
	CreatedAt   int64  `db:"created_at" json:"-"`
	// RemoteURL is the provider's own address of the weights (FAL's diffusers LoRA file),
	// kept from the training's result; empty for the built-in trainer.
	RemoteURL string `db:"-" json:"-"`
}

// Styles returns userID's successfully trained styles, newest first.
func (s *Service) Styles(ctx context.Context, userID int64) ([]Style, error) {
	var rows []struct {
		Style
		Result string `db:"result"`
	}
	err := s.DB.SelectContext(ctx, &rows, s.DB.Rebind(`SELECT t.id, t.trigger_word,
		t.backend, t.profile, t.created_at, j.result FROM trainings t
		JOIN jobs j ON j.id = t.id
		WHERE t.user_id = ? AND j.status = ? ORDER BY t.created_at DESC, t.id`),
		userID, job.Succeeded)
	if err != nil {
		return nil, fmt.Errorf("list styles: %w", err)
	}
	out := make([]Style, len(rows))
	for i, r := range rows {
		out[i] = r.Style
		var res result
		if json.Unmarshal([]byte(r.Result), &res) == nil {
			out[i].RemoteURL = res.RemoteURL
		}
	}
	return out, nil
}

// File picks a downloadable file of a training.
type File int

// The downloadable files of a training.
const (
	Weights File = iota
	Config
)

// Open returns a finished training's weights or configuration, to its owner only; for
// anyone else, or before it is done, ErrNotFound.
func (s *Service) Open(ctx context.Context, userID int64, id string,
	which File) (blob.File, int64, string, error) {
	st, err := s.Get(ctx, userID, id)
	if err != nil {
		return nil, 0, "", err
	}
	key, name := st.WeightsKey, st.WeightsName
	if which == Config {
		key, name = st.ConfigKey, st.TriggerWord+"-config.json"
	}
	if !st.Done() || key == "" {
		return nil, 0, "", fault.New(fault.NotFound, "This training has no such file yet.")
	}

	f, n, err := s.Blobs.Open(ctx, key)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, 0, "", ErrNotFound
	}
	return f, n, name, err
}

// DeleteAll removes every training of userID and its trained files, for account deletion.
// A training still running then finds no record to finish, and deletes what it stored.
func (s *Service) DeleteAll(ctx context.Context, userID int64) error {
	var gone []Training
	q := s.DB.Rebind(`DELETE FROM trainings WHERE user_id = ?
		RETURNING id, weights_key, config_key`)
	if err := s.DB.SelectContext(ctx, &gone, q, userID); err != nil {
		return fmt.Errorf("delete trainings: %w", err)
	}
	for i := range gone {
		s.dropFiles(ctx, &gone[i])
	}
	return nil
}

// dropFiles deletes the trained files of t, whose record is gone or was never completed.
// A failure leaves an orphan file nobody can reach; it is logged, not returned.
func (s *Service) dropFiles(ctx context.Context, t *Training) {
	for _, key := range []string{t.WeightsKey, t.ConfigKey} {
		if key == "" {
			continue
		}
		if err := s.Blobs.Delete(context.WithoutCancel(ctx), key); err != nil {
			s.Log.Error("trained file not deleted", "training_id", t.ID, "error", err)
		}
	}
}
