package training

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/blob"
	"github.com/sketchmaker/sketchmaker/internal/credit"
	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/job"
	"github.com/sketchmaker/sketchmaker/internal/upload"
)

// testdata is the shared folder of real inputs, relative to this package.
var testdata = filepath.Join("..", "..", "..", "shared", "testdata")

// photos returns the shared camera photos, or skips.
func photos(t testing.TB) map[string][]byte {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(testdata, "photos", "*.jpg"))
	if len(paths) < MinImages {
		t.Skip("shared test photos are not available")
	}
	out := map[string][]byte{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = data
	}
	return out
}

// rig is a training service with real uploads, jobs, credits and a worker pool.
type rig struct {
	svc     *Service
	db      *database.DB
	uploads *upload.Service
	credits *credit.Service
	jobs    *job.Store
	root    string
}

func newRig(t *testing.T, db *database.DB, trainers ...Trainer) *rig {
	t.Helper()
	root := t.TempDir()
	blobs, err := blob.NewDisk(filepath.Join(root, "files"))
	if err != nil {
		t.Fatal(err)
	}
	ups, err := upload.New(db, blobs, upload.Options{TempDir: filepath.Join(root, "tmp")})
	if err != nil {
		t.Fatal(err)
	}
	if len(trainers) == 0 {
		trainers = []Trainer{Builtin{}}
	}
	r := &rig{db: db, uploads: ups, credits: credit.New(db, time.Now),
		jobs: job.NewStore(db, time.Now), root: root}
	r.svc, err = New(Deps{DB: db, Jobs: r.jobs, Credits: r.credits, Uploads: ups,
		Blobs: blobs, Trainers: trainers, TempDir: filepath.Join(root, "runs"), Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// work runs a worker pool until the test ends.
func (r *rig) work(t *testing.T) *job.Pool {
	pool := job.NewPool(r.jobs, 1, slog.New(slog.DiscardHandler))
	pool.Register(Kind, r.svc)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { pool.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return pool
}

// user adds a user with a balance in credits.
func (r *rig) user(t *testing.T, email string, credits int64) int64 {
	t.Helper()
	ctx := context.Background()
	_, err := r.db.ExecContext(ctx, r.db.Rebind(`INSERT INTO users (email, created_at,
		updated_at) VALUES (?, 0, 0)`), email)
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := r.db.GetContext(ctx, &id, r.db.Rebind(`SELECT id FROM users WHERE email = ?`),
		email); err != nil {
		t.Fatal(err)
	}
	if err := r.credits.Set(ctx, id, credit.Milli(credits*1000), 0, "test"); err != nil {
		t.Fatal(err)
	}
	return id
}

// upload stores n of the shared photos for userID and returns their ids.
func (r *rig) upload(t *testing.T, userID int64, n int) []string {
	t.Helper()
	var ids []string
	for name, data := range photos(t) {
		if len(ids) == n {
			break
		}
		acc, err := r.uploads.Accept(context.Background(), userID, name, bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, acc.Uploads[0].ID)
	}
	if len(ids) < n {
		t.Skipf("only %d shared photos", len(ids))
	}
	return ids
}

// finish waits for job id to end.
func (r *rig) finish(t *testing.T, id string) *job.Job {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		j, err := r.jobs.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if j.Done() {
			return j
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("job %s did not finish", id)
	return nil
}

// settled waits for the job's settlement, which follows its final state, to bring the
// balance to want, and returns the balance as it then is.
func (r *rig) settled(t *testing.T, userID int64, want credit.Milli) credit.Milli {
	t.Helper()
	b := r.balance(t, userID)
	for i := 0; i < 500 && b != want; i++ {
		time.Sleep(10 * time.Millisecond)
		b = r.balance(t, userID)
	}
	return b
}

func (r *rig) balance(t *testing.T, userID int64) credit.Milli {
	t.Helper()
	b, err := r.credits.Balance(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func intp(n int) *int    { return &n }
func boolp(b bool) *bool { return &b }

func TestRequestCheck(t *testing.T) {
	cases := []struct {
		req   Request
		field string // "" for accepted
		want  Params
	}{
		{Request{TriggerWord: "my_style"}, "", Params{"my_style", 1000, true, false}},
		{Request{TriggerWord: "ab", Steps: intp(100), CreateMasks: boolp(false),
			IsStyle: boolp(true)}, "", Params{"ab", 100, false, true}},
		{Request{TriggerWord: strings.Repeat("x", 32), Steps: intp(1000)}, "",
			Params{strings.Repeat("x", 32), 1000, true, false}},
		{Request{TriggerWord: "A-b_9"}, "", Params{"A-b_9", 1000, true, false}},
		{Request{TriggerWord: "a"}, "trigger_word", Params{}},
		{Request{TriggerWord: strings.Repeat("x", 33)}, "trigger_word", Params{}},
		{Request{TriggerWord: "two words"}, "trigger_word", Params{}},
		{Request{TriggerWord: "naïve"}, "trigger_word", Params{}},
		{Request{TriggerWord: "<b>"}, "trigger_word", Params{}},
		{Request{TriggerWord: ""}, "trigger_word", Params{}},
		{Request{TriggerWord: "ok", Steps: intp(99)}, "steps", Params{}},
		{Request{TriggerWord: "ok", Steps: intp(1001)}, "steps", Params{}},
		{Request{TriggerWord: "ok", Steps: intp(0)}, "steps", Params{}},
		{Request{TriggerWord: "ok", Steps: intp(-5)}, "steps", Params{}},
	}
	for _, tc := range cases {
		p, err := tc.req.Check()
		if tc.field == "" {
			if err != nil || *p != tc.want {
				t.Errorf("%+v: %+v %v", tc.req, p, err)
			}
			continue
		}
		if fe := fault.As(err); fe == nil || fe.Field != tc.field || fe.Kind != fault.Invalid {
			t.Errorf("%+v: %v, want a refusal of %s", tc.req, err, tc.field)
		}
	}
}

// FuzzRequestCheck checks that a trigger word is accepted exactly when it is 2 to 32 of
// the allowed characters.
func FuzzRequestCheck(f *testing.F) {
	for _, s := range []string{"ab", "my-style_1", "a", "x y", "\x00\x00", "ÄÖ", "--"} {
		f.Add(s, 500)
	}
	f.Fuzz(func(t *testing.T, word string, steps int) {
		p, err := (&Request{TriggerWord: word, Steps: &steps}).Check()
		valid := len(word) >= 2 && len(word) <= 32 && steps >= MinSteps && steps <= MaxSteps
		for _, c := range []byte(word) {
			valid = valid && wordByte(c)
		}
		if valid != (err == nil) {
			t.Fatalf("%q %d: %v", word, steps, err)
		}
		if err == nil && (p.TriggerWord != word || p.Steps != steps) {
			t.Fatalf("params %+v", p)
		}
	})
}

func TestContainsWord(t *testing.T) {
	cases := []struct {
		text, word string
		want       bool
	}{
		{"a portrait in my_style", "my_style", true},
		{"MY_STYLE portrait", "my_style", true},
		{"my_style.", "my_style", true},
		{"(my_style)", "my_style", true},
		{"my_styles everywhere", "my_style", false},
		{"notmy_style", "my_style", false},
		{"my_style-2", "my_style", false},
		{"my_style-2", "my_style-2", true},
		{"émy_style", "my_style", true},
		{"", "x", false},
		{"anything", "", false},
		{"x my_stylemy_style my_style", "my_style", true},
	}
	for _, tc := range cases {
		if got := ContainsWord(tc.text, tc.word); got != tc.want {
			t.Errorf("ContainsWord(%q, %q) = %v", tc.text, tc.word, got)
		}
	}
}

// FuzzContainsWord checks that a match is always an occurrence, ignoring case.
func FuzzContainsWord(f *testing.F) {
	f.Add("a portrait in my_style", "my_style")
	f.Add("ÄmY_sTyLe!", "my_style")
	f.Fuzz(func(t *testing.T, text, word string) {
		if ContainsWord(text, word) &&
			!strings.Contains(asciiLower(text), asciiLower(word)) {
			t.Fatalf("%q found in %q", word, text)
		}
	})
}

func asciiLower(s string) string {
	b := []byte(s)
	for i := range b {
		b[i] = lower(b[i])
	}
	return string(b)
}

// TestBuiltinTrainingEndToEnd uploads real photos, trains the built-in style through the
// job pool, and checks the record, the files, the credits and the profile lookup.
func TestBuiltinTrainingEndToEnd(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		r := newRig(t, db)
		r.work(t)
		ctx := context.Background()
		owner, other := r.user(t, "owner@example.com", 100), r.user(t, "other@example.com", 100)
		ids := r.upload(t, owner, 6)

		st, err := r.svc.Start(ctx, owner, &Request{UploadIDs: ids, TriggerWord: "camstyle",
			Steps: intp(300), IsStyle: boolp(true)})
		if err != nil {
			t.Fatal(err)
		}
		if st.Cost != 40*credit.One || st.Remaining != 60*credit.One {
			t.Errorf("cost %s, remaining %s", st.Cost, st.Remaining)
		}
		j := r.finish(t, st.Job.ID)
		if j.Status != job.Succeeded || j.Kind != Kind || j.Provider != "builtin" {
			t.Fatalf("job %+v", j)
		}
		if b := r.balance(t, owner); b != 60*credit.One {
			t.Errorf("balance after success %s, want 60", b)
		}

		got, err := r.svc.Get(ctx, owner, st.Job.ID)
		if err != nil || !got.Done() || got.ImageCount != 6 || got.Steps != 300 || !got.IsStyle {
			t.Fatalf("status %+v %v", got, err)
		}
		lines := got.LogLines()
		if len(lines) < 3 || !strings.Contains(lines[len(lines)-1], "Finished") {
			t.Errorf("log %q", lines)
		}
		if _, err := r.svc.Get(ctx, other, st.Job.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("another user's training: %v", err)
		}

		f, n, name, err := r.svc.Open(ctx, owner, st.Job.ID, Weights)
		if err != nil {
			t.Fatal(err)
		}
		weights, _ := io.ReadAll(f)
		f.Close()
		if int64(len(weights)) != n || name != "camstyle-style-profile.json" ||
			!bytes.Contains(weights, []byte(`"Palette"`)) {
			t.Errorf("weights %s (%d bytes): %.80s", name, n, weights)
		}
		if _, _, _, err := r.svc.Open(ctx, other, st.Job.ID, Weights); !errors.Is(err,
			ErrNotFound) {
			t.Errorf("another user opened the weights: %v", err)
		}

		prof, err := r.svc.ProfileFor(ctx, owner, "a harbour at dusk, CamStyle")
		if err != nil || prof == nil || len(prof.Palette) < 5 {
			t.Fatalf("profile for the trigger word: %+v %v", prof, err)
		}
		for _, prompt := range []string{"a harbour at dusk", "camstyles"} {
			if p, _ := r.svc.ProfileFor(ctx, owner, prompt); p != nil {
				t.Errorf("profile for %q", prompt)
			}
		}
		if p, _ := r.svc.ProfileFor(ctx, other, "camstyle"); p != nil {
			t.Error("another user's prompt used the style")
		}

		styles, err := r.svc.Styles(ctx, owner)
		if err != nil || len(styles) != 1 || styles[0].TriggerWord != "camstyle" {
			t.Errorf("styles %+v %v", styles, err)
		}
		if left := files(t, filepath.Join(r.root, "runs")); len(left) > 0 {
			t.Errorf("run files left: %v", left)
		}
	})
}

// TestProfileFollowsTheImages checks that the learned profile describes the training
// images: a set of red pictures gives a reddish palette.
func TestProfileFollowsTheImages(t *testing.T) {
	r := newRig(t, dbtest.SQLite(t))
	r.work(t)
	owner := r.user(t, "owner@example.com", 100)
	var ids []string
	for i := range 5 {
		data := solidPNG(t, color.NRGBA{uint8(200 + i*10), 30, 40, 255})
		acc, err := r.uploads.Accept(context.Background(), owner, "red.png",
			bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, acc.Uploads[0].ID)
	}
	st, err := r.svc.Start(context.Background(), owner, &Request{UploadIDs: ids,
		TriggerWord: "reds"})
	if err != nil {
		t.Fatal(err)
	}
	if j := r.finish(t, st.Job.ID); j.Status != job.Succeeded {
		t.Fatalf("job %+v", j)
	}
	prof, err := r.svc.ProfileFor(context.Background(), owner, "reds")
	if err != nil || prof == nil {
		t.Fatal(err)
	}
	for _, c := range prof.Palette[:1] {
		if c.R < 150 || c.G > 80 || c.B > 80 {
			t.Errorf("dominant colour %v of red pictures", c)
		}
	}
}

// failing is a trainer that always fails with a safe message.
type failing struct{}

func (failing) Name() string  { return "builtin" }
func (failing) Model() string { return "test/failing" }
func (failing) Train(ctx context.Context, run *Run) (*Output, error) {
	run.Report(ctx, 20, "Trying")
	return nil, fault.New(fault.Unavailable, "The test trainer gave up.")
}

func TestFailedTrainingIsRefunded(t *testing.T) {
	r := newRig(t, dbtest.SQLite(t), failing{})
	r.work(t)
	owner := r.user(t, "owner@example.com", 50)
	st, err := r.svc.Start(context.Background(), owner, &Request{
		UploadIDs: r.upload(t, owner, 5), TriggerWord: "nope"})
	if err != nil {
		t.Fatal(err)
	}
	if b := r.balance(t, owner); b != 10*credit.One {
		t.Errorf("balance while reserved %s, want 10", b)
	}
	j := r.finish(t, st.Job.ID)
	if j.Status != job.Failed || j.Error != "The test trainer gave up." {
		t.Fatalf("job %+v", j)
	}
	if b := r.settled(t, owner, 50*credit.One); b != 50*credit.One {
		t.Errorf("balance after failure %s, want 50", b)
	}
	got, _ := r.svc.Get(context.Background(), owner, st.Job.ID)
	if got.Done() || !strings.Contains(got.Logs, "Failed: The test trainer gave up.") {
		t.Errorf("status %+v", got.Training)
	}
	if _, _, _, err := r.svc.Open(context.Background(), owner, st.Job.ID, Weights); err == nil {
		t.Error("a failed training has weights")
	}
}

func TestStartRefusals(t *testing.T) {
	r := newRig(t, dbtest.SQLite(t))
	ctx := context.Background()
	owner, other := r.user(t, "owner@example.com", 100), r.user(t, "other@example.com", 100)
	poor := r.user(t, "poor@example.com", 39)
	mine, theirs := r.upload(t, owner, 5), r.upload(t, other, 5)
	poorIDs := r.upload(t, poor, 5)
	many := make([]string, 21)
	for i := range many {
		many[i] = fmt.Sprintf("%032x", i)
	}

	cases := []struct {
		name string
		user int64
		req  Request
		kind fault.Kind
		want string
	}{
		{"four images", owner, Request{UploadIDs: mine[:4], TriggerWord: "ok"},
			fault.Invalid, "at least 5"},
		{"twenty-one images", owner, Request{UploadIDs: many, TriggerWord: "ok"},
			fault.Invalid, "at most 20"},
		{"no images", owner, Request{TriggerWord: "ok"}, fault.Invalid, "at least 5"},
		{"ids and zip", owner, Request{UploadIDs: mine, ZipID: mine[0], TriggerWord: "ok"},
			fault.Invalid, "not both"},
		{"another user's uploads", owner, Request{UploadIDs: append(mine[:4:4], theirs[0]),
			TriggerWord: "ok"}, fault.NotFound, "does not exist"},
		{"unknown zip", owner, Request{ZipID: strings.Repeat("b", 32), TriggerWord: "ok"},
			fault.NotFound, "does not exist"},
		{"bad trigger word", owner, Request{UploadIDs: mine, TriggerWord: "x"},
			fault.Invalid, "trigger word"},
		{"bad steps", owner, Request{UploadIDs: mine, TriggerWord: "ok", Steps: intp(5000)},
			fault.Invalid, "steps"},
	}
	for _, tc := range cases {
		_, err := r.svc.Start(ctx, tc.user, &tc.req)
		fe := fault.As(err)
		if fe == nil || fe.Kind != tc.kind || !strings.Contains(fe.Message, tc.want) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}

	_, err := r.svc.Start(ctx, poor, &Request{UploadIDs: poorIDs, TriggerWord: "ok"})
	var ie *credit.InsufficientError
	if !errors.As(err, &ie) {
		t.Fatalf("short of credits: %v", err)
	}
	var jobs, trainings int
	r.db.GetContext(ctx, &jobs, `SELECT COUNT(*) FROM jobs`)
	r.db.GetContext(ctx, &trainings, `SELECT COUNT(*) FROM trainings`)
	if jobs != 0 || trainings != 0 || r.balance(t, poor) != 39*credit.One {
		t.Errorf("refusals left %d jobs, %d trainings", jobs, trainings)
	}
}

func TestStartFromAnArchive(t *testing.T) {
	r := newRig(t, dbtest.SQLite(t))
	r.work(t)
	owner := r.user(t, "owner@example.com", 100)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	n := 0
	for name, data := range photos(t) {
		if n == 5 {
			break
		}
		w, _ := zw.Create("set/" + name)
		w.Write(data)
		n++
	}
	zw.Close()
	acc, err := r.uploads.Accept(context.Background(), owner, "set.zip", &buf)
	if err != nil {
		t.Fatal(err)
	}

	st, err := r.svc.Start(context.Background(), owner, &Request{ZipID: acc.Batch,
		TriggerWord: "zipped"})
	if err != nil {
		t.Fatal(err)
	}
	if j := r.finish(t, st.Job.ID); j.Status != job.Succeeded || st.Training.ImageCount != 5 {
		t.Fatalf("job %+v, %d images", j, st.Training.ImageCount)
	}
}

// TestArchiveIsBuiltFromTheCleanedUploads checks the set a remote trainer receives: the
// stored, cleaned images, prepared for a provider (JPEG, at most 1536 pixels a side, under
// 4 MB), under names of the server's choosing.
func TestArchiveIsBuiltFromTheCleanedUploads(t *testing.T) {
	r := newRig(t, dbtest.SQLite(t))
	owner := r.user(t, "owner@example.com", 100)
	ids := r.upload(t, owner, 4)
	big, err := r.uploads.Accept(context.Background(), owner, "big.png",
		bytes.NewReader(solidPNGSized(t, 3000, 1000)))
	if err != nil {
		t.Fatal(err)
	}
	ids = append(ids, big.Uploads[0].ID)
	ups, err := r.uploads.GetMany(context.Background(), owner, ids)
	if err != nil {
		t.Fatal(err)
	}
	set := &storedSet{uploads: r.uploads, images: ups}
	path, err := set.Archive(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}

	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != 5 {
		t.Fatalf("%d entries", len(zr.File))
	}
	for i, f := range zr.File {
		rc, _ := f.Open()
		data, _ := io.ReadAll(rc)
		rc.Close()
		img, format, err := image.Decode(bytes.NewReader(data))
		if err != nil || format != "jpeg" || f.Name != fmt.Sprintf("image_%02d.jpg", i+1) {
			t.Fatalf("entry %q: %s %v", f.Name, format, err)
		}
		want := image.Pt(ups[i].Width, ups[i].Height)
		if i == 4 {
			want = image.Pt(1536, 512)
		}
		if img.Bounds().Size() != want || len(data) >= 4<<20 ||
			bytes.Contains(data, []byte("Exif")) {
			t.Errorf("entry %d: %v, %d bytes", i, img.Bounds().Size(), len(data))
		}
	}
}

// solidPNGSized encodes a w×h picture of one colour.
func solidPNGSized(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = 90, 120, 200, 255
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSettleIsIdempotent(t *testing.T) {
	r := newRig(t, dbtest.SQLite(t))
	owner := r.user(t, "owner@example.com", 100)
	st, err := r.svc.Start(context.Background(), owner, &Request{
		UploadIDs: r.upload(t, owner, 5), TriggerWord: "twice"})
	if err != nil {
		t.Fatal(err)
	}
	j := *st.Job
	j.Status = job.Failed
	for range 2 {
		if err := r.svc.Settle(context.Background(), &j); err != nil {
			t.Fatal(err)
		}
	}
	if b := r.balance(t, owner); b != 100*credit.One {
		t.Errorf("balance %s after two settlements of a failure", b)
	}
}

// solidPNG encodes a 64x64 picture of one colour with a little texture.
func solidPNG(t *testing.T, c color.NRGBA) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 64, 64))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G+uint8(i%7), c.B, 255
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// files returns every regular file under dir.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}
