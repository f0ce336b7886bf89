package training

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
	"github.com/sketchmaker/sketchmaker/internal/job"
)

// count returns the number of rows of table that belong to userID.
func count(t *testing.T, db *database.DB, table string, userID int64) int {
	t.Helper()
	var n int
	q := db.Rebind(`SELECT COUNT(*) FROM ` + table + ` WHERE user_id = ?`)
	if err := db.GetContext(context.Background(), &n, q, userID); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDeleteAllTakesEveryFileOfTheAccount trains a style, then deletes the owner's
// trainings and uploads as account deletion does: their records and every file go, and
// another user's uploads stay whole.
func TestDeleteAllTakesEveryFileOfTheAccount(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		r := newRig(t, db)
		r.work(t)
		ctx := context.Background()
		owner := r.user(t, "owner@example.com", 100)
		other := r.user(t, "other@example.com", 100)
		r.upload(t, other, 5)
		kept := files(t, filepath.Join(r.root, "files"))

		st, err := r.svc.Start(ctx, owner, &Request{UploadIDs: r.upload(t, owner, 5),
			TriggerWord: "gone", Steps: intp(100)})
		if err != nil {
			t.Fatal(err)
		}
		if j := r.finish(t, st.Job.ID); j.Status != job.Succeeded {
			t.Fatalf("training %s: %s", j.Status, j.Error)
		}
		if n := len(files(t, filepath.Join(r.root, "files"))); n != len(kept)+5*3+2 {
			t.Fatalf("%d files before deletion, want the other's %d, 15 of the owner's "+
				"uploads and the weights and configuration", n, len(kept))
		}

		if err := r.svc.DeleteAll(ctx, owner); err != nil {
			t.Fatal(err)
		}
		if err := r.uploads.DeleteAll(ctx, owner); err != nil {
			t.Fatal(err)
		}
		if got := files(t, filepath.Join(r.root, "files")); strings.Join(got, "\n") !=
			strings.Join(kept, "\n") {
			t.Errorf("files after deletion:\n%s\nwant only the other user's:\n%s",
				strings.Join(got, "\n"), strings.Join(kept, "\n"))
		}
		if n := count(t, db, "trainings", owner) + count(t, db, "uploads", owner); n != 0 {
			t.Errorf("%d of the owner's records left", n)
		}
		if n := count(t, db, "uploads", other); n != 5 {
			t.Errorf("the other user has %d uploads, want 5", n)
		}
	})
}

// gated is a trainer that writes its files, then waits for release (or the end of its
// run) before it returns them.
type gated struct {
	started, release chan struct{}
}

func (*gated) Name() string  { return "builtin" }
func (*gated) Model() string { return "test/gated" }
func (g *gated) Train(ctx context.Context, run *Run) (*Output, error) {
	out := &Output{Weights: Artifact{Name: "w.safetensors",
		Path: filepath.Join(run.Dir, "w.safetensors")}}
	out.Config = &Artifact{Name: "c.json", Path: filepath.Join(run.Dir, "c.json")}
	for _, a := range []Artifact{out.Weights, *out.Config} {
		if err := os.WriteFile(a.Path, []byte("trained"), 0o600); err != nil {
			return nil, err
		}
	}
	close(g.started)
	select {
	case <-g.release:
		return out, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// TestTrainingOfADeletedAccountKeepsNoFiles deletes the owner's trainings while one runs:
// when it finishes there is no record to point at its files, so none are kept.
func TestTrainingOfADeletedAccountKeepsNoFiles(t *testing.T) {
	g := &gated{started: make(chan struct{}), release: make(chan struct{})}
	r := newRig(t, dbtest.SQLite(t), g)
	r.work(t)
	ctx := context.Background()
	owner := r.user(t, "owner@example.com", 100)
	st, err := r.svc.Start(ctx, owner, &Request{UploadIDs: r.upload(t, owner, 5),
		TriggerWord: "late"})
	if err != nil {
		t.Fatal(err)
	}
	<-g.started
	if err := r.svc.DeleteAll(ctx, owner); err != nil {
		t.Fatal(err)
	}
	close(g.release)

	if j := r.finish(t, st.Job.ID); j.Status == job.Succeeded {
		t.Errorf("a training without its record succeeded")
	}
	if trained := files(t, filepath.Join(r.root, "files", "trainings")); len(trained) != 0 {
		t.Errorf("trained files kept without a record: %v", trained)
	}
}
