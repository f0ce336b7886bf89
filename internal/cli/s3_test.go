package cli_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/apptest"
	"github.com/sketchmaker/sketchmaker/internal/blob/s3test"
	"github.com/sketchmaker/sketchmaker/internal/cli"
	"github.com/sketchmaker/sketchmaker/internal/config"
)

// TestWholeAppOnS3 runs SketchMaker on an S3 server: an image generated through the API
// lands in the bucket under the prefix, downloads from there, and leaves it when deleted.
func TestWholeAppOnS3(t *testing.T) {
	srv := s3test.New(t)
	env := srv.Env()
	env["S3_PREFIX"] = "studio"
	app := apptest.NewWith(t, apptest.Options{Env: env})
	c := app.Client(t)
	c.Register("s3@example.com", "correct horse 42")

	res := c.PostJSON("/generate/image", map[string]any{"prompt": "a lighthouse in fog"})
	images, _ := res.JSON()["images"].([]any)
	if res.StatusCode != http.StatusOK || len(images) != 1 {
		t.Fatalf("generate: status %d: %s", res.StatusCode, res.Body)
	}
	id, _ := images[0].(map[string]any)["id"].(string)
	stored := objects(t, srv)
	if len(stored["studio/images/"]) != 1 || len(stored["studio/thumbs/"]) != 1 ||
		len(srv.Keys(t)) != 2 {
		t.Fatalf("after generating, the bucket holds %v, want one image and one thumbnail "+
			"under studio/", srv.Keys(t))
	}
	if _, err := os.Stat(filepath.Join(app.Config.DataDir, "files")); err == nil {
		t.Fatal("files were written to the data directory")
	}

	want, _ := srv.Object(t, stored["studio/images/"][0])
	download(t, c, "/download/"+id+"/png", want)
	thumb, ctype := srv.Object(t, stored["studio/thumbs/"][0])
	download(t, c, "/images/"+id+"/thumb", thumb)
	if ctype != "image/webp" {
		t.Errorf("the thumbnail is stored as %q", ctype)
	}
	// Another format is converted once and kept beside the original.
	if res := c.Get("/download/" + id + "/jpeg"); res.StatusCode != http.StatusOK ||
		!bytes.HasPrefix(res.Body, []byte{0xFF, 0xD8, 0xFF}) {
		t.Fatalf("jpeg download: status %d", res.StatusCode)
	}
	if len(objects(t, srv)["studio/variants/"]) != 1 {
		t.Fatalf("no converted copy in the bucket: %v", srv.Keys(t))
	}
	if res := c.Get("/readyz"); res.StatusCode != http.StatusOK {
		t.Fatalf("readyz: status %d", res.StatusCode)
	}

	res = c.Send(http.MethodDelete, "/api/gallery/"+id, "", nil, c.CSRF())
	if res.StatusCode != http.StatusOK {
		t.Fatalf("delete: status %d: %s", res.StatusCode, res.Body)
	}
	if keys := srv.Keys(t); len(keys) != 0 {
		t.Fatalf("after deleting the image the bucket still holds %v", keys)
	}
	if res := c.Get("/download/" + id + "/png"); res.StatusCode != http.StatusNotFound {
		t.Fatalf("download after delete: status %d", res.StatusCode)
	}

	// Without its bucket the instance is no longer ready.
	srv.Close()
	if res := c.Get("/readyz"); res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readyz with the object store down: status %d", res.StatusCode)
	}
}

// objects groups the bucket's keys by their first two path segments.
func objects(t *testing.T, srv *s3test.Server) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, k := range srv.Keys(t) {
		parts := strings.SplitN(k, "/", 3)
		if len(parts) == 3 {
			out[parts[0]+"/"+parts[1]+"/"] = append(out[parts[0]+"/"+parts[1]+"/"], k)
		}
	}
	return out
}

// download fetches path and requires exactly want.
func download(t *testing.T, c *apptest.Client, path string, want []byte) {
	t.Helper()
	res := c.Get(path)
	if res.StatusCode != http.StatusOK || !bytes.Equal(res.Body, want) || len(want) == 0 {
		t.Fatalf("GET %s: status %d, %d bytes, want the %d stored", path, res.StatusCode,
			len(res.Body), len(want))
	}
}

// TestStartRefusesABucketThatDoesNotAnswer checks that a misconfigured bucket stops the
// start with a message naming the setting, instead of failing at the first upload.
func TestStartRefusesABucketThatDoesNotAnswer(t *testing.T) {
	srv := s3test.New(t)
	for name, change := range map[string][2]string{
		"missing bucket": {"S3_BUCKET", "no-such-bucket"},
		"wrong key id":   {"S3_ACCESS_KEY_ID", "AKIAWRONG"},
	} {
		env := srv.Env()
		env["SKETCHMAKER_DATA_DIR"] = t.TempDir()
		env["SECRET_KEY"] = strings.Repeat("k", 40)
		env[change[0]] = change[1]
		cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok },
			"")
		if err != nil {
			t.Fatal(err)
		}
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		app, err := cli.Build(context.Background(), cfg, log, io.Discard)
		if err == nil {
			app.Close()
			t.Fatalf("%s: the app started", name)
		}
		if !strings.Contains(err.Error(), change[0]) ||
			strings.Contains(err.Error(), s3test.SecretAccessKey) {
			t.Errorf("%s: %q should name %s and hide the secret", name, err, change[0])
		}
	}
}
