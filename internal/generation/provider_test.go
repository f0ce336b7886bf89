package generation_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash/crc32"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/credit"
	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/generation"
	"github.com/sketchmaker/sketchmaker/internal/job"
	"github.com/sketchmaker/sketchmaker/internal/media"
	"github.com/sketchmaker/sketchmaker/internal/outbound/outboundtest"
	"github.com/sketchmaker/sketchmaker/internal/provider"
)

const falJob = `{"prompt":"a red fox in the snow","model":"fal-ai/flux/dev",` +
	`"image_size":"square","output_format":"webp","num_images":1}`

// TestFALJobsEndAsTheyShould runs real jobs through the pool against every answer the
// issue lists, and checks the job's end, the credits and what was stored.
func TestFALJobsEndAsTheyShould(t *testing.T) {
	status := func(code int, body string, header ...string) func(http.ResponseWriter,
		*http.Request) bool {
		return func(w http.ResponseWriter, r *http.Request) bool {
			for i := 0; i+1 < len(header); i += 2 {
				w.Header().Set(header[i], header[i+1])
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			_, _ = w.Write([]byte(body))
			return true
		}
	}
	once := func(h func(http.ResponseWriter, *http.Request) bool) func(http.ResponseWriter,
		*http.Request) bool {
		var n atomic.Int32
		return func(w http.ResponseWriter, r *http.Request) bool {
			return n.Add(1) == 1 && h(w, r)
		}
	}
	hang := func(w http.ResponseWriter, r *http.Request) bool {
		select {
		case <-r.Context().Done():
		case <-time.After(3 * time.Second):
		}
		return true
	}
	cases := []struct {
		name   string
		submit func(http.ResponseWriter, *http.Request) bool
		image  string // result path, or a URL
		ok     bool
		phrase string
	}{
		{name: "success", ok: true},
		{name: "401", submit: status(401, `{"detail":"bad key"}`), phrase: "credentials"},
		{name: "422", submit: status(422, `{"detail":[{"loc":["body","prompt"],`+
			`"msg":"a red fox in the snow","type":"value_error"}]}`), phrase: "settings"},
		{name: "429 with Retry-After", submit: once(status(429, `{}`, "Retry-After", "2")),
			ok: true},
		{name: "500", submit: status(500, `{}`), phrase: "problems"},
		{name: "hang past the timeout", submit: hang, phrase: "in time"},
		{name: "malformed JSON", submit: status(200, `{"request_id":`), phrase: "read"},
		{name: "image on a foreign host", image: "https://cdn.evil.example/files/ok.png",
			phrase: "address"},
		{name: "image at 127.0.0.1", image: "https://127.0.0.1:1/files/ok.png",
			phrase: "address"},
		{name: "image at 169.254.169.254", image: "https://169.254.169.254/latest/meta-data",
			phrase: "address"},
		{name: "redirect to a private address", image: "/files/redirect", phrase: "address"},
		{name: "200 MB body", image: "/files/huge.png", phrase: "larger"},
		{name: "non-image body", image: "/files/page.html", phrase: "not an image"},
		{name: "pixel bomb", image: "/files/bomb.png", phrase: "not an image"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.image == "/files/bomb.png" {
				if _, err := os.Stat(filepath.Join("..", "..", "..", "shared", "testdata",
					"attacks", "bomb_50000x50000.png")); err != nil {
					t.Skipf("shared test data not available: %v", err)
				}
			}
			eachDB(t, func(t *testing.T, db *database.DB) {
				fal := newFakeFAL(t)
				fal.submit = c.submit
				if c.image != "" {
					img := c.image
					fal.images = func(f *fakeFAL) []string {
						if strings.HasPrefix(img, "/") {
							return []string{f.cdn(img)}
						}
						return []string{img}
					}
				}
				w := newFALWorld(t, db, fal, time.Now, nil)
				w.start()
				uid := w.user("u@example.com", 5*credit.One)

				j := w.wait(w.submit(uid, falJob).ID)
				bal, _ := w.credits.Balance(context.Background(), uid)
				ims := w.images(uid)
				if c.ok {
					if j.Status != job.Succeeded || len(ims) != 1 || bal != 4*credit.One {
						t.Fatalf("job %s (%s), %d images, balance %s", j.Status, j.Error,
							len(ims), bal)
					}
					if ims[0].Format != "webp" || ims[0].Engine != "fal" ||
						ims[0].Width != 64 || ims[0].Height != 48 {
						t.Fatalf("stored %+v", ims[0])
					}
				} else {
					if j.Status != job.Failed || len(ims) != 0 || bal != 5*credit.One {
						t.Fatalf("job %s, %d images stored, balance %s", j.Status, len(ims),
							bal)
					}
					if !strings.Contains(j.Error, c.phrase) ||
						!strings.Contains(j.Error, "refunded") ||
						strings.Contains(j.Error, "red fox") || strings.Contains(j.Error,
						"fal-test") {
						t.Fatalf("error %q", j.Error)
					}
				}
				w.checkLedger(uid)
			})
		})
	}
}

func TestStoredImagesAreReencoded(t *testing.T) {
	eachDB(t, func(t *testing.T, db *database.DB) {
		fal := newFakeFAL(t)
		// The provider's file carries a text chunk; the stored file must not.
		fal.png = withTextChunk(fal.png, "GPS 51.5N 0.1W")
		w := newFALWorld(t, db, fal, time.Now, nil)
		w.start()
		uid := w.user("u@example.com", 5*credit.One)
		body := strings.Replace(falJob, `"webp"`, `"png"`, 1)
		j := w.wait(w.submit(uid, body).ID)
		if j.Status != job.Succeeded {
			t.Fatalf("job %s: %s", j.Status, j.Error)
		}
		im := w.images(uid)[0]
		f, _, err := w.gallery.Open(context.Background(), &im, false)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(f)
		if bytes.Contains(b.Bytes(), []byte("GPS 51.5N")) {
			t.Fatal("the provider's metadata was stored")
		}
		if _, _, err := media.DecodeLimited(b.Bytes(), media.Limits{}); err != nil {
			t.Fatalf("stored file is not an image: %v", err)
		}
	})
}

// withTextChunk inserts a tEXt chunk after a PNG's header chunk.
func withTextChunk(p []byte, text string) []byte {
	data := append([]byte("Comment\x00"), text...)
	chunk := make([]byte, 8, 12+len(data))
	chunk[0], chunk[1], chunk[2], chunk[3] = 0, 0, byte(len(data)>>8), byte(len(data))
	copy(chunk[4:], "tEXt")
	chunk = append(chunk, data...)
	sum := crc32.ChecksumIEEE(chunk[4:])
	chunk = append(chunk, byte(sum>>24), byte(sum>>16), byte(sum>>8), byte(sum))
	out := append([]byte{}, p[:33]...)
	out = append(out, chunk...)
	return append(out, p[33:]...)
}

func TestNumImagesAreClampedAndPaidPerDelivery(t *testing.T) {
	eachDB(t, func(t *testing.T, db *database.DB) {
		fal := newFakeFAL(t)
		// Two images asked for, three sent back: only two are stored and paid.
		fal.images = func(f *fakeFAL) []string {
			u := f.cdn("/files/ok.png")
			return []string{u, u, u}
		}
		w := newFALWorld(t, db, fal, time.Now, nil)
		w.start()
		uid := w.user("u@example.com", 10*credit.One)
		body := strings.Replace(falJob, `"num_images":1`, `"num_images":2`, 1)
		j := w.wait(w.submit(uid, body).ID)
		bal, _ := w.credits.Balance(context.Background(), uid)
		if j.Status != job.Succeeded || len(w.images(uid)) != 2 || bal != 8*credit.One {
			t.Fatalf("job %s, %d images, balance %s", j.Status, len(w.images(uid)), bal)
		}

		// A model that makes one image per request reserves for one.
		p := strings.Replace(falJob, "fal-ai/flux/dev", "fal-ai/flux-2-pro", 1)
		p = strings.Replace(p, `"num_images":1`, `"num_images":4`, 1)
		sub := w.submit(uid, p)
		if sub.CostReserved != 2000 {
			t.Fatalf("reserved %d for a one-image model at 2 credits", sub.CostReserved)
		}
	})
}

func TestCancelReachesFAL(t *testing.T) {
	eachDB(t, func(t *testing.T, db *database.DB) {
		fal := newFakeFAL(t)
		fal.delay = time.Hour
		w := newFALWorld(t, db, fal, time.Now, nil)
		w.start()
		uid := w.user("u@example.com", 5*credit.One)
		j := w.submit(uid, falJob)

		waitFor(t, "the request to be submitted", func() bool {
			cur, _ := w.jobs.Get(context.Background(), j.ID)
			return cur.ProviderRequestID != ""
		})
		canceled, ok, err := w.jobs.Cancel(context.Background(), uid, j.ID)
		if err != nil || !ok {
			t.Fatalf("cancel: %v %v", ok, err)
		}
		canceled.Status = job.Canceled
		if err := w.gen.Settle(context.Background(), canceled); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "FAL's cancel URL to be called", func() bool {
			return len(fal.cancels()) == 1
		})
		if got := fal.cancels()[0]; got != "req-1" {
			t.Fatalf("canceled %q", got)
		}
		if bal, _ := w.credits.Balance(context.Background(), uid); bal != 5*credit.One {
			t.Fatalf("balance %s after cancel", bal)
		}
		w.checkLedger(uid)
	})
}

// waitFor polls cond until it holds, failing the test after a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRestartFollowsRequestsAndLosesNothing queues jobs against a slow FAL, stops the
// workers while jobs are queued and running, and starts new workers on the same
// database, as after a crash: every job completes with its images or is refunded, no
// request is submitted twice, and the ledger sums.
func TestRestartFollowsRequestsAndLosesNothing(t *testing.T) {
	eachDB(t, func(t *testing.T, db *database.DB) {
		fal := newFakeFAL(t)
		fal.delay = 400 * time.Millisecond
		first := newFALWorld(t, db, fal, time.Now, nil)
		stop := first.start()
		users := []int64{first.user("a@example.com", 20*credit.One),
			first.user("b@example.com", 20*credit.One)}
		var ids []string
		for i := 0; i < 6; i++ {
			ids = append(ids, first.submit(users[i%2], falJob).ID)
		}
		waitFor(t, "two requests at FAL", func() bool { return fal.submits.Load() >= 2 })
		stop()

		// The new process's clock is a minute on, so the old leases have run out.
		later := func() time.Time { return time.Now().Add(time.Minute) }
		second := newFALWorld(t, db, fal, later, nil)
		second.start()
		for _, id := range ids {
			j := second.wait(id)
			n := countImages(t, second, j)
			switch j.Status {
			case job.Succeeded:
				if n != 1 || j.CostSettled != 1000 {
					t.Errorf("job %s succeeded with %d images, charged %d", id, n,
						j.CostSettled)
				}
			case job.Failed:
				if n != 0 || j.CostSettled != 0 {
					t.Errorf("failed job %s kept %d images, charged %d", id, n, j.CostSettled)
				}
			default:
				t.Errorf("job %s ended %s", id, j.Status)
			}
		}
		if got := int(fal.submits.Load()); got != len(ids) {
			t.Errorf("%d submissions for %d jobs: a request was submitted twice", got,
				len(ids))
		}
		for _, u := range users {
			second.checkLedger(u)
		}
	})
}

func countImages(t *testing.T, w *falWorld, j *job.Job) int {
	n := 0
	for _, im := range w.images(j.UserID) {
		if im.JobID == j.ID {
			n++
		}
	}
	return n
}

func TestFALWebhook(t *testing.T) {
	eachDB(t, func(t *testing.T, db *database.DB) {
		pub, priv, _ := ed25519.GenerateKey(rand.Reader)
		keys := outboundtest.NewTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter,
			r *http.Request) {
			reply(w, http.StatusOK, map[string]any{"keys": []map[string]any{{"kty": "OKP",
				"crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(pub)}}})
		}))
		fal := newFakeFAL(t)
		fal.delay = time.Hour // only the webhook can end the wait early
		w := newFALWorld(t, db, fal, time.Now, func(s *provider.Settings) {
			s.FALWebhookURL = "https://studio.example/webhooks/fal"
			s.FALJWKSURL = keys.URL + "/jwks.json"
			s.RootCAs.AppendCertsFromPEM(keys.CertPEM)
		})
		w.start()
		uid := w.user("u@example.com", 5*credit.One)
		j := w.submit(uid, falJob)
		waitFor(t, "the request to be submitted", func() bool {
			cur, _ := w.jobs.Get(context.Background(), j.ID)
			return cur.ProviderRequestID != ""
		})

		body := []byte(`{"request_id":"req-1","gateway_request_id":"req-1","status":"OK",` +
			`"payload":{"images":[]}}`)
		sign := func(reqID string, at time.Time) provider.WebhookHeaders {
			sum := sha256.Sum256(body)
			ts := strconv.FormatInt(at.Unix(), 10)
			msg := reqID + "\n" + "user-1" + "\n" + ts + "\n" + hex.EncodeToString(sum[:])
			return provider.WebhookHeaders{RequestID: reqID, UserID: "user-1", Timestamp: ts,
				Signature: hex.EncodeToString(ed25519.Sign(priv, []byte(msg)))}
		}

		if _, err := w.gen.FALWebhook(context.Background(), sign("req-1",
			time.Now().Add(-10*time.Minute)), body); fault.As(err) == nil ||
			fault.As(err).Kind != fault.Unauthorized {
			t.Fatalf("stale webhook: %v", err)
		}
		fresh, err := w.gen.FALWebhook(context.Background(), sign("req-1", time.Now()), body)
		if err != nil || !fresh {
			t.Fatalf("webhook: %v %v", fresh, err)
		}
		again, err := w.gen.FALWebhook(context.Background(), sign("req-1", time.Now()), body)
		if err != nil || again {
			t.Fatalf("repeated webhook counted again: %v %v", again, err)
		}

		// The worker polls at once and finds... an unfinished request (the fake says so
		// for an hour), so it keeps waiting: the webhook is a hint, never a result.
		polls := fal.polls.Load()
		waitFor(t, "a poll after the webhook", func() bool { return fal.polls.Load() > polls })
		cur, _ := w.jobs.Get(context.Background(), j.ID)
		if cur.Done() {
			t.Fatalf("a webhook ended the job (%s) without FAL's own answer", cur.Status)
		}
	})
}

func TestJobOfAProviderSwitchedOffIsRefunded(t *testing.T) {
	eachDB(t, func(t *testing.T, db *database.DB) {
		w := newFALWorld(t, db, newFakeFAL(t), time.Now, nil)
		uid := w.user("u@example.com", 5*credit.One)
		id := w.submit(uid, falJob).ID

		// The administrator removes FAL's key before the job runs.
		generation.Configure(provider.Catalog(), nil)
		w.start()
		j := w.wait(id)
		if j.Status != job.Failed || !strings.Contains(j.Error, "not configured") ||
			!strings.Contains(j.Error, "refunded") {
			t.Fatalf("job %s: %q", j.Status, j.Error)
		}
		if bal, _ := w.credits.Balance(context.Background(), uid); bal != 5*credit.One {
			t.Fatalf("balance %s", bal)
		}
		w.checkLedger(uid)
	})
}
