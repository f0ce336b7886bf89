package generation_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sketchmaker/sketchmaker/internal/blob"
	"github.com/sketchmaker/sketchmaker/internal/credit"
	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
	"github.com/sketchmaker/sketchmaker/internal/gallery"
	"github.com/sketchmaker/sketchmaker/internal/generation"
	"github.com/sketchmaker/sketchmaker/internal/job"
	"github.com/sketchmaker/sketchmaker/internal/outbound/outboundtest"
	"github.com/sketchmaker/sketchmaker/internal/provider"
)

// fakeFAL follows FAL's queue API: POST /{model} answers a request id with its status,
// response and cancel URLs; the status says COMPLETED once the request's delay has passed;
// the response names images on v3.fal.media, which the test resolver sends back here.
type fakeFAL struct {
	*outboundtest.Server
	t     *testing.T
	delay time.Duration // how long a request takes

	mu        sync.Mutex
	submitted map[string]time.Time
	canceled  []string
	submits   atomic.Int32
	polls     atomic.Int32
	images    func(f *fakeFAL) []string                         // result image URLs
	submit    func(w http.ResponseWriter, r *http.Request) bool // true: answered
	png       []byte
}

func newFakeFAL(t *testing.T) *fakeFAL {
	f := &fakeFAL{t: t, submitted: map[string]time.Time{}}
	f.png = pngBytes(t, 64, 48)
	f.images = func(f *fakeFAL) []string { return []string{f.cdn("/files/ok.png")} }
	f.Server = outboundtest.NewTLSServer(t, http.HandlerFunc(f.serve), "*.fal.media",
		"cdn.evil.example")
	return f
}

func (f *fakeFAL) cdn(path string) string {
	return "https://v3.fal.media:" + f.Port() + path
}

func (f *fakeFAL) serve(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch {
	case r.Method == http.MethodPost && (path == "/fal-ai/flux/dev" ||
		path == "/fal-ai/flux-lora"):
		f.handleSubmit(w, r)
	case strings.HasPrefix(path, "/files/"):
		f.file(w, r)
	case r.Method == http.MethodPut && strings.HasSuffix(path, "/cancel"):
		f.mu.Lock()
		f.canceled = append(f.canceled, requestOf(path))
		f.mu.Unlock()
		reply(w, http.StatusAccepted, map[string]any{"status": "CANCELLATION_REQUESTED"})
	case r.Method == http.MethodGet && strings.HasSuffix(path, "/status"):
		f.status(w, requestOf(path))
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/fal-ai/flux/requests/"):
		n := len(f.images(f))
		imgs := make([]map[string]any, n)
		for i, u := range f.images(f) {
			imgs[i] = map[string]any{"url": u, "content_type": "image/png"}
		}
		reply(w, http.StatusOK, map[string]any{"images": imgs, "seed": 1234,
			"has_nsfw_concepts": make([]bool, n)})
	default:
		http.NotFound(w, r)
	}
}

func requestOf(path string) string {
	rest := strings.TrimPrefix(path, "/fal-ai/flux/requests/")
	id, _, _ := strings.Cut(rest, "/")
	return id
}

func (f *fakeFAL) handleSubmit(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Key fal-test" {
		reply(w, http.StatusUnauthorized, map[string]any{"detail": "bad key"})
		return
	}
	f.submits.Add(1)
	if f.submit != nil && f.submit(w, r) {
		return
	}
	id := fmt.Sprintf("req-%d", f.submits.Load())
	f.mu.Lock()
	f.submitted[id] = time.Now()
	f.mu.Unlock()
	base := f.URL + "/fal-ai/flux/requests/" + id
	reply(w, http.StatusOK, map[string]any{"request_id": id, "status_url": base + "/status",
		"response_url": base, "cancel_url": base + "/cancel", "queue_position": 0})
}

func (f *fakeFAL) status(w http.ResponseWriter, id string) {
	f.polls.Add(1)
	f.mu.Lock()
	at, ok := f.submitted[id]
	f.mu.Unlock()
	switch {
	case !ok:
		reply(w, http.StatusNotFound, map[string]any{"detail": "unknown request"})
	case time.Since(at) < f.delay/2:
		reply(w, http.StatusAccepted, map[string]any{"status": "IN_QUEUE", "queue_position": 1})
	case time.Since(at) < f.delay:
		reply(w, http.StatusAccepted, map[string]any{"status": "IN_PROGRESS",
			"logs": []map[string]any{{"message": "40%"}}})
	default:
		reply(w, http.StatusOK, map[string]any{"status": "COMPLETED"})
	}
}

// file serves the result files, friendly and hostile.
func (f *fakeFAL) file(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/files/ok.png":
		_, _ = w.Write(f.png)
	case "/files/page.html":
		_, _ = w.Write([]byte("<!doctype html><title>nope</title>"))
	case "/files/bomb.png":
		data, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "testdata",
			"attacks", "bomb_50000x50000.png"))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(data)
	case "/files/redirect":
		http.Redirect(w, r, "https://internal.fal.media:"+f.Port()+"/files/ok.png",
			http.StatusFound)
	case "/files/huge.png":
		chunk := make([]byte, 64<<10)
		copy(chunk, "\x89PNG\r\n\x1a\n")
		for sent := 0; sent < 200<<20; sent += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			chunk = make([]byte, 64<<10)
		}
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeFAL) cancels() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.canceled...)
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func pngBytes(t testing.TB, w, h int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.NRGBA{uint8(x * 4), uint8(y * 5), 90, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// falWorld is the generation service wired to a fake FAL on a real database.
type falWorld struct {
	t       *testing.T
	db      *database.DB
	fal     *fakeFAL
	jobs    *job.Store
	credits *credit.Service
	gallery *gallery.Gallery
	gen     *generation.Service
	reg     *provider.Registry
	pool    *job.Pool
	sleeps  atomic.Int32
}

// newFALWorld wires everything on db with the clock now.
func newFALWorld(t *testing.T, db *database.DB, fal *fakeFAL, now func() time.Time,
	edit func(*provider.Settings)) *falWorld {
	w := &falWorld{t: t, db: db, fal: fal}
	s := provider.Settings{
		Backends: map[string]provider.Backend{provider.FAL: {Key: "fal-test",
			BaseURL: fal.URL}},
		Resolver: outboundtest.NewResolver("v3.fal.media=127.0.0.1",
			"internal.fal.media=10.0.0.9", "meta.fal.media=169.254.169.254",
			"cdn.evil.example=127.0.0.1"),
		RootCAs: fal.Pool, Timeout: 2 * time.Second, PollInterval: 10 * time.Millisecond,
		MaxBytes: 8 << 20,
		Sleep: func(ctx context.Context, d time.Duration) error {
			w.sleeps.Add(1)
			return ctx.Err()
		},
	}
	if edit != nil {
		edit(&s)
	}
	w.reg = provider.NewRegistry(s, nil)
	generation.ConfigureChecked(provider.Catalog(), w.reg.Check)
	t.Cleanup(func() { generation.Configure(provider.Catalog(), nil) })

	blobs, err := blob.NewDisk(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	w.jobs = job.NewStore(db, now)
	w.credits = credit.New(db, now)
	w.gallery = gallery.New(db, blobs, log)
	w.pool = job.NewPool(w.jobs, 2, log)
	w.gen = generation.New(db, w.jobs, w.credits, w.gallery, blobs, w.pool.Notify, now)
	w.gen.UseProviders(w.reg, log)
	w.pool.Register(generation.KindImage, w.gen)
	return w
}

// start runs the pool until the test ends or the returned function is called, which
// waits for the workers to stop.
func (w *falWorld) start() func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.pool.Run(ctx); close(done) }()
	stop := func() { cancel(); <-done }
	w.t.Cleanup(func() {
		select {
		case <-done:
		default:
			stop()
		}
	})
	return stop
}

// user creates a user holding credits.
func (w *falWorld) user(email string, credits credit.Milli) int64 {
	ctx := context.Background()
	var id int64
	err := w.db.Tx(ctx, func(tx *sqlx.Tx) error {
		return tx.GetContext(ctx, &id, tx.Rebind(`INSERT INTO users (email, created_at,
			updated_at) VALUES (?, 0, 0) RETURNING id`), email)
	})
	if err != nil {
		w.t.Fatal(err)
	}
	if credits > 0 {
		if err := w.credits.Set(ctx, id, credits, 0, "test"); err != nil {
			w.t.Fatal(err)
		}
	}
	return id
}

// submit queues a FAL job for userID.
func (w *falWorld) submit(userID int64, body string) *job.Job {
	w.t.Helper()
	var r generation.Request
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		w.t.Fatal(err)
	}
	p, err := r.Check(func() uint32 { return 77 })
	if err != nil {
		w.t.Fatal(err)
	}
	sub, err := w.gen.Submit(context.Background(), userID, p)
	if err != nil {
		w.t.Fatal(err)
	}
	return sub.Job
}

// wait returns job id once it is done; it gives up (failing the test) after a minute.
func (w *falWorld) wait(id string) *job.Job {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	j, err := w.gen.Wait(ctx, id)
	if err != nil {
		w.t.Fatal(err)
	}
	if !j.Done() {
		w.t.Fatalf("job %s still %s (%s)", id, j.Status, j.Message)
	}

	// The pool settles a job's credits just after it finishes it.
	for {
		var n int
		err := w.db.GetContext(ctx, &n, w.db.Rebind(`SELECT COUNT(*) FROM credit_ledger
			WHERE job_id = ? AND kind IN ('settle', 'refund')`), id)
		if err != nil {
			w.t.Fatal(err)
		}
		if n > 0 {
			return j
		}
		select {
		case <-ctx.Done():
			w.t.Fatalf("job %s was never settled", id)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// checkLedger asserts that the user's ledger adds up to the balance and that every job
// of the user is closed: settled or refunded.
func (w *falWorld) checkLedger(userID int64) {
	w.t.Helper()
	ctx := context.Background()
	var sum, balance int64
	if err := w.db.GetContext(ctx, &sum, w.db.Rebind(`SELECT CAST(COALESCE(SUM(amount), 0)
		AS BIGINT) FROM credit_ledger WHERE user_id = ?`), userID); err != nil {
		w.t.Fatal(err)
	}
	if err := w.db.GetContext(ctx, &balance, w.db.Rebind(`SELECT credits FROM users
		WHERE id = ?`), userID); err != nil {
		w.t.Fatal(err)
	}
	if sum != balance {
		w.t.Fatalf("ledger sums to %d, balance is %d", sum, balance)
	}
	var open int
	if err := w.db.GetContext(ctx, &open, w.db.Rebind(`SELECT COUNT(*) FROM credit_ledger r
		WHERE r.user_id = ? AND r.kind = 'reserve' AND NOT EXISTS (SELECT 1 FROM
		credit_ledger c WHERE c.job_id = r.job_id AND c.kind IN ('settle', 'refund'))`),
		userID); err != nil {
		w.t.Fatal(err)
	}
	if open != 0 {
		w.t.Fatalf("%d reservations never settled or refunded", open)
	}
}

// images returns the user's stored images, each read whole.
func (w *falWorld) images(userID int64) []gallery.Image {
	pg, err := w.gallery.List(context.Background(), userID, gallery.Filter{}, 1, 100)
	if err != nil {
		w.t.Fatal(err)
	}
	out := make([]gallery.Image, 0, len(pg.Images))
	for _, listed := range pg.Images {
		im, err := w.gallery.Get(context.Background(), userID, listed.ID)
		if err != nil {
			w.t.Fatal(err)
		}
		out = append(out, *im)
	}
	return out
}

// eachDB runs fn on every available database dialect.
func eachDB(t *testing.T, fn func(t *testing.T, db *database.DB)) { dbtest.Each(t, fn) }
