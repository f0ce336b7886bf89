package web_test

// The acceptance tests of issue 2 that run many jobs: real prompts through the HTTP API,
// and jobs whose worker died.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sketchmaker/sketchmaker/internal/apptest"
	"github.com/sketchmaker/sketchmaker/internal/credit"
	"github.com/sketchmaker/sketchmaker/internal/engine"
	"github.com/sketchmaker/sketchmaker/internal/generation"
	"github.com/sketchmaker/sketchmaker/internal/job"
	"github.com/sketchmaker/sketchmaker/internal/media"
)

// i2PartiPrompts returns the first n prompts of PartiPrompts.tsv, skipping its header.
func i2PartiPrompts(t *testing.T, n int) []string {
	t.Helper()
	f, err := os.Open("../../../shared/testdata/prompts/PartiPrompts.tsv")
	if err != nil {
		t.Skip("shared test data not found: ", err)
	}
	defer f.Close()

	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() && len(out) < n {
		prompt, _, _ := strings.Cut(sc.Text(), "\t")
		if prompt == "Prompt" && len(out) == 0 {
			continue // the header
		}
		out = append(out, prompt)
	}
	if err := sc.Err(); err != nil || len(out) != n {
		t.Fatalf("read %d prompts of PartiPrompts.tsv: %v", len(out), err)
	}
	return out
}

func TestIssue2PartiPromptsGenerate(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 100 images; skipped with -short")
	}
	prompts := i2PartiPrompts(t, 100)
	i2EachDB(t, func(t *testing.T, app *apptest.App) {
		c := app.Client(t)
		c.Register("parti@example.com", goodPassword)
		app.SetCredits(t, c.UserID(), 200)
		tok := c.CSRF()

		// One seed for all, so any difference between the pictures comes from the prompt.
		seen := map[[32]byte]string{}
		for i, prompt := range prompts {
			g := i2Generate(t, c, tok, map[string]any{"prompt": prompt,
				"image_size": "square", "seed": 1234})
			if g.CreditsUsed != 1 || g.CreditsRemaining != float64(199-i) {
				t.Errorf("prompt %d: used %v, remaining %v", i+1, g.CreditsUsed,
					g.CreditsRemaining)
			}
			res := c.Get("/download/" + g.Images[0].ID + "/png")
			if res.StatusCode != http.StatusOK || !i2Magic["png"](res.Body) {
				t.Fatalf("prompt %d: download status %d", i+1, res.StatusCode)
			}
			sum := sha256.Sum256(res.Body)
			if prev, dup := seen[sum]; dup {
				t.Errorf("%q and %q gave the same image", prev, prompt)
			}
			seen[sum] = prompt
		}
		if n := i2Count(t, app, "images"); n != 100 {
			t.Errorf("%d images stored, want 100", n)
		}
	})
}

// i2CountWhere counts the rows of table that match where.
func i2CountWhere(t *testing.T, app *apptest.App, table, where string, args ...any) int {
	t.Helper()
	var n int
	q := app.DB.Rebind("SELECT COUNT(*) FROM " + table + " WHERE " + where)
	if err := app.DB.GetContext(context.Background(), &n, q, args...); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// i2CrashedJob stores a job as a worker that died would leave it: running, its lease
// expired, after attempts starts, with its credits reserved in the same transaction.
func i2CrashedJob(t *testing.T, app *apptest.App, userID int64, attempts, images int) (
	string, credit.Milli, generation.Params) {
	t.Helper()
	ctx := context.Background()
	req := generation.Request{Prompt: json.RawMessage(`"a lighthouse that survived a crash"`),
		ImageSize: json.RawMessage(`"square"`), Seed: json.RawMessage(`77`),
		NumImages: json.RawMessage([]byte{byte('0' + images)})}
	p, err := req.Check(generation.RandomSeed)
	if err != nil {
		t.Fatal(err)
	}
	input, _ := json.Marshal(p)
	unit, err := app.Credits.Cost(ctx, "image_generation")
	if err != nil {
		t.Fatal(err)
	}
	cost := unit * credit.Milli(images)

	id, now := job.NewID(), time.Now()
	err = app.DB.Tx(ctx, func(tx *sqlx.Tx) error {
		q := tx.Rebind(`INSERT INTO jobs (id, user_id, kind, provider, model, input, status,
			progress, attempts, cost_reserved, worker, lease_until, created_at, started_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		_, err := tx.ExecContext(ctx, q, id, userID, generation.KindImage, "builtin",
			p.Model, string(input), job.Running, 40, attempts, int64(cost), "dead-worker-0",
			now.Add(-time.Minute).UnixMilli(), now.Add(-2*time.Minute).UnixMilli(),
			now.Add(-90*time.Second).UnixMilli())
		if err != nil {
			return err
		}
		_, err = app.Credits.Reserve(ctx, tx, userID, cost, id)
		return err
	})
	if err != nil {
		t.Fatalf("store crashed job: %v", err)
	}
	return id, cost, *p
}

// i2LeftoverImage stores image n of a job the way its worker did before dying: the files
// under random keys and the gallery row.
func i2LeftoverImage(t *testing.T, app *apptest.App, userID int64, jobID string,
	p generation.Params, n uint32) string {
	t.Helper()
	img, err := engine.Render(engine.Params{Prompt: p.Prompt, Style: p.Style,
		Width: p.Width, Height: p.Height, Seed: p.Seed + n})
	if err != nil {
		t.Fatal(err)
	}
	var full, thumb bytes.Buffer
	if err := media.Encode(&full, img, media.PNG, 90); err != nil {
		t.Fatal(err)
	}
	if err := media.Encode(&thumb, media.Thumbnail(img, 256), media.WebP, 80); err != nil {
		t.Fatal(err)
	}
	id := job.NewID()
	keys := []string{"images/" + id[:2] + "/" + id + ".png", "thumbs/" + id[:2] + "/" + id + ".webp"}
	for i, b := range [][]byte{full.Bytes(), thumb.Bytes()} {
		path := filepath.Join(app.Config.DataDir, "files", filepath.FromSlash(keys[i]))
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	q := app.DB.Rebind(`INSERT INTO images (id, user_id, job_id, prompt, negative_prompt,
		model, engine, style, width, height, seed, format, blob_key, thumb_key, size_bytes,
		created_at) VALUES (?, ?, ?, ?, '', ?, 'builtin', ?, ?, ?, ?, 'png', ?, ?, ?, ?)`)
	_, err = app.DB.ExecContext(context.Background(), q, id, userID, jobID, p.Prompt,
		p.Model, p.Style, p.Width, p.Height, int64(p.Seed+n), keys[0], keys[1],
		full.Len(), time.Now().UnixMilli())
	if err != nil {
		t.Fatalf("store leftover image: %v", err)
	}
	return id
}

// i2AwaitJob polls a job until it is done or 15 seconds pass (recovery runs every 5 s).
func i2AwaitJob(t *testing.T, app *apptest.App, id string) *job.Job {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		j, err := app.Jobs.Get(context.Background(), id)
		if err != nil {
			t.Fatalf("job %s: %v", id, err)
		}
		if j.Done() || time.Now().After(deadline) {
			return j
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// i2Eventually polls done for up to five seconds; the caller then checks the outcome.
func i2Eventually(done func() bool) {
	deadline := time.Now().Add(5 * time.Second)
	for !done() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
}

func TestIssue2InterruptedJobsFinishOrRefund(t *testing.T) {
	i2EachDB(t, func(t *testing.T, app *apptest.App) {
		dead, again := app.Client(t), app.Client(t)
		dead.Register("crashed@example.com", goodPassword)
		again.Register("resumed@example.com", goodPassword)
		deadID, againID := dead.UserID(), again.UserID()
		app.SetCredits(t, deadID, 10)
		app.SetCredits(t, againID, 10)
		deadStart, againStart := i2Balance(t, app, deadID), i2Balance(t, app, againID)

		// Given up: three attempts already used, the last one after storing one image.
		gaveUp, gaveUpCost, p := i2CrashedJob(t, app, deadID, job.MaxAttempts, 2)
		i2LeftoverImage(t, app, deadID, gaveUp, p, 0)
		// Resumed: one attempt used, so it goes back to the queue; it too had stored its
		// first image.
		resumed, resumedCost, p := i2CrashedJob(t, app, againID, 1, 2)
		leftover := i2LeftoverImage(t, app, againID, resumed, p, 0)
		if b := i2Balance(t, app, deadID); b != deadStart-gaveUpCost {
			t.Fatalf("reservation not taken: balance %s", b)
		}

		j := i2AwaitJob(t, app, gaveUp)
		if j.Status != job.Failed || j.Error == "" || j.CostSettled != 0 {
			t.Errorf("crashed job after its last attempt: status %s, error %q, settled %d",
				j.Status, j.Error, j.CostSettled)
		}
		// Settling runs right after the status change: the refund, then the images of
		// the interrupted attempt go. Give it a moment.
		i2Eventually(func() bool {
			return i2Balance(t, app, deadID) == deadStart &&
				i2CountWhere(t, app, "images", "job_id = ?", gaveUp) == 0
		})
		if b := i2Balance(t, app, deadID); b != deadStart {
			t.Errorf("balance after the refund = %s, want %s exactly", b, deadStart)
		}
		if n := i2CountWhere(t, app, "images", "job_id = ?", gaveUp); n != 0 {
			t.Errorf("the refunded job left %d images in the gallery", n)
		}

		j = i2AwaitJob(t, app, resumed)
		if j.Status != job.Succeeded || j.Attempts != 2 || j.CostSettled != int64(resumedCost) {
			t.Fatalf("requeued job: status %s, attempts %d, settled %d, error %q", j.Status,
				j.Attempts, j.CostSettled, j.Error)
		}
		var res generation.Result
		if err := json.Unmarshal([]byte(j.Result), &res); err != nil || len(res.Images) != 2 {
			t.Fatalf("requeued job result %q: %v", j.Result, err)
		}
		// Exactly its two images: the one stored before the crash is one of them.
		if n := i2CountWhere(t, app, "images", "job_id = ? AND user_id = ?", resumed,
			againID); n != 2 {
			t.Errorf("the requeued job has %d images in the gallery, want 2", n)
		}
		if res.Images[0] != leftover {
			t.Errorf("the resumed job rendered image 1 again instead of keeping %s", leftover)
		}
		for _, id := range res.Images {
			if r := again.Get("/download/" + id + "/png"); r.StatusCode != http.StatusOK {
				t.Errorf("image %s of the resumed job: status %d", id, r.StatusCode)
			}
		}
		i2Eventually(func() bool { return i2Balance(t, app, againID) == againStart-resumedCost })
		if b := i2Balance(t, app, againID); b != againStart-resumedCost {
			t.Errorf("balance after the resumed job = %s, want %s", b, againStart-resumedCost)
		}
		if st := again.Get("/api/jobs/" + resumed).JSON(); st["status"] != "succeeded" ||
			len(st["images"].([]any)) != 2 {
			t.Errorf("the owner sees the resumed job as %v", st)
		}
	})
}
