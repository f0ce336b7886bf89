package web_test

// The acceptance tests of issue 6 over HTTP: every shared photo and hostile file through
// POST /api/training/upload, the size limits while streaming, archives, the malware scan,
// and style training end to end with the built-in trainer.

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/apptest"
	"github.com/sketchmaker/sketchmaker/internal/clamd/clamdtest"
	"github.com/sketchmaker/sketchmaker/internal/engine"
)

// sharedDir is the shared test data folder, relative to this package.
var sharedDir = filepath.Join("..", "..", "..", "shared", "testdata")

// sharedFile reads a shared test file, or skips the test when the folder is absent.
func sharedFile(t testing.TB, parts ...string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(append([]string{sharedDir}, parts...)...))
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("shared test data is not available: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// sharedList lists a shared folder without its README, or skips.
func sharedList(t testing.TB, dir string) []string {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(sharedDir, dir, "*"))
	var names []string
	for _, p := range paths {
		if filepath.Base(p) != "README.md" {
			names = append(names, filepath.Base(p))
		}
	}
	if len(names) == 0 {
		t.Skipf("shared test data %s is not available", dir)
	}
	return names
}

// part is one file of a multipart upload.
type part struct {
	name string
	data []byte
}

// quoteEscaper escapes a file name as mime/multipart does.
var quoteEscaper = strings.NewReplacer("\\", "\\\\", `"`, "\\\"")

// multipartBody encodes parts as the form field "file".
func multipartBody(t testing.TB, parts ...part) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="file"; filename="`+
			quoteEscaper.Replace(p.name)+`"`)
		h.Set("Content-Type", "application/octet-stream")
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(p.data)
	}
	mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

// upload sends parts to the upload endpoint with the CSRF header.
func upload(t testing.TB, c *apptest.Client, parts ...part) *apptest.Response {
	t.Helper()
	body, ctype := multipartBody(t, parts...)
	return c.Send(http.MethodPost, "/api/training/upload", ctype, body, c.CSRF())
}

// signedIn registers a new user with a balance, on the professional plan, which includes
// style training.
func signedIn(t testing.TB, app *apptest.App, email string, credits int64) *apptest.Client {
	t.Helper()
	c := app.Client(t)
	c.Register(email, goodPassword)
	if err := app.Credits.SetPlan(context.Background(), c.UserID(), "professional", 0,
		"test"); err != nil {
		t.Fatal(err)
	}
	app.SetCredits(t, c.UserID(), credits)
	return c
}

// storedFiles returns every file in the app's blob store, by path.
func storedFiles(t testing.TB, app *apptest.App) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	root := filepath.Join(app.Config.DataDir, "files")
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			data, rerr := os.ReadFile(p)
			if rerr != nil {
				t.Fatal(rerr)
			}
			out[p] = data
		}
		return nil
	})
	return out
}

// uploadRows counts the upload records.
func uploadRows(t testing.TB, app *apptest.App) int {
	t.Helper()
	var n int
	if err := app.DB.GetContext(context.Background(), &n, `SELECT COUNT(*) FROM uploads`); err != nil {
		t.Fatal(err)
	}
	return n
}

// metadataMarkers are byte strings only metadata carries: the EXIF header, TIFF headers
// (which hold every EXIF and GPS tag), XMP packets and XMP's GPS properties.
var metadataMarkers = []string{"Exif", "II*\x00", "MM\x00*", "<x:xmpmeta", "<?xpacket",
	"http://ns.adobe.com/xap/1.0/", "GPSLatitude", "GPSLongitude"}

func metadataIn(data []byte) []string {
	var found []string
	for _, m := range metadataMarkers {
		if bytes.Contains(data, []byte(m)) {
			found = append(found, strings.TrimRight(m, "\x00*"))
		}
	}
	return found
}

// uploadKey returns the blob key of an upload, from the service.
func uploadKey(t testing.TB, app *apptest.App, c *apptest.Client, id string) string {
	t.Helper()
	u, err := app.Training.Uploads.Get(context.Background(), c.UserID(), id)
	if err != nil {
		t.Fatal(err)
	}
	return u.BlobKey
}

func TestUploadEveryPhotoOverHTTP(t *testing.T) {
	app := apptest.New(t)
	c := signedIn(t, app, "photos@example.com", 10)
	stored := map[string]image.Image{}
	for _, name := range sharedList(t, "photos") {
		data := sharedFile(t, "photos", name)
		if len(metadataIn(data)) == 0 {
			t.Fatalf("%s carries no metadata to remove; the test would prove nothing", name)
		}
		res := upload(t, c, part{name, data})
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", name, res.StatusCode, res.Body)
		}
		ups := res.JSON()["uploads"].([]any)
		u := ups[0].(map[string]any)
		if u["name"] != name || u["format"] != "jpeg" {
			t.Errorf("%s: %v", name, u)
		}

		key := uploadKey(t, app, c, u["id"].(string))
		blob, err := os.ReadFile(filepath.Join(app.Config.DataDir, "files", key))
		if err != nil {
			t.Fatal(err)
		}
		img, _, err := image.Decode(bytes.NewReader(blob))
		if err != nil {
			t.Fatalf("%s: stored file does not decode: %v", name, err)
		}
		stored[name] = img

		thumb := c.Get(u["thumbnail_url"].(string))
		if thumb.StatusCode != http.StatusOK || thumb.Header.Get("Content-Type") != "image/webp" {
			t.Errorf("%s: thumbnail %d", name, thumb.StatusCode)
		}
	}

	// Every stored file, thumbnails included, is free of metadata, byte for byte.
	for path, data := range storedFiles(t, app) {
		if found := metadataIn(data); len(found) > 0 {
			t.Errorf("%s keeps %v", filepath.Base(path), found)
		}
	}

	// The rotated photos come out like the one stored upright.
	ref := stored["orientation-landscape_1.jpg"]
	for _, o := range []string{"3", "6", "8"} {
		got := stored["orientation-landscape_"+o+".jpg"]
		if got.Bounds().Size() != ref.Bounds().Size() {
			t.Fatalf("orientation %s stored as %v, want %v", o, got.Bounds(), ref.Bounds())
		}
		if d := pixelDiff(got, ref); d > 30 {
			t.Errorf("orientation %s is not upright: differs by %.1f", o, d)
		}
	}
	if b := stored["orientation-portrait_5.jpg"].Bounds(); b.Dy() <= b.Dx() {
		t.Errorf("portrait_5 stored as %v", b)
	}
}

// pixelDiff is the mean absolute difference per channel, 0-255, of two same-sized images,
// sampled on a grid.
func pixelDiff(a, b image.Image) float64 {
	r := a.Bounds()
	var sum float64
	var n int
	for y := r.Min.Y; y < r.Max.Y; y += 7 {
		for x := r.Min.X; x < r.Max.X; x += 7 {
			r1, g1, b1, _ := a.At(x, y).RGBA()
			r2, g2, b2, _ := b.At(x, y).RGBA()
			for _, d := range []int64{int64(r1) - int64(r2), int64(g1) - int64(g2),
				int64(b1) - int64(b2)} {
				sum += float64(max(d, -d))
			}
			n += 3
		}
	}
	return sum / float64(n) / 257
}

// TestUploadAttacksOverHTTP sends every hostile file to the upload endpoint: the outcome
// the shared README states, never a 5xx, nothing stored for a refusal and no credit taken.
func TestUploadAttacksOverHTTP(t *testing.T) {
	want := map[string]int{
		"valid_tiny.png":                http.StatusOK,
		"exif_gps.jpg":                  http.StatusOK,
		"exif_gps.png":                  http.StatusOK,
		"exif_gps.webp":                 http.StatusOK,
		"bomb_20000x20000_complete.png": http.StatusRequestEntityTooLarge,
		"bomb_50000x50000.png":          http.StatusRequestEntityTooLarge,
		"bomb_30000x30000.jpg":          http.StatusRequestEntityTooLarge,
		"svg_script_as.png":             http.StatusUnsupportedMediaType,
		"gif_as.png":                    http.StatusUnsupportedMediaType,
		"pdf_as.png":                    http.StatusUnsupportedMediaType,
		"truncated.png":                 http.StatusBadRequest,
		// Not images at all: the upload endpoint refuses them by their bytes.
		"bcrypt_passwords.json": http.StatusUnsupportedMediaType,
		"csrf_textplain.html":   http.StatusUnsupportedMediaType,
	}
	app := apptest.New(t)
	c := signedIn(t, app, "attacks@example.com", 10)
	balance := c.JSONCredits()

	for _, name := range sharedList(t, "attacks") {
		status, ok := want[name]
		if !ok {
			t.Errorf("%s: no expected outcome; add it to this table", name)
			continue
		}
		files, rows := len(storedFiles(t, app)), uploadRows(t, app)
		res := upload(t, c, part{name, sharedFile(t, "attacks", name)})
		if res.StatusCode != status {
			t.Errorf("%s: status %d, want %d: %s", name, res.StatusCode, status, res.Body)
		}
		if status != http.StatusOK {
			msg, _ := res.JSON()["error"].(string)
			if !strings.HasPrefix(msg, name+" was refused: ") {
				t.Errorf("%s: message %q does not say which file and why", name, msg)
			}
			if len(storedFiles(t, app)) != files || uploadRows(t, app) != rows {
				t.Errorf("%s: something was stored for a refusal", name)
			}
		}
	}

	for path, data := range storedFiles(t, app) {
		if found := metadataIn(data); len(found) > 0 {
			t.Errorf("%s keeps %v", filepath.Base(path), found)
		}
	}
	if c.JSONCredits() != balance {
		t.Error("uploads took credits")
	}
}

func TestUploadHostileFileNamesOverHTTP(t *testing.T) {
	app := apptest.New(t)
	c := signedIn(t, app, "names@example.com", 10)
	tiny := sharedFile(t, "attacks", "valid_tiny.png")
	for _, tc := range []struct{ name, display string }{
		{"../../etc/passwd.png", "passwd.png"}, {`..\..\x.png`, "x.png"},
		{"evil\u202egnp.png", "evilgnp.png"},
	} {
		res := upload(t, c, part{tc.name, tiny})
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%q: %d %s", tc.name, res.StatusCode, res.Body)
		}
		u := res.JSON()["uploads"].([]any)[0].(map[string]any)
		if u["name"] != tc.display {
			t.Errorf("%q: display name %q, want %q", tc.name, u["name"], tc.display)
		}
		key := uploadKey(t, app, c, u["id"].(string))
		if strings.Contains(key, "passwd") || strings.Contains(key, "..") ||
			strings.Contains(key, "x.png") {
			t.Errorf("%q: stored under %q", tc.name, key)
		}
	}
	if _, err := os.Stat(filepath.Join(app.Config.DataDir, "..", "etc")); err == nil {
		t.Error("a folder was created outside the data directory")
	}
}

// countingBody is a request body that counts what the transport took from it and, when
// hold is set, blocks instead of ending, as a client still sending would.
type countingBody struct {
	r    io.Reader
	n    atomic.Int64
	hold chan struct{}
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n.Add(int64(n))
	if err == io.EOF && b.hold != nil {
		<-b.hold
	}
	return n, err
}

// pngLike returns size bytes that begin like a PNG: they pass the first check by content
// and are refused only by size or when decoded.
func pngLike(size int) []byte {
	data := make([]byte, size)
	copy(data, "\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR")
	return data
}

// TestUploadOverLimitIsRefusedWhileSending sends a file of 25 MB + 1 byte. Announced with
// a Content-Length, it is refused before any of the body is read; streamed without one,
// the server answers 413 at the limit while the client is still sending.
func TestUploadOverLimitIsRefusedWhileSending(t *testing.T) {
	app := apptest.New(t)
	c := signedIn(t, app, "big@example.com", 10)
	body, ctype := multipartBody(t, part{"big.png", pngLike(25<<20 + 1)})

	t.Run("announced length", func(t *testing.T) {
		cb := &countingBody{r: bytes.NewReader(body)}
		req, _ := http.NewRequest(http.MethodPost, app.URL+"/api/training/upload", cb)
		req.ContentLength = int64(len(body))
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("X-CSRFToken", c.CSRF())
		res, err := c.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d", res.StatusCode)
		}
		t.Logf("the client handed over %d of %d bytes", cb.n.Load(), len(body))
		if cb.n.Load() >= int64(len(body))/2 {
			t.Errorf("%d of %d bytes were taken before the refusal", cb.n.Load(), len(body))
		}
	})

	t.Run("streamed", func(t *testing.T) {
		// More follows the oversized file, and the body never ends: a server that waited
		// for the whole of it would never answer.
		body, ctype := multipartBody(t, part{"big.png", pngLike(25<<20 + 1)},
			part{"more.png", pngLike(16 << 20)})
		cb := &countingBody{r: bytes.NewReader(body), hold: make(chan struct{})}
		defer close(cb.hold)
		req, _ := http.NewRequest(http.MethodPost, app.URL+"/api/training/upload", cb)
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("X-CSRFToken", c.CSRF())
		done := make(chan *http.Response, 1)
		go func() {
			res, err := c.HTTP.Do(req)
			if err != nil {
				t.Error(err)
				close(done)
				return
			}
			res.Body.Close()
			done <- res
		}()
		select {
		case res := <-done:
			if res == nil || res.StatusCode != http.StatusRequestEntityTooLarge {
				t.Fatalf("answer %v", res)
			}
			t.Logf("answered after the client handed over %d of %d bytes", cb.n.Load(),
				len(body))
			if cb.n.Load() >= int64(len(body)) {
				t.Error("the whole body was sent before the answer")
			}
		case <-time.After(time.Minute):
			t.Fatal("no answer while the client was still sending")
		}
	})

	if len(storedFiles(t, app)) != 0 || uploadRows(t, app) != 0 {
		t.Error("something was stored")
	}
}

// noisePNG encodes a w×h picture of random pixels, which PNG cannot compress: about
// 3 bytes a pixel.
func noisePNG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	s := uint32(2463534242)
	for i := range img.Pix {
		s ^= s << 13
		s ^= s >> 17
		s ^= s << 5
		img.Pix[i] = uint8(s)
		if i%4 == 3 {
			img.Pix[i] = 255
		}
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestUploadRequestLimitCoversAllFiles sends two files that each fit but together pass the
// request's limit: the request is refused and the file already stored is deleted again.
func TestUploadRequestLimitCoversAllFiles(t *testing.T) {
	app := apptest.New(t)
	c := signedIn(t, app, "two@example.com", 10)
	first := noisePNG(t, 2048, 2048) // about 12.6 MB
	body, ctype := multipartBody(t, part{"first.png", first}, part{"second.png",
		pngLike(14 << 20)})
	req, _ := http.NewRequest(http.MethodPost, app.URL+"/api/training/upload",
		io.MultiReader(bytes.NewReader(body))) // no length: streamed
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("X-CSRFToken", c.CSRF())
	res := c.Do(req)
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d: %s", res.StatusCode, res.Body)
	}
	if len(storedFiles(t, app)) != 0 || uploadRows(t, app) != 0 {
		t.Error("the first file of a refused request was kept")
	}
}

// TestUploadLimitNeedsTheCSRFHeader checks that a large body only reaches the upload
// pipeline with its token in a header: a form field would make the CSRF check parse the
// whole body first, so such requests keep the small form limit.
func TestUploadLimitNeedsTheCSRFHeader(t *testing.T) {
	app := apptest.New(t)
	c := signedIn(t, app, "form@example.com", 10)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("csrf_token", c.CSRF())
	w, _ := mw.CreateFormFile("file", "a.png")
	w.Write(pngLike(1 << 20))
	mw.Close()
	res := c.Send(http.MethodPost, "/api/training/upload", mw.FormDataContentType(),
		buf.Bytes(), "")
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d: %s", res.StatusCode, res.Body)
	}
	// No kind of API token exists, so an Authorization header opens nothing either.
	req, _ := http.NewRequest(http.MethodPost, app.URL+"/api/training/upload",
		bytes.NewReader(buf.Bytes()))
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer anything")
	if res := c.Do(req); res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("with an Authorization header: status %d: %s", res.StatusCode, res.Body)
	}

	anon := app.Client(t)
	res = upload(t, anon, part{"a.png", sharedFile(t, "attacks", "valid_tiny.png")})
	if res.StatusCode != http.StatusUnauthorized || uploadRows(t, app) != 0 {
		t.Fatalf("anonymous upload: %d", res.StatusCode)
	}
}

// zipOf builds an archive of the given entries.
func zipOf(t testing.TB, entries ...part) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		w, err := zw.Create(e.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(e.data)
	}
	zw.Close()
	return buf.Bytes()
}

func TestUploadArchivesOverHTTP(t *testing.T) {
	app := apptest.New(t)
	c := signedIn(t, app, "zip@example.com", 10)
	var photos []part
	for _, name := range sharedList(t, "photos")[:5] {
		photos = append(photos, part{"set/" + name, sharedFile(t, "photos", name)})
	}

	res := upload(t, c, part{"set.zip", zipOf(t, photos...)})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", res.StatusCode, res.Body)
	}
	if id, _ := res.JSON()["zip_id"].(string); len(id) != 32 ||
		len(res.JSON()["upload_ids"].([]any)) != 5 {
		t.Errorf("answer %s", res.Body)
	}

	files, rows := len(storedFiles(t, app)), uploadRows(t, app)
	bad := zipOf(t, append(photos, part{"../../../escape.png",
		sharedFile(t, "attacks", "valid_tiny.png")})...)
	res = upload(t, c, part{"bad.zip", bad})
	if res.StatusCode != http.StatusBadRequest ||
		!strings.Contains(res.JSON()["error"].(string), "outside the archive") {
		t.Fatalf("traversal archive: %d %s", res.StatusCode, res.Body)
	}
	if len(storedFiles(t, app)) != files || uploadRows(t, app) != rows {
		t.Error("something of the refused archive was stored")
	}
	if _, err := os.Stat(filepath.Join(app.Config.DataDir, "..", "escape.png")); err == nil {
		t.Error("an entry was written outside the data directory")
	}
}

func TestUploadMalwareScanOverHTTP(t *testing.T) {
	clamd := clamdtest.Start(t)
	app := apptest.NewWith(t, apptest.Options{Env: map[string]string{
		"CLAMAV_ADDRESS": clamd.Addr}})
	c := signedIn(t, app, "scan@example.com", 10)
	tiny := sharedFile(t, "attacks", "valid_tiny.png")

	if res := upload(t, c, part{"ok.png", tiny}); res.StatusCode != http.StatusOK ||
		clamd.Scans() != 1 {
		t.Fatalf("clean upload: %d, %d scans", res.StatusCode, clamd.Scans())
	}
	infected := append(append([]byte{}, tiny...), clamdtest.EICAR...)
	res := upload(t, c, part{"bad.png", infected})
	if res.StatusCode != http.StatusBadRequest ||
		!strings.Contains(res.JSON()["error"].(string), "malware") {
		t.Fatalf("infected upload: %d %s", res.StatusCode, res.Body)
	}
	if uploadRows(t, app) != 1 || !strings.Contains(app.Audit.String(), "suspicious_content") {
		t.Error("the infected upload was stored or not audited")
	}

	clamd.Close()
	res = upload(t, c, part{"ok.png", tiny})
	if res.StatusCode != http.StatusServiceUnavailable ||
		!strings.Contains(res.JSON()["error"].(string), "virus scanner") {
		t.Fatalf("scanner down: %d %s", res.StatusCode, res.Body)
	}
}

// waitTraining polls the status endpoint until the training ends.
func waitTraining(t *testing.T, c *apptest.Client, id string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		res := c.Get("/api/training/status/" + id)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("status: %d %s", res.StatusCode, res.Body)
		}
		st := res.JSON()
		switch st["status"] {
		case "succeeded", "failed", "canceled":
			return st
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the training did not finish")
	return nil
}

// generate renders one image of prompt with a fixed seed and returns it decoded.
func generate(t *testing.T, c *apptest.Client, prompt string) image.Image {
	t.Helper()
	res := c.PostJSON("/generate/image", map[string]any{"prompt": prompt, "seed": 42,
		"image_size": "square", "output_format": "png"})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("generate %q: %d %s", prompt, res.StatusCode, res.Body)
	}
	url := res.JSON()["images"].([]any)[0].(map[string]any)["url"].(string)
	img, _, err := image.Decode(bytes.NewReader(c.Get(url).Body))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestTrainingEndToEndWithTheBuiltinTrainer uploads the shared photos, trains a style,
// and generates with its trigger word: the picture's colours move towards the photos'.
func TestTrainingEndToEndWithTheBuiltinTrainer(t *testing.T) {
	app := apptest.New(t)
	owner := signedIn(t, app, "trainer@example.com", 100)
	other := signedIn(t, app, "other@example.com", 100)

	var ids []any
	for _, name := range sharedList(t, "photos")[:8] {
		res := upload(t, owner, part{name, sharedFile(t, "photos", name)})
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", name, res.StatusCode, res.Body)
		}
		ids = append(ids, res.JSON()["upload_ids"].([]any)...)
	}

	res := owner.PostJSON("/api/training/start", map[string]any{"upload_ids": ids,
		"trigger_word": "camstyle", "steps": 500, "create_masks": false, "is_style": true})
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("start: %d %s", res.StatusCode, res.Body)
	}
	id := res.JSON()["training_id"].(string)
	if res.JSON()["credits_reserved"] != 40.0 {
		t.Errorf("reserved %v", res.JSON()["credits_reserved"])
	}

	st := waitTraining(t, owner, id)
	if st["status"] != "succeeded" || st["progress"] != 100.0 || st["trigger_word"] != "camstyle" ||
		st["completed_at"] == nil || st["created_at"] == "" || st["image_count"] != 8.0 ||
		len(st["logs"].([]any)) < 3 || st["lora_url"] != "/api/training/weights/"+id {
		t.Fatalf("status %v", st)
	}
	if got := owner.JSONCredits(); got != 60 {
		t.Errorf("balance %v after a 40-credit training from 100", got)
	}

	// The weights are the owner's alone.
	weights := owner.Get("/api/training/weights/" + id)
	if weights.StatusCode != http.StatusOK ||
		!strings.Contains(weights.Header.Get("Content-Disposition"), "camstyle") {
		t.Fatalf("weights: %d", weights.StatusCode)
	}
	var prof engine.Profile
	if err := json.Unmarshal(weights.Body, &prof); err != nil || len(prof.Palette) < 5 {
		t.Fatalf("weights are not a profile: %v", err)
	}
	for _, path := range []string{"/api/training/weights/" + id, "/api/training/config/" + id,
		"/api/training/status/" + id} {
		if res := other.Get(path); res.StatusCode != http.StatusNotFound {
			t.Errorf("%s for another user: %d", path, res.StatusCode)
		}
	}
	styles := owner.Get("/api/training/styles").JSON()["styles"].([]any)
	if len(styles) != 1 || styles[0].(map[string]any)["trigger_word"] != "camstyle" {
		t.Errorf("styles %v", styles)
	}

	// With the trigger word the picture follows the photos' palette; the same prompt
	// from someone without the style, and the owner's prompt without the word, do not.
	styled := generate(t, owner, "a quiet harbour at dusk, camstyle")
	sameForOther := generate(t, other, "a quiet harbour at dusk, camstyle")
	withoutWord := generate(t, owner, "a quiet harbour at dusk")
	dStyled := engine.PaletteDistance(styled, prof.Palette)
	dOther := engine.PaletteDistance(sameForOther, prof.Palette)
	dWithout := engine.PaletteDistance(withoutWord, prof.Palette)
	t.Logf("distance to the photos' palette: %.3f with the trigger word, %.3f for another "+
		"user, %.3f without the word", dStyled, dOther, dWithout)
	if dStyled >= dOther || dStyled >= dWithout {
		t.Errorf("the style did not pull the picture towards the photos' palette")
	}
}

func TestTrainingStartRefusalsOverHTTP(t *testing.T) {
	app := apptest.New(t)
	c := signedIn(t, app, "refuse@example.com", 100)
	var ids []any
	for _, name := range sharedList(t, "photos")[:5] {
		res := upload(t, c, part{name, sharedFile(t, "photos", name)})
		ids = append(ids, res.JSON()["upload_ids"].([]any)...)
	}

	cases := []struct {
		body   map[string]any
		status int
		field  string
	}{
		{map[string]any{"upload_ids": ids, "trigger_word": "ok", "steps": 5000}, 400, "steps"},
		{map[string]any{"upload_ids": ids, "trigger_word": "ok", "steps": 99}, 400, "steps"},
		{map[string]any{"upload_ids": ids, "trigger_word": "x y"}, 400, "trigger_word"},
		{map[string]any{"upload_ids": ids[:4], "trigger_word": "ok"}, 400, "upload_ids"},
		{map[string]any{"upload_ids": ids, "trigger_word": "ok", "steps": "many"}, 400, "steps"},
	}
	for _, tc := range cases {
		res := c.PostJSON("/api/training/start", tc.body)
		details, _ := res.JSON()["details"].(map[string]any)
		if res.StatusCode != tc.status || details["field"] != tc.field {
			t.Errorf("%v: %d %s", tc.body, res.StatusCode, res.Body)
		}
	}
	res := c.Send(http.MethodPost, "/api/training/start", "text/plain",
		[]byte(`{"trigger_word":"ok"}`), c.CSRF())
	if res.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain: %d", res.StatusCode)
	}

	app.SetCredits(t, c.UserID(), 39)
	res = c.PostJSON("/api/training/start", map[string]any{"upload_ids": ids,
		"trigger_word": "ok"})
	if res.StatusCode != http.StatusPaymentRequired {
		t.Errorf("short of credits: %d %s", res.StatusCode, res.Body)
	}
	var jobs int
	app.DB.GetContext(context.Background(), &jobs, `SELECT COUNT(*) FROM jobs`)
	if jobs != 0 || c.JSONCredits() != 39 {
		t.Errorf("refusals left %d jobs and a balance of %v", jobs, c.JSONCredits())
	}
}

func TestTrainingPages(t *testing.T) {
	app := apptest.New(t)
	c := signedIn(t, app, "pages@example.com", 10)
	page := c.Get("/training")
	for _, want := range []string{`id="training-form"`, `name="trigger_word"`,
		`name="steps" min="100" max="1000"`, `name="create_masks"`, "training.js",
		"No trainings yet"} {
		if !strings.Contains(string(page.Body), want) {
			t.Errorf("/training lacks %s", want)
		}
	}
	studio := c.Get("/dashboard")
	if !strings.Contains(string(studio.Body), `id="trained-style"`) ||
		!strings.Contains(string(studio.Body), "training.js") {
		t.Error("the studio offers no trained styles")
	}
	if js := c.Get("/static/training.js"); js.StatusCode != http.StatusOK {
		t.Errorf("training.js: %d", js.StatusCode)
	}
	if res := app.Client(t).Get("/training"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("anonymous /training: %d", res.StatusCode)
	}
}

// BenchmarkUploadRefusePixelBombs measures refusing each decompression bomb through the
// HTTP endpoint, from the request to the answer; B/op counts both sides of the loopback.
func BenchmarkUploadRefusePixelBombs(b *testing.B) {
	app := apptest.New(b)
	c := signedIn(b, app, "bombs@example.com", 10)
	token := c.CSRF()
	for _, name := range []string{"bomb_20000x20000_complete.png", "bomb_50000x50000.png",
		"bomb_30000x30000.jpg"} {
		body, ctype := multipartBody(b, part{name, sharedFile(b, "attacks", name)})
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				res := c.Send(http.MethodPost, "/api/training/upload", ctype, body, token)
				if res.StatusCode != http.StatusRequestEntityTooLarge {
					b.Fatalf("status %d", res.StatusCode)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e6/float64(b.N), "ms/refusal")
		})
	}
}

// nearLimitPNG returns a valid PNG of random pixels as close under the upload limit as its
// multipart envelope allows.
func nearLimitPNG(b *testing.B, limit int) []byte {
	b.Helper()
	for side := 2956; side > 2000; side -= 4 {
		data := noisePNG(b, side, side)
		if len(data) <= limit-1024 {
			return data
		}
	}
	b.Fatal("no picture fits under the limit")
	return nil
}

// heapPeak samples the live heap until stop is closed and returns the highest value seen.
func heapPeak(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		var peak uint64
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-stop:
				out <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return out
}

// BenchmarkUploadTwentyParallel25MB sends valid pictures of nearly 25 MB at once, 2 and
// then 20 of them, and reports how far the heap grew above what it was before. The
// pipeline spools each file to disk and decodes at most GOMAXPROCS of them at a time, so
// the growth with twenty is about the growth with two instead of ten times it. The heap
// figure counts garbage not yet collected, so it runs about twice the memory in use.
// Run it with -benchtime=1x.
func BenchmarkUploadTwentyParallel25MB(b *testing.B) {
	app := apptest.New(b)
	c := signedIn(b, app, "parallel@example.com", 10)
	token := c.CSRF()
	picture := nearLimitPNG(b, int(app.Config.MaxUploadBytes))
	body, ctype := multipartBody(b, part{"big.png", picture})
	b.Logf("each upload: %.1f MB, a %d-byte request", float64(len(picture))/(1<<20), len(body))

	for _, parallel := range []int{2, 20} {
		b.Run(fmt.Sprintf("parallel=%d", parallel), func(b *testing.B) {
			var worst float64
			for b.Loop() {
				worst = max(worst, heapGrowth(b, parallel, func() error {
					return sendUpload(c, app.URL, token, ctype, body)
				}))
			}
			b.ReportMetric(worst, "peak-heap-growth-MB")
		})
	}
}

// heapGrowth runs n copies of send at once and returns how many megabytes the heap grew
// above its size before them, at its highest.
func heapGrowth(b *testing.B, n int, send func() error) float64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	base := sample[0].Value.Uint64()
	stop := make(chan struct{})
	peak := heapPeak(stop)

	errs := make(chan error, n)
	for range n {
		go func() { errs <- send() }()
	}
	for range n {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	close(stop)
	if top := <-peak; top > base {
		return float64(top-base) / (1 << 20)
	}
	return 0
}

// sendUpload posts one prepared multipart body and expects it accepted.
func sendUpload(c *apptest.Client, base, token, ctype string, body []byte) error {
	req, _ := http.NewRequest(http.MethodPost, base+"/api/training/upload",
		bytes.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("X-CSRFToken", token)
	res, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", res.StatusCode)
	}
	return nil
}
