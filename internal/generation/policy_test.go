package generation_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/blob"
	"github.com/sketchmaker/sketchmaker/internal/credit"
	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/gallery"
	"github.com/sketchmaker/sketchmaker/internal/generation"
	"github.com/sketchmaker/sketchmaker/internal/job"
)

// fakePolicy allows one model, makes it the default and prices it.
type fakePolicy struct {
	allowed string
	price   credit.Milli
	asked   []string
}

func (f *fakePolicy) Allowed(_ context.Context, _ int64, model string) error {
	f.asked = append(f.asked, model)
	if model != f.allowed {
		return fault.Field("model", "Your plan does not include "+model+".")
	}
	return nil
}

func (f *fakePolicy) DefaultFor(context.Context, int64) (string, error) {
	return f.allowed, nil
}

func (f *fakePolicy) Price(_ context.Context, model string) (credit.Milli, bool, error) {
	return f.price, f.price > 0, nil
}

func newGeneration(t *testing.T, db *database.DB) (*generation.Service, *credit.Service, int64) {
	t.Helper()
	now := func() time.Time { return time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC) }
	blobs, err := blob.NewDisk(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	credits := credit.New(db, now)
	g := gallery.New(db, blobs, slog.New(slog.NewTextHandler(io.Discard, nil)))
	svc := generation.New(db, job.NewStore(db, now), credits, g, blobs, func() {}, now)

	var uid int64
	err = db.GetContext(context.Background(), &uid, db.Rebind(`INSERT INTO users (email,
		credits, created_at, updated_at) VALUES ('gen@example.com', 10000, 0, 0) RETURNING id`))
	if err != nil {
		t.Fatal(err)
	}
	return svc, credits, uid
}

func check(t *testing.T, body string) *generation.Params {
	t.Helper()
	var r generation.Request
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	p, err := r.Check(func() uint32 { return 7 })
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPolicyRefusesAndPrices(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		svc, credits, uid := newGeneration(t, db)

		// Without a policy the feature's price applies.
		sub, err := svc.Submit(ctx, uid, check(t, `{"prompt": "a lighthouse"}`))
		if err != nil || sub.Cost != credit.One {
			t.Fatalf("without a policy: cost %v, %v", sub, err)
		}

		pol := &fakePolicy{allowed: generation.DefaultModel, price: 2500}
		svc.SetPolicy(pol)
		sub, err = svc.Submit(ctx, uid, check(t, `{"prompt": "a lighthouse", "num_images": 2}`))
		if err != nil || sub.Cost != 5000 || sub.Job.Model != generation.DefaultModel {
			t.Fatalf("with a price of 2.5: %+v, %v", sub, err)
		}

		// A model the policy refuses costs nothing and queues nothing.
		pol.allowed, pol.price = "other/model", 0
		before, _ := credits.Balance(ctx, uid)
		_, err = svc.Submit(ctx, uid, check(t, `{"prompt": "a lighthouse", "model": "`+
			generation.DefaultModel+`"}`))
		if fe := fault.As(err); fe == nil || fe.Field != "model" {
			t.Fatalf("a model outside the plan: %v", err)
		}
		if after, _ := credits.Balance(ctx, uid); after != before {
			t.Fatalf("a refused request cost %s credits", before-after)
		}

		// A request without a model asks the policy for its default.
		_, err = svc.Submit(ctx, uid, check(t, `{"prompt": "a lighthouse"}`))
		if last := pol.asked[len(pol.asked)-1]; last != "other/model" {
			t.Fatalf("the default of the policy was not used: asked %v", pol.asked)
		}
		var fe *fault.Error
		if !errors.As(err, &fe) {
			t.Fatalf("an unavailable default: %v", err)
		}
	})
}
