package web_test

// The acceptance tests of issue 2: bad input, registration that ignores extra fields,
// other people's images, downloads, deletion, the gallery API's pagination and first-run
// setup. Each runs on SQLite and, when SKETCHMAKER_TEST_DATABASE_URL is set, PostgreSQL.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "golang.org/x/image/webp"

	"github.com/sketchmaker/sketchmaker/internal/apptest"
	"github.com/sketchmaker/sketchmaker/internal/cli"
	"github.com/sketchmaker/sketchmaker/internal/credit"
)

// i2EachDB runs fn on a fresh application on SQLite and, when the PostgreSQL test server is
// configured, on PostgreSQL.
func i2EachDB(t *testing.T, fn func(t *testing.T, app *apptest.App)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, apptest.New(t)) })
	t.Run("postgres", func(t *testing.T) {
		fn(t, apptest.NewWith(t, apptest.Options{Postgres: true}))
	})
}

// i2Count returns the number of rows of table.
func i2Count(t *testing.T, app *apptest.App, table string) int {
	t.Helper()
	var n int
	if err := app.DB.GetContext(context.Background(), &n,
		"SELECT COUNT(*) FROM "+table); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// i2Balance returns a user's balance in milli-credits, straight from the ledger service.
func i2Balance(t *testing.T, app *apptest.App, userID int64) credit.Milli {
	t.Helper()
	b, err := app.Credits.Balance(context.Background(), userID)
	if err != nil {
		t.Fatalf("balance: %v", err)
	}
	return b
}

// i2Generated is the part of a generation answer the tests read.
type i2Generated struct {
	JobID  string `json:"job_id"`
	Images []struct {
		ID     string `json:"id"`
		URL    string `json:"url"`
		Format string `json:"format"`
	} `json:"images"`
	CreditsUsed      float64 `json:"credits_used"`
	CreditsRemaining float64 `json:"credits_remaining"`
}

// i2Generate asks for images and requires success.
func i2Generate(t *testing.T, c *apptest.Client, token string, body map[string]any) i2Generated {
	t.Helper()
	b, _ := json.Marshal(body)
	res := c.Send(http.MethodPost, "/generate/image", "application/json", b, token)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("generate %s: status %d: %s", b, res.StatusCode, res.Body)
	}
	var g i2Generated
	if err := json.Unmarshal(res.Body, &g); err != nil {
		t.Fatalf("generate answer: %v: %s", err, res.Body)
	}
	want := 1
	if n, ok := body["num_images"].(int); ok {
		want = n
	}
	if len(g.Images) != want || g.JobID == "" {
		t.Fatalf("generate %s: %d images, job %q, want %d images", b, len(g.Images),
			g.JobID, want)
	}
	return g
}

// i2Internals are fragments of internal error text that must never reach a person.
var i2Internals = []string{"json:", "unexpected eof", "invalid character", "strconv",
	"sql", "panic", "runtime error", "cannot unmarshal", "goroutine", ".go:"}

// i2IsSentence reports whether msg reads as a sentence a person can act on rather than an
// internal error: several words, closing punctuation, no internal error text.
func i2IsSentence(msg string) bool {
	if len(strings.Fields(msg)) < 3 || !strings.ContainsAny(msg[len(msg)-1:], ".?!") {
		return false
	}
	lower := strings.ToLower(msg)
	for _, leak := range i2Internals {
		if strings.Contains(lower, leak) {
			return false
		}
	}
	return true
}

// i2CheckError checks that res is the one JSON error shape with status want.
func i2CheckError(t *testing.T, name string, res *apptest.Response, want int) {
	t.Helper()
	if res.StatusCode != want {
		t.Errorf("%s: status %d, want %d: %s", name, res.StatusCode, want, res.Body)
		return
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type %q, want JSON", name, ct)
		return
	}
	var body map[string]any
	if err := json.Unmarshal(res.Body, &body); err != nil {
		t.Errorf("%s: error body is not JSON: %v: %s", name, err, res.Body)
		return
	}
	for _, k := range []string{"error", "type", "code", "timestamp", "request_id"} {
		if v, ok := body[k]; !ok || v == "" || v == nil {
			t.Errorf("%s: error body lacks %q: %s", name, k, res.Body)
		}
	}
	if code, _ := body["code"].(float64); int(code) != want {
		t.Errorf("%s: code %v, want %d", name, body["code"], want)
	}
	if ts, _ := body["timestamp"].(string); ts != "" {
		if _, err := time.Parse(time.RFC3339, ts); err != nil {
			t.Errorf("%s: timestamp %q is not RFC 3339", name, ts)
		}
	}
	if id, _ := body["request_id"].(string); id != res.Header.Get("X-Request-ID") {
		t.Errorf("%s: request_id %q differs from the X-Request-ID header %q", name, id,
			res.Header.Get("X-Request-ID"))
	}
	if msg, _ := body["error"].(string); !i2IsSentence(msg) {
		t.Errorf("%s: error %q is not a sentence a person can act on", name, msg)
	}
}

// i2TextPlainAttack reads the cross-site page of the shared test data and returns the
// path it posts to and the exact text/plain body a browser would send: name=value and a
// line break, per the HTML text/plain form encoding.
func i2TextPlainAttack(t *testing.T) (path string, body []byte) {
	t.Helper()
	raw, err := os.ReadFile("../../../shared/testdata/attacks/csrf_textplain.html")
	if err != nil {
		t.Skip("shared test data not found: ", err)
	}
	action := regexp.MustCompile(`action="https?://TARGET(/[^"]*)"`).FindSubmatch(raw)
	field := regexp.MustCompile(`name='([^']*)' value='([^']*)'`).FindSubmatch(raw)
	if action == nil || field == nil || !bytes.Contains(raw, []byte(`enctype="text/plain"`)) {
		t.Fatalf("csrf_textplain.html no longer has the form this test expects")
	}
	return string(action[1]), []byte(string(field[1]) + "=" + string(field[2]) + "\r\n")
}

func TestIssue2BadGenerationInput(t *testing.T) {
	attackPath, attackBody := i2TextPlainAttack(t)
	i2EachDB(t, func(t *testing.T, app *apptest.App) {
		c := app.Client(t)
		c.Register("bad-input@example.com", goodPassword)
		uid := c.UserID()

		// A token of an ended session: sign out and in again.
		stale := c.CSRF()
		c.PostForm("/logout", url.Values{})
		res := c.PostForm("/login", url.Values{"email": {"bad-input@example.com"},
			"password": {goodPassword}})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign in again: status %d", res.StatusCode)
		}
		tokens := map[string]string{"valid": c.CSRF(), "none": "", "stale": stale}

		cases := []struct {
			name, path, contentType, body, token string
			want                                 int
		}{
			{"empty prompt", "", "", `{"prompt":""}`, "valid", 400},
			{"blank prompt", "", "", `{"prompt":" \n\t "}`, "valid", 400},
			{"no prompt", "", "", `{"image_size":"square"}`, "valid", 400},
			{"2001 characters", "", "", `{"prompt":"` + strings.Repeat("a", 2001) + `"}`,
				"valid", 400},
			{"2001 two-byte characters", "", "",
				`{"prompt":"` + strings.Repeat("é", 2001) + `"}`, "valid", 400},
			{"NUL", "", "", `{"prompt":"a\u0000b"}`, "valid", 400},
			{"bell", "", "", `{"prompt":"ring \u0007 the bell"}`, "valid", 400},
			{"escape sequence", "", "", `{"prompt":"\u001b[31mred"}`, "valid", 400},
			{"DEL", "", "", `{"prompt":"a\u007fb"}`, "valid", 400},
			{"C1 control", "", "", `{"prompt":"a\u0085b"}`, "valid", 400},
			{"unknown model", "", "", `{"prompt":"a cat","model":"nobody/none"}`,
				"valid", 400},
			{"unconfigured model", "", "", `{"prompt":"a cat","model":"fal-ai/flux/dev"}`,
				"valid", 400},
			{"unknown size", "", "", `{"prompt":"a cat","image_size":"huge"}`, "valid", 400},
			{"size too small", "", "",
				`{"prompt":"a cat","image_size":{"width":64,"height":64}}`, "valid", 400},
			{"size not a multiple of 8", "", "",
				`{"prompt":"a cat","image_size":{"width":513,"height":512}}`, "valid", 400},
			{"unknown format", "", "", `{"prompt":"a cat","output_format":"gif"}`,
				"valid", 400},
			{"unknown style", "", "", `{"prompt":"a cat","art_style":"cubist"}`,
				"valid", 400},
			{"count 0", "", "", `{"prompt":"a cat","num_images":0}`, "valid", 400},
			{"count 5", "", "", `{"prompt":"a cat","num_images":5}`, "valid", 400},
			{"count 1.5", "", "", `{"prompt":"a cat","num_images":1.5}`, "valid", 400},
			{"negative seed", "", "", `{"prompt":"a cat","seed":-1}`, "valid", 400},
			{"seed above 2^32-1", "", "", `{"prompt":"a cat","seed":4294967296}`,
				"valid", 400},
			{"prompt as number", "", "", `{"prompt":42}`, "valid", 400},
			{"prompt as object", "", "", `{"prompt":{"text":"a cat"}}`, "valid", 400},
			{"num_images as string", "", "", `{"prompt":"a cat","num_images":"2"}`,
				"valid", 400},
			{"image_size as array", "", "", `{"prompt":"a cat","image_size":[512,512]}`,
				"valid", 400},
			{"body is an array", "", "", `[{"prompt":"a cat"}]`, "valid", 400},
			{"malformed JSON", "", "", `{"prompt":"a cat"`, "valid", 400},
			{"two JSON objects", "", "", `{"prompt":"a"}{"prompt":"b"}`, "valid", 400},
			{"empty body", "", "", ``, "valid", 400},
			{"body over 1 MB", "", "",
				`{"prompt":"` + strings.Repeat("a", 1<<20+10) + `"}`, "valid", 413},
			{"missing CSRF token", "", "", `{"prompt":"a cat"}`, "none", 403},
			{"stale CSRF token", "", "", `{"prompt":"a cat"}`, "stale", 403},
			{"forged CSRF token", "", "", `{"prompt":"a cat"}`, "forged", 403},
			{"text/plain attack page", "", "text/plain", string(attackBody), "none", 403},
			{"text/plain attack page to its own path", attackPath, "text/plain",
				string(attackBody), "none", 403},
			{"text/plain with a valid token", "", "text/plain", string(attackBody),
				"valid", 415},
			{"form-encoded body", "", "application/x-www-form-urlencoded",
				"prompt=a+cat&num_images=1", "valid", 415},
			{"form-encoded body without token", "", "application/x-www-form-urlencoded",
				"prompt=a+cat", "none", 403},
			{"bytes that are not UTF-8", "", "", "{\"prompt\":\"a \xff\xfe cat\"}",
				"valid", 400},
			{"a lone surrogate", "", "", `{"prompt":"a \ud800 cat"}`, "valid", 400},
			{"JSON in Latin-1", "", "application/json; charset=latin1",
				"{\"prompt\":\"caf\xe9\"}", "valid", 415},
		}

		images, jobs := i2Count(t, app, "images"), i2Count(t, app, "jobs")
		ledger, balance := i2Count(t, app, "credit_ledger"), i2Balance(t, app, uid)
		for _, tc := range cases {
			path, ct, tok := tc.path, tc.contentType, tokens[tc.token]
			if path == "" {
				path = "/generate/image"
			}
			if ct == "" {
				ct = "application/json"
			}
			if tc.token == "forged" {
				tok = "bm90LWEtdG9rZW4tYXQtYWxs"
			}
			res := c.Send(http.MethodPost, path, ct, []byte(tc.body), tok)
			i2CheckError(t, tc.name, res, tc.want)
		}

		if n := i2Count(t, app, "images"); n != images {
			t.Errorf("refused requests stored %d images", n-images)
		}
		if n := i2Count(t, app, "jobs"); n != jobs {
			t.Errorf("refused requests queued %d jobs", n-jobs)
		}
		if n := i2Count(t, app, "credit_ledger"); n != ledger {
			t.Errorf("refused requests wrote %d ledger rows", n-ledger)
		}
		if b := i2Balance(t, app, uid); b != balance {
			t.Errorf("balance went from %s to %s", balance, b)
		}

		// The same client with a good request succeeds, so the refusals above were about
		// the input and not a broken session.
		i2Generate(t, c, tokens["valid"], map[string]any{"prompt": "a cat", "image_size": "square"})
		if n := i2Count(t, app, "images"); n != images+1 {
			t.Errorf("a good request stored %d images, want 1", n-images)
		}
	})
}

func TestIssue2RegistrationIgnoresExtraFields(t *testing.T) {
	i2EachDB(t, func(t *testing.T, app *apptest.App) {
		ctx := context.Background()
		first := app.Client(t)
		first.Register("first@example.com", goodPassword)
		firstID := first.UserID()
		before, err := app.Accounts.ByID(ctx, firstID)
		if err != nil {
			t.Fatal(err)
		}

		// Form: every extra field a client could hope the server binds.
		form := app.Client(t)
		res := form.PostForm("/register", url.Values{
			"email": {"form@example.com"}, "password": {goodPassword},
			"role": {"superadmin"}, "credits": {"999"}, "is_admin": {"true"},
			"user_id": {strconv.FormatInt(firstID, 10)}, "id": {strconv.FormatInt(firstID, 10)},
			"plan": {"professional"}, "status": {"active"}, "email_verified": {"true"},
		})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("form registration: status %d: %s", res.StatusCode, res.Body)
		}

		// JSON: the same fields with their natural types.
		js := app.Client(t)
		res = js.PostJSON("/register", map[string]any{
			"email": "json@example.com", "password": goodPassword,
			"role": "superadmin", "credits": 999, "is_admin": true, "user_id": firstID,
			"id": firstID, "plan": "professional", "email_verified": true,
		})
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("JSON registration: status %d: %s", res.StatusCode, res.Body)
		}

		for email, c := range map[string]*apptest.Client{"form@example.com": form,
			"json@example.com": js} {
			p := c.Get("/api/user/profile").JSON()
			if p["email"] != email || p["role"] != "user" || p["credits"] != 3.0 ||
				p["email_verified"] != false || p["id"] == float64(firstID) {
				t.Errorf("%s: profile after registration with extra fields = %v", email, p)
			}
			if res := c.Get("/admin/api/users"); res.StatusCode == http.StatusOK {
				t.Errorf("%s: reaches the admin API", email)
			}
		}

		after, err := app.Accounts.ByID(ctx, firstID)
		if err != nil {
			t.Fatal(err)
		}
		if after.Email != before.Email || after.Role != before.Role ||
			after.Credits != before.Credits || after.PasswordHash != before.PasswordHash {
			t.Errorf("the first user changed: %+v, was %+v", after, before)
		}
		if ok, err := app.Accounts.SuperadminExists(ctx); err != nil || ok {
			t.Errorf("a superadmin exists after registrations (err %v)", err)
		}
	})
}

func TestIssue2OtherUsersImagesAreNotFound(t *testing.T) {
	i2EachDB(t, func(t *testing.T, app *apptest.App) {
		owner := app.Client(t)
		owner.Register("owner@example.com", goodPassword)
		prompt := "a secret garden with seventeen purple owls"
		g := i2Generate(t, owner, owner.CSRF(), map[string]any{"prompt": prompt,
			"image_size": "square"})
		id := g.Images[0].ID

		other := app.Client(t)
		other.Register("intruder@example.com", goodPassword)
		tok := other.CSRF()
		type probe struct {
			method, path string
		}
		probes := []probe{
			{"GET", "/gallery/" + id},
			{"GET", "/images/" + id + "/thumb"},
			{"GET", "/download/" + id + "/png"},
			{"GET", "/download/" + id + "/jpeg"},
			{"GET", "/download/" + id + "/webp"},
			{"POST", "/gallery/" + id + "/delete"},
			{"DELETE", "/api/gallery/" + id},
			{"GET", "/api/jobs/" + g.JobID},
			{"GET", "/api/jobs/" + g.JobID + "/events"},
			{"POST", "/api/jobs/" + g.JobID + "/cancel"},
		}
		for _, p := range probes {
			var res *apptest.Response
			switch p.method {
			case "GET":
				res = other.Get(p.path)
			case "POST":
				if strings.HasPrefix(p.path, "/api/") {
					res = other.Send(p.method, p.path, "application/json", []byte("{}"), tok)
				} else {
					res = other.Send(p.method, p.path, "application/x-www-form-urlencoded",
						[]byte("csrf_token="+url.QueryEscape(tok)), "")
				}
			default:
				res = other.Send(p.method, p.path, "", nil, tok)
			}
			if res.StatusCode != http.StatusNotFound {
				t.Errorf("%s %s by another user: status %d, want 404", p.method, p.path,
					res.StatusCode)
			}
			if bytes.Contains(res.Body, []byte("purple owls")) {
				t.Errorf("%s %s leaks the owner's prompt", p.method, p.path)
			}
		}

		// Someone else's image answers exactly like an image that does not exist.
		mine := other.Send("DELETE", "/api/gallery/"+id, "", nil, tok).JSON()
		none := other.Send("DELETE", "/api/gallery/"+strings.Repeat("0", len(id)), "", nil,
			tok).JSON()
		if mine["error"] != none["error"] || mine["type"] != none["type"] {
			t.Errorf("another user's image answers %v, a missing one %v", mine, none)
		}
		if list := other.Get("/api/gallery").JSON(); list["images"] == nil ||
			len(list["images"].([]any)) != 0 {
			t.Errorf("the intruder's gallery lists %v", list["images"])
		}

		// The image survives, for its owner.
		for _, path := range []string{"/gallery/" + id, "/images/" + id + "/thumb",
			"/download/" + id + "/png", "/api/jobs/" + g.JobID} {
			if res := owner.Get(path); res.StatusCode != http.StatusOK {
				t.Errorf("owner GET %s after the probes: status %d", path, res.StatusCode)
			}
		}
		if n := i2Count(t, app, "images"); n != 1 {
			t.Errorf("%d images after another user's attempts, want 1", n)
		}
	})
}

// i2Magic are the first bytes of each downloadable format.
var i2Magic = map[string]func([]byte) bool{
	"png": func(b []byte) bool { return bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) },
	"jpeg": func(b []byte) bool {
		return bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF})
	},
	"webp": func(b []byte) bool {
		return len(b) > 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP"
	},
}

func TestIssue2DownloadFormats(t *testing.T) {
	app := apptest.New(t)
	c := app.Client(t)
	c.Register("download@example.com", goodPassword)
	prompt := `Quote "these" words; ../../etc/passwd & <script>alert(1)</script> Ünïcödé`
	g := i2Generate(t, c, c.CSRF(), map[string]any{"prompt": prompt, "image_size": "square"})
	id := g.Images[0].ID

	safeName := regexp.MustCompile(`^[a-z0-9-]+\.(png|jpg|jpeg|webp)$`)
	types := map[string]string{"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
	for format, ct := range types {
		res := c.Get("/download/" + id + "/" + format)
		if res.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", format, res.StatusCode)
			continue
		}
		if got := res.Header.Get("Content-Type"); got != ct {
			t.Errorf("%s: Content-Type %q, want %q", format, got, ct)
		}
		if !i2Magic[format](res.Body) {
			t.Errorf("%s: the bytes do not start like a %s file: % x", format, format,
				res.Body[:min(len(res.Body), 12)])
		}
		cfg, kind, err := image.DecodeConfig(bytes.NewReader(res.Body))
		if err != nil || kind != format || cfg.Width != 512 || cfg.Height != 512 {
			t.Errorf("%s: decodes as %s %dx%d (%v), want %s 512x512", format, kind,
				cfg.Width, cfg.Height, err, format)
		}

		disp, params, err := mime.ParseMediaType(res.Header.Get("Content-Disposition"))
		name := params["filename"]
		if err != nil || disp != "attachment" || !safeName.MatchString(name) {
			t.Errorf("%s: Content-Disposition %q is not an attachment with a safe name",
				format, res.Header.Get("Content-Disposition"))
		}
		for _, word := range []string{"quote", "these", "passwd", "script", "alert"} {
			if strings.Contains(strings.ToLower(name), word) {
				t.Errorf("%s: file name %q carries prompt text", format, name)
			}
		}
	}

	for _, format := range []string{"gif", "bmp", "svg", "png.exe", "tiff", "x"} {
		if res := c.Get("/download/" + id + "/" + format); res.StatusCode != http.StatusNotFound {
			t.Errorf("unknown format %q: status %d, want 404", format, res.StatusCode)
		}
	}
}

// i2Files returns the stored files under the data directory's files folder.
func i2Files(t *testing.T, app *apptest.App) map[string]bool {
	t.Helper()
	root := filepath.Join(app.Config.DataDir, "files")
	out := map[string]bool{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			out[filepath.ToSlash(rel)] = true
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
	return out
}

func TestIssue2DeleteRemovesEveryStoredVariant(t *testing.T) {
	i2EachDB(t, func(t *testing.T, app *apptest.App) {
		c := app.Client(t)
		c.Register("delete@example.com", goodPassword)
		tok := c.CSRF()
		g := i2Generate(t, c, tok, map[string]any{"prompt": "two paper boats",
			"image_size": "square", "num_images": 2, "output_format": "webp"})

		type keys struct {
			ID       string `db:"id"`
			BlobKey  string `db:"blob_key"`
			ThumbKey string `db:"thumb_key"`
		}
		var rows []keys
		err := app.DB.SelectContext(context.Background(), &rows,
			app.DB.Rebind(`SELECT id, blob_key, thumb_key FROM images WHERE job_id = ?`),
			g.JobID)
		if err != nil || len(rows) != 2 {
			t.Fatalf("images of the job: %v (%d rows)", err, len(rows))
		}
		files := i2Files(t, app)
		if len(files) != 4 {
			t.Fatalf("%d stored files for two images, want 4: %v", len(files), files)
		}
		keyForm := regexp.MustCompile(
			`^(images|thumbs)/[0-9a-f]{2}/[0-9a-f]{32}\.(webp|png|jpg)$`)
		for _, r := range rows {
			if !keyForm.MatchString(r.BlobKey) || !keyForm.MatchString(r.ThumbKey) {
				t.Errorf("image %s: stored under %q and %q", r.ID, r.BlobKey, r.ThumbKey)
			}
			if !files[r.BlobKey] || !files[r.ThumbKey] {
				t.Fatalf("image %s: files %q and %q not found in %v", r.ID, r.BlobKey,
					r.ThumbKey, files)
			}
		}

		// One through the page's form, one through the JSON API.
		res := c.PostForm("/gallery/"+rows[0].ID+"/delete", url.Values{})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/gallery" {
			t.Fatalf("delete by form: status %d location %q", res.StatusCode,
				res.Header.Get("Location"))
		}
		res = c.Send(http.MethodDelete, "/api/gallery/"+rows[1].ID, "", nil, tok)
		if res.StatusCode != http.StatusOK || res.JSON()["success"] != true {
			t.Fatalf("delete by API: status %d: %s", res.StatusCode, res.Body)
		}

		if left := i2Files(t, app); len(left) != 0 {
			t.Errorf("files left after deleting every image: %v", left)
		}
		for _, r := range rows {
			for _, path := range []string{"/gallery/" + r.ID, "/download/" + r.ID + "/webp",
				"/images/" + r.ID + "/thumb"} {
				if res := c.Get(path); res.StatusCode != http.StatusNotFound {
					t.Errorf("GET %s after deletion: status %d", path, res.StatusCode)
				}
			}
			res := c.Send(http.MethodDelete, "/api/gallery/"+r.ID, "", nil, tok)
			i2CheckError(t, "deleting twice", res, http.StatusNotFound)
		}
		if n := i2Count(t, app, "images"); n != 0 {
			t.Errorf("%d image rows left", n)
		}
	})
}

func TestIssue2GalleryPagination(t *testing.T) {
	i2EachDB(t, func(t *testing.T, app *apptest.App) {
		c := app.Client(t)
		c.Register("pages@example.com", goodPassword)
		app.SetCredits(t, c.UserID(), 30)
		tok := c.CSRF()
		for made := 0; made < 25; {
			n := min(4, 25-made)
			i2Generate(t, c, tok, map[string]any{"prompt": fmt.Sprintf("page test %d", made),
				"image_size": "square", "num_images": n})
			made += n
		}

		type page struct {
			Images []struct {
				ID        string `json:"id"`
				CreatedAt string `json:"created_at"`
			} `json:"images"`
			Pagination map[string]any `json:"pagination"`
		}
		want := []struct {
			count            int
			hasNext, hasPrev bool
		}{{10, true, false}, {10, true, true}, {5, false, true}, {0, false, true}}
		seen := map[string]bool{}
		last := ""
		for i, w := range want {
			res := c.Get(fmt.Sprintf("/api/gallery?page=%d&limit=10", i+1))
			var p page
			if err := json.Unmarshal(res.Body, &p); err != nil || res.StatusCode != 200 {
				t.Fatalf("page %d: status %d: %v", i+1, res.StatusCode, err)
			}
			exp := map[string]any{"page": float64(i + 1), "per_page": 10.0, "total": 25.0,
				"pages": 3.0, "has_next": w.hasNext, "has_prev": w.hasPrev}
			for k, v := range exp {
				if p.Pagination[k] != v {
					t.Errorf("page %d: pagination %s = %v, want %v", i+1, k, p.Pagination[k], v)
				}
			}
			if len(p.Images) != w.count {
				t.Errorf("page %d: %d images, want %d", i+1, len(p.Images), w.count)
			}
			for _, im := range p.Images {
				if seen[im.ID] {
					t.Errorf("image %s on two pages", im.ID)
				}
				seen[im.ID] = true
				if last != "" && im.CreatedAt > last {
					t.Errorf("page %d: %s is newer than the image before it", i+1, im.ID)
				}
				last = im.CreatedAt
			}
		}
		if len(seen) != 25 {
			t.Errorf("%d distinct images over the pages, want 25", len(seen))
		}

		for _, q := range []string{"page=0", "page=-1", "page=abc", "limit=0", "limit=101",
			"limit=ten"} {
			i2CheckError(t, "GET /api/gallery?"+q, c.Get("/api/gallery?"+q),
				http.StatusBadRequest)
		}
	})
}

func TestIssue2FirstRunSetup(t *testing.T) {
	i2EachDB(t, func(t *testing.T, app *apptest.App) {
		ctx := context.Background()
		c := app.Client(t)
		setupForm := []byte(`action="/setup"`)
		for _, q := range []string{"", "?token=", "?token=wrong",
			"?token=" + strings.Repeat("A", 32)} {
			res := c.Get("/setup" + q)
			if res.StatusCode < 400 || res.StatusCode >= 500 ||
				bytes.Contains(res.Body, setupForm) {
				t.Errorf("GET /setup%s: status %d, want a refusal without the form", q,
					res.StatusCode)
			}
		}

		token, err := app.Accounts.IssueSetupToken(ctx)
		if err != nil || token == "" {
			t.Fatalf("setup token: %q, %v", token, err)
		}
		if res := c.Get("/setup?token=" + token); res.StatusCode != http.StatusOK ||
			!bytes.Contains(res.Body, setupForm) {
			t.Fatalf("GET /setup with the printed token: status %d", res.StatusCode)
		}
		res := c.PostForm("/setup", url.Values{"token": {"wrong"},
			"email": {"thief@example.com"}, "password": {goodPassword}})
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("POST /setup with a wrong token: status %d", res.StatusCode)
		}
		if ok, _ := app.Accounts.SuperadminExists(ctx); ok {
			t.Fatal("a wrong setup token created a superadmin")
		}

		// The password never goes on the command line.
		pw := "root password 99"
		env := map[string]string{"SKETCHMAKER_DATA_DIR": app.Config.DataDir,
			"SECRET_KEY": app.Config.SecretKey, "BCRYPT_LOG_ROUNDS": "10",
			"LOG_LEVEL": "error"}
		if app.Config.DatabaseURL != "" {
			env["DATABASE_URL"] = app.Config.DatabaseURL
		}
		lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
		var stdout, stderr bytes.Buffer
		code := cli.Run([]string{"user", "create", "--role", "superadmin", "--email",
			"root@example.com", "--password", pw}, strings.NewReader(""), &stdout, &stderr,
			lookup)
		if code == 0 {
			t.Fatal("user create accepted a password on the command line")
		}
		code = cli.Run([]string{"user", "create", "--role", "superadmin", "--email",
			"root@example.com"}, strings.NewReader(pw+"\n"), &stdout, &stderr, lookup)
		if code != 0 {
			t.Fatalf("user create: exit %d: %s", code, stderr.String())
		}
		if strings.Contains(stdout.String()+stderr.String(), pw) {
			t.Error("user create echoed the password")
		}
		u, err := app.Accounts.ByEmail(ctx, "root@example.com")
		if err != nil || u.Role != "superadmin" {
			t.Fatalf("created account: %+v, %v", u, err)
		}
		admin := app.Client(t)
		res = admin.PostForm("/login", url.Values{"email": {"root@example.com"},
			"password": {pw}})
		if res.StatusCode != http.StatusSeeOther {
			t.Errorf("the superadmin cannot sign in: status %d", res.StatusCode)
		}

		// Setup is over, even with the token that worked a moment ago.
		if res := c.Get("/setup?token=" + token); res.StatusCode < 400 ||
			res.StatusCode >= 500 || bytes.Contains(res.Body, setupForm) {
			t.Errorf("GET /setup after setup: status %d", res.StatusCode)
		}
		res = c.PostForm("/setup", url.Values{"token": {token},
			"email": {"second@example.com"}, "password": {goodPassword}})
		if res.StatusCode < 400 || res.StatusCode >= 500 {
			t.Errorf("POST /setup after setup: status %d", res.StatusCode)
		}
		var supers int
		if err := app.DB.GetContext(ctx, &supers,
			"SELECT COUNT(*) FROM users WHERE role = 'superadmin'"); err != nil || supers != 1 {
			t.Errorf("%d superadmins (%v), want 1", supers, err)
		}
		if tok, err := app.Accounts.IssueSetupToken(ctx); err != nil || tok != "" {
			t.Errorf("a setup token is still issued after setup: %q, %v", tok, err)
		}
	})
}

func TestIssue2ConcurrentSetupMakesOneSuperadmin(t *testing.T) {
	i2EachDB(t, func(t *testing.T, app *apptest.App) {
		// Each start of the server prints a link, so several can be valid at once.
		ctx := context.Background()
		const n = 6
		var tokens []string
		for range n {
			tok, err := app.Accounts.IssueSetupToken(ctx)
			if err != nil || tok == "" {
				t.Fatalf("setup token: %q, %v", tok, err)
			}
			tokens = append(tokens, tok)
		}

		statuses := make(chan int, n)
		for i, tok := range tokens {
			c := app.Client(t)
			csrf := c.CSRF()
			go func() {
				body := url.Values{"token": {tok}, "csrf_token": {csrf},
					"email": {fmt.Sprintf("root%d@example.com", i)}, "password": {goodPassword}}
				res := c.Send(http.MethodPost, "/setup", "application/x-www-form-urlencoded",
					[]byte(body.Encode()), "")
				statuses <- res.StatusCode
			}()
		}
		created := 0
		for range n {
			if <-statuses == http.StatusSeeOther {
				created++
			}
		}

		var supers int
		if err := app.DB.GetContext(ctx, &supers,
			"SELECT COUNT(*) FROM users WHERE role = 'superadmin'"); err != nil {
			t.Fatal(err)
		}
		if supers != 1 || created != 1 {
			t.Errorf("%d parallel setups with different links made %d superadmins "+
				"(%d answered as created), want 1", n, supers, created)
		}
	})
}

func TestIssue2PasswordsOverTheBcryptLimit(t *testing.T) {
	raw, err := os.ReadFile("../../../shared/testdata/attacks/bcrypt_passwords.json")
	if err != nil {
		t.Skip("shared test data not found: ", err)
	}
	var pw struct {
		P73   string `json:"p73_ascii"`
		P72   string `json:"p72_prefix_of_p73"`
		Multi string `json:"p_multibyte_27chars"`
	}
	if err := json.Unmarshal(raw, &pw); err != nil || len(pw.P73) != 73 || len(pw.Multi) != 73 {
		t.Fatalf("unexpected bcrypt_passwords.json: %v", err)
	}

	i2EachDB(t, func(t *testing.T, app *apptest.App) {
		ctx := context.Background()
		token, err := app.Accounts.IssueSetupToken(ctx)
		if err != nil {
			t.Fatal(err)
		}
		env := map[string]string{"SKETCHMAKER_DATA_DIR": app.Config.DataDir,
			"SECRET_KEY": app.Config.SecretKey, "BCRYPT_LOG_ROUNDS": "10",
			"LOG_LEVEL": "error"}
		if app.Config.DatabaseURL != "" {
			env["DATABASE_URL"] = app.Config.DatabaseURL
		}
		users := i2Count(t, app, "users")

		for i, long := range []string{pw.P73, pw.Multi} {
			email := fmt.Sprintf("long%d@example.com", i)
			c := app.Client(t)
			res := c.PostJSON("/register", map[string]string{"email": email, "password": long})
			i2CheckError(t, "JSON registration", res, http.StatusBadRequest)
			if !bytes.Contains(res.Body, []byte("72 bytes")) {
				t.Errorf("JSON registration with %d bytes: %s", len(long), res.Body)
			}

			res = c.PostForm("/setup", url.Values{"token": {token}, "email": {email},
				"password": {long}})
			if res.StatusCode != http.StatusBadRequest ||
				!bytes.Contains(res.Body, []byte("72 bytes")) {
				t.Errorf("setup with a %d-byte password: status %d", len(long), res.StatusCode)
			}

			var stdout, stderr bytes.Buffer
			code := cli.Run([]string{"user", "create", "--email", email},
				strings.NewReader(long+"\n"), &stdout, &stderr,
				func(k string) (string, bool) { v, ok := env[k]; return v, ok })
			if code == 0 || !strings.Contains(stderr.String(), "72 bytes") {
				t.Errorf("user create with a %d-byte password: exit %d: %s", len(long), code,
					stderr.String())
			}
		}
		if n := i2Count(t, app, "users"); n != users {
			t.Errorf("refused passwords created %d accounts", n-users)
		}

		// The link still works after the refusals: a refused form does not spend it.
		res := app.Client(t).PostForm("/setup", url.Values{"token": {token},
			"email": {"root@example.com"}, "password": {pw.P72}})
		if res.StatusCode != http.StatusSeeOther {
			t.Errorf("setup with a 72-byte password after the refusals: status %d: %s",
				res.StatusCode, res.Body)
		}
		res = app.Client(t).PostJSON("/login", map[string]string{
			"email": "root@example.com", "password": pw.P73})
		i2CheckError(t, "73-byte sign-in against a 72-byte password", res,
			http.StatusUnauthorized)
	})
}
