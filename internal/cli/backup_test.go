package cli_test

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/sketchmaker/sketchmaker/internal/apptest"
	"github.com/sketchmaker/sketchmaker/internal/backup"
	"github.com/sketchmaker/sketchmaker/internal/cli"
	"github.com/sketchmaker/sketchmaker/internal/config"
	"github.com/sketchmaker/sketchmaker/internal/database"
)

const (
	backupPassphrase = "a long backup passphrase"
	backupPassword   = "correct horse 42"
	backupSecret     = "test-secret-key-0123456789abcdef0123456789abcdef"
)

// backupEnv is the environment of a command run on the data directory dir.
func backupEnv(dir string, extra ...string) func(string) (string, bool) {
	env := map[string]string{"SKETCHMAKER_DATA_DIR": dir, "SECRET_KEY": backupSecret,
		"BCRYPT_LOG_ROUNDS": "10", "LOG_LEVEL": "error"}
	for i := 0; i+1 < len(extra); i += 2 {
		env[extra[i]] = extra[i+1]
	}
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

// runCommand runs a command with stdin and returns its exit code, stdout and stderr.
func runCommand(env func(string) (string, bool), stdin string, args ...string) (int, string,
	string) {
	var stdout, stderr bytes.Buffer
	code := cli.Run(args, strings.NewReader(stdin), &stdout, &stderr, env)
	return code, stdout.String(), stderr.String()
}

// mustRun runs a command that must succeed.
func mustRun(t *testing.T, env func(string) (string, bool), stdin string,
	args ...string) string {
	t.Helper()
	code, stdout, stderr := runCommand(env, stdin, args...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, stderr)
	}
	return stdout
}

// filesIn returns every file under dir by its slash path.
func filesIn(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		out[filepath.ToSlash(rel)], err = os.ReadFile(path)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func fastPassphrases(t *testing.T) {
	t.Cleanup(cli.SetPassphraseWork(10))
}

// generated is an image made through the API with its downloaded bytes.
type generated struct {
	id   string
	body []byte
}

// generateImages makes n images for c through the API and downloads them.
func generateImages(t *testing.T, c *apptest.Client, n int) []generated {
	t.Helper()
	var out []generated
	for i := range n {
		res := c.PostJSON("/generate/image", map[string]any{"seed": 7 + i,
			"prompt":     "a lighthouse at dusk, number " + string(rune('a'+i)),
			"image_size": "square", "output_format": "png"})
		images, _ := res.JSON()["images"].([]any)
		if res.StatusCode != http.StatusOK || len(images) != 1 {
			t.Fatalf("generate: status %d: %s", res.StatusCode, res.Body)
		}
		id := images[0].(map[string]any)["id"].(string)
		dl := c.Get("/download/" + id + "/png")
		if dl.StatusCode != http.StatusOK || len(dl.Body) == 0 {
			t.Fatalf("download %s: status %d", id, dl.StatusCode)
		}
		out = append(out, generated{id: id, body: dl.Body})
	}
	return out
}

// TestBackupAndRestoreEndToEnd backs up a running instance with users and images,
// restores it into a fresh data directory, and serves it again: the users sign in, their
// images download byte for byte, and the audit chain verifies with the restore in it.
func TestBackupAndRestoreEndToEnd(t *testing.T) {
	fastPassphrases(t)
	app := apptest.New(t)
	alice := app.Client(t)
	alice.Register("alice@example.com", backupPassword)
	app.SetCredits(t, alice.UserID(), 50)
	images := generateImages(t, alice, 2)
	app.Client(t).Register("bob@example.com", backupPassword)
	stored := filesIn(t, filepath.Join(app.Config.DataDir, "files"))

	// The server keeps running during the backup.
	out := filepath.Join(t.TempDir(), "studio.age")
	oldEnv := backupEnv(app.Config.DataDir)
	summary := mustRun(t, oldEnv, backupPassphrase+"\n", "backup", "--out", out)
	if !strings.Contains(summary, "backup written to "+out) ||
		!strings.Contains(summary, "encrypted to passphrase") {
		t.Fatalf("summary %q", summary)
	}
	if st, err := os.Stat(out); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v", err, st.Mode())
	}
	events := mustRun(t, oldEnv, "", "audit", "export", "--format", "json", "--type",
		"backup_made")
	if !strings.Contains(events, `"files":`) || strings.Contains(events, "images/") {
		t.Fatalf("backup_made event: %s", events)
	}

	newDir := filepath.Join(t.TempDir(), "restored")
	newEnv := backupEnv(newDir)
	summary = mustRun(t, newEnv, backupPassphrase+"\n", "restore", "--in", out)
	if !strings.Contains(summary, "restored the database and") {
		t.Fatalf("summary %q", summary)
	}
	restored := filesIn(t, filepath.Join(newDir, "files"))
	if len(restored) != len(stored) || len(stored) < 2 {
		t.Fatalf("restored %d files, the instance had %d", len(restored), len(stored))
	}
	for key, body := range stored {
		if !bytes.Equal(restored[key], body) {
			t.Errorf("stored file %s differs after the restore", key)
		}
	}

	checkServed(t, newDir, images)
	verify := mustRun(t, newEnv, "", "audit", "verify")
	if !strings.Contains(verify, "audit log intact") {
		t.Fatalf("audit verify: %s", verify)
	}
	events = mustRun(t, newEnv, "", "audit", "export", "--format", "json", "--type",
		"backup_restored")
	if !strings.Contains(events, `"replaced":false`) {
		t.Fatalf("backup_restored event: %s", events)
	}
}

// checkServed starts SketchMaker on a restored data directory and checks that both users
// sign in and that alice's images download with the bytes they had.
func checkServed(t *testing.T, dir string, images []generated) {
	t.Helper()
	app := apptest.NewWith(t, apptest.Options{Env: map[string]string{
		"SKETCHMAKER_DATA_DIR": dir}})
	for _, email := range []string{"alice@example.com", "bob@example.com"} {
		c := app.Client(t)
		res := c.PostForm("/login", url.Values{"email": {email}, "password": {backupPassword}})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in of %s after the restore: status %d", email, res.StatusCode)
		}
		if email != "alice@example.com" {
			continue
		}
		for _, im := range images {
			dl := c.Get("/download/" + im.id + "/png")
			if dl.StatusCode != http.StatusOK || !bytes.Equal(dl.Body, im.body) {
				t.Errorf("image %s after the restore: status %d, same bytes %v", im.id,
					dl.StatusCode, bytes.Equal(dl.Body, im.body))
			}
		}
	}
}

// TestRestoreOverExistingData refuses to restore over an instance without --force, and
// while a server holds its database; once it is stopped, --force keeps the old data aside.
func TestRestoreOverExistingData(t *testing.T) {
	fastPassphrases(t)
	source := apptest.New(t)
	source.Client(t).Register("new@example.com", backupPassword)
	out := filepath.Join(t.TempDir(), "b.age")
	mustRun(t, backupEnv(source.Config.DataDir), backupPassphrase+"\n", "backup", "--out", out)

	dir := t.TempDir()
	env := backupEnv(dir)
	mustRun(t, env, backupPassword+"\n", "user", "create", "--email", "old@example.com")
	oldFile := filepath.Join(dir, "files", "images", "zz", "zz01.png")
	os.MkdirAll(filepath.Dir(oldFile), 0o700)
	os.WriteFile(oldFile, []byte("the old instance's image"), 0o600)

	code, _, stderr := runCommand(env, backupPassphrase+"\n", "restore", "--in", out)
	if code != 1 || !strings.Contains(stderr, "pass --force") {
		t.Fatalf("restore over data: exit %d: %s", code, stderr)
	}
	running := buildOn(t, env)
	code, _, stderr = runCommand(env, backupPassphrase+"\n", "restore", "--in", out, "--force")
	if code != 1 || !strings.Contains(stderr, "stop the server first") {
		t.Fatalf("restore under a running server: exit %d: %s", code, stderr)
	}

	running.Close()
	summary := mustRun(t, env, backupPassphrase+"\n", "restore", "--in", out, "--force")
	aside, _ := filepath.Glob(filepath.Join(dir, "*.replaced-*"))
	if !strings.Contains(summary, "kept as") || len(aside) != 2 {
		t.Fatalf("summary %q, aside %v", summary, aside)
	}
	rel, _ := filepath.Rel(filepath.Join(dir, "files"), oldFile)
	for _, p := range aside {
		if !strings.HasPrefix(filepath.Base(p), "files.") {
			continue
		}
		if b, err := os.ReadFile(filepath.Join(p, rel)); string(b) != "the old instance's image" {
			t.Fatalf("the old file kept aside: %q %v", b, err)
		}
	}

	app := apptest.NewWith(t, apptest.Options{Env: map[string]string{"SKETCHMAKER_DATA_DIR": dir}})
	for email, ok := range map[string]bool{"new@example.com": true, "old@example.com": false} {
		res := app.Client(t).PostForm("/login", url.Values{"email": {email},
			"password": {backupPassword}})
		if (res.StatusCode == http.StatusSeeOther) != ok {
			t.Errorf("sign-in of %s after the restore: status %d", email, res.StatusCode)
		}
	}
}

// buildOn builds the application of env, holding its database as a server would.
func buildOn(t *testing.T, env func(string) (string, bool)) *cli.App {
	t.Helper()
	cfg, err := config.Load(env, "")
	if err != nil {
		t.Fatal(err)
	}
	app, err := cli.Build(context.Background(), cfg, slog.New(slog.DiscardHandler), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return app
}

// TestBackupCommandRefusals covers the command line's refusals and their exit codes.
func TestBackupCommandRefusals(t *testing.T) {
	fastPassphrases(t)
	dir := t.TempDir()
	env := backupEnv(dir)
	mustRun(t, env, "", "migrate")
	out := filepath.Join(t.TempDir(), "b.age")
	mustRun(t, env, backupPassphrase+"\n", "backup", "--out", out)
	before, _ := os.ReadFile(out)

	pg := backupEnv(dir, "DATABASE_URL", "postgres://sketch:hunter2@127.0.0.1:1/studio")
	s3 := backupEnv(dir, "S3_ENDPOINT", "http://127.0.0.1:1", "S3_BUCKET", "studio",
		"S3_ACCESS_KEY_ID", "id", "S3_SECRET_ACCESS_KEY", "secret-access-key")
	fresh := backupEnv(filepath.Join(t.TempDir(), "fresh"))
	cases := []struct {
		name  string
		env   func(string) (string, bool)
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"backup on PostgreSQL", pg, backupPassphrase + "\n",
			[]string{"backup", "--out", out + "2"}, 2, "pg_dump"},
		{"restore on PostgreSQL", pg, backupPassphrase + "\n",
			[]string{"restore", "--in", out}, 2, "pg_restore"},
		{"backup on S3", s3, backupPassphrase + "\n",
			[]string{"backup", "--out", out + "2"}, 2, "versioning or replication"},
		{"no --out", env, "", []string{"backup"}, 2, "usage: sketchmaker backup"},
		{"no --in", env, "", []string{"restore"}, 2, "usage: sketchmaker backup"},
		{"no passphrase", env, "", []string{"backup", "--out", out + "2"}, 2,
			"standard input"},
		{"short passphrase", env, "short\n", []string{"backup", "--out", out + "2"}, 1,
			"at least 12"},
		{"bad recipient", env, "", []string{"backup", "--out", out + "2", "--recipient",
			"AGE-SECRET-KEY-1XYZ"}, 2, "age public key"},
		{"existing output", env, backupPassphrase + "\n", []string{"backup", "--out", out},
			1, "--force"},
		{"wrong passphrase", fresh, "another long passphrase\n",
			[]string{"restore", "--in", out}, 1, "does not open this backup"},
		{"missing archive", fresh, backupPassphrase + "\n",
			[]string{"restore", "--in", out + ".missing"}, 1,
			"b.age.missing\" cannot be opened: it does not exist"},
		{"missing identity", fresh, "", []string{"restore", "--in", out, "--identity",
			out + ".key"}, 1, "identity file \"" + out + ".key\" cannot be opened: it does not exist"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCommand(tc.env, tc.stdin, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, want %d: %s", code, tc.code, stderr)
			}
			if strings.Contains(stderr, "hunter2") || strings.Contains(stderr, "secret-acc") {
				t.Fatalf("a secret in the message: %s", stderr)
			}
		})
	}
	if after, _ := os.ReadFile(out); !bytes.Equal(before, after) {
		t.Fatal("a refused command changed the existing backup")
	}
	if _, err := os.Stat(out + "2"); err == nil {
		t.Fatal("a refused backup was written")
	}
	if _, err := os.Stat(filepath.Join(t.TempDir(), "fresh")); err == nil {
		t.Fatal("a refused restore created the data directory")
	}
}

// TestBackupToAgeKeysWithTheGeneratedSecret encrypts to an age key, restores with its
// identity file, and carries the data directory's generated secret-key file.
func TestBackupToAgeKeysWithTheGeneratedSecret(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := age.GenerateX25519Identity()
	keys := t.TempDir()
	idFile, otherFile := filepath.Join(keys, "id.txt"), filepath.Join(keys, "other.txt")
	os.WriteFile(idFile, []byte("# backup key\n"+id.String()+"\n"), 0o600)
	os.WriteFile(otherFile, []byte(other.String()+"\n"), 0o600)

	dir := t.TempDir()
	env := backupEnv(dir, "SECRET_KEY", "")
	mustRun(t, env, "", "migrate")
	secret, err := os.ReadFile(filepath.Join(dir, "secret_key"))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "b.age")
	summary := mustRun(t, env, "", "backup", "--out", out, "--no-gzip", "--recipient",
		id.Recipient().String())
	if !strings.Contains(summary, "generated secret-key file") {
		t.Fatalf("summary %q", summary)
	}

	newDir := filepath.Join(t.TempDir(), "restored")
	newEnv := backupEnv(newDir, "SECRET_KEY", "")
	code, _, stderr := runCommand(newEnv, "", "restore", "--in", out, "--identity", otherFile)
	if code != 1 || !strings.Contains(stderr, "does not open") {
		t.Fatalf("restore with another key: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(newDir); err == nil {
		t.Fatal("the refused restore created the data directory")
	}
	mustRun(t, newEnv, "", "restore", "--in", out, "--identity", idFile)
	got, err := os.ReadFile(filepath.Join(newDir, "secret_key"))
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("restored secret-key file %q, %v", got, err)
	}
	if v := mustRun(t, newEnv, "", "audit", "verify"); !strings.Contains(v, "intact") {
		t.Fatalf("audit verify: %s", v)
	}
}

// TestRestoreMigratesAnOlderBackup restores a backup made before any migration ran: the
// restore brings the schema up to date, so the audit trail takes the restore event.
func TestRestoreMigratesAnOlderBackup(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l := backup.Layout{Database: filepath.Join(dir, "sketchmaker.db"),
		Files: filepath.Join(dir, "files"), Secret: filepath.Join(dir, "secret_key"),
		Work: filepath.Join(dir, "tmp")}
	db, err := database.Open(ctx, l.Database)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	id, _ := age.GenerateX25519Identity()
	out := filepath.Join(t.TempDir(), "old.age")
	_, err = backup.WriteFile(ctx, db, l, out, false,
		backup.Options{Recipients: []age.Recipient{id.Recipient()}})
	if err != nil {
		t.Fatal(err)
	}
	idFile := filepath.Join(t.TempDir(), "id.txt")
	os.WriteFile(idFile, []byte(id.String()+"\n"), 0o600)

	newEnv := backupEnv(filepath.Join(t.TempDir(), "restored"))
	mustRun(t, newEnv, "", "restore", "--in", out, "--identity", idFile)
	if v := mustRun(t, newEnv, "", "audit", "verify"); !strings.Contains(v, "(1 events)") {
		t.Fatalf("audit verify: %s", v)
	}
}
