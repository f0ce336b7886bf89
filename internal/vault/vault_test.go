package vault_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/secret"
	"github.com/sketchmaker/sketchmaker/internal/vault"
)

// Keys for the tests; an unnamed key's id is derived from its bytes.
var (
	keyA = secret.GenerateKey()
	keyB = secret.GenerateKey()
)

const falKey = "fal-live-0123456789abcdefSECRET"

func ring(t *testing.T, spec string) *secret.KeyRing {
	t.Helper()
	r, err := secret.ParseKeyRing(spec)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func now() time.Time { return time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC) }

func TestSavingNeedsAnEncryptionKey(t *testing.T) {
	ctx := context.Background()
	v := vault.New(dbtest.SQLite(t), nil, now)
	if v.CanSeal() {
		t.Fatal("CanSeal without a key ring")
	}
	err := v.SetKey(ctx, "fal", falKey, 1)
	if !errors.Is(err, vault.ErrNoEncryptionKey) ||
		!strings.Contains(fault.As(err).Message, "API_KEY_ENCRYPTION_KEY") {
		t.Fatalf("saving without a key ring: %v", err)
	}
}

func TestKeyRoundTripShowsOnlyTheEnd(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		v := vault.New(db, ring(t, keyA), now)
		if err := v.SetKey(ctx, "fal", "  "+falKey+"\n", 42); err != nil {
			t.Fatal(err)
		}

		p, err := v.Provider(ctx, "fal")
		if err != nil {
			t.Fatal(err)
		}
		if !p.KeySet() || p.KeyLast4 != "…CRET" || p.KeySetBy != 42 ||
			p.KeySetAt != now().UnixMilli() || p.KeyID == "" {
			t.Fatalf("entry after saving: %+v", p)
		}
		if got, err := v.Key(ctx, "fal"); err != nil || got != falKey {
			t.Fatalf("Key = %q, %v", got, err)
		}

		var sealed string
		_ = db.GetContext(ctx, &sealed, `SELECT key_ciphertext FROM providers WHERE id = 'fal'`)
		if sealed == "" || strings.Contains(sealed, falKey) || strings.Contains(sealed, "SECRET") {
			t.Fatalf("stored ciphertext %q holds the key", sealed)
		}
		if _, err := v.Key(ctx, "openai"); !errors.Is(err, vault.ErrNoKey) {
			t.Fatalf("a key never saved: %v", err)
		}
		if _, err := v.Key(ctx, "nope"); !errors.Is(err, vault.ErrUnknownProvider) {
			t.Fatalf("an unknown provider: %v", err)
		}
	})
}

// TestDatabaseFileNeverHoldsTheKey greps the bytes of the SQLite file and its WAL.
func TestDatabaseFileNeverHoldsTheKey(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "vault.db")
	db, err := database.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	v := vault.New(db, ring(t, keyA), now)
	if err := v.SetKey(ctx, "openai", falKey, 1); err != nil {
		t.Fatal(err)
	}

	for _, f := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(falKey)) {
			t.Fatalf("%s holds a saved key in clear text", filepath.Base(f))
		}
	}
}

func TestCiphertextIsBoundToItsRow(t *testing.T) {
	ctx := context.Background()
	db := dbtest.SQLite(t)
	v := vault.New(db, ring(t, keyA), now)
	if err := v.SetKey(ctx, "fal", falKey, 1); err != nil {
		t.Fatal(err)
	}
	_, err := db.ExecContext(ctx, `UPDATE providers SET key_ciphertext = (SELECT
		key_ciphertext FROM providers WHERE id = 'fal'), key_set_at = 1 WHERE id = 'openai'`)
	if err != nil {
		t.Fatal(err)
	}
	var ke *vault.KeyError
	if _, err := v.Key(ctx, "openai"); !errors.As(err, &ke) || !errors.Is(err, secret.ErrCorrupt) {
		t.Fatalf("a ciphertext copied to another provider opened: %v", err)
	}
}

func TestRotationKeepsEveryKeyReadable(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		old := vault.New(db, ring(t, keyA), now)
		keys := map[string]string{"fal": falKey, "openai": "sk-openai-abcdefghijkl",
			"comfyui": "comfy-token-0987654321"}
		for id, k := range keys {
			if err := old.SetKey(ctx, id, k, 1); err != nil {
				t.Fatal(err)
			}
		}
		sealSetting(t, db, ring(t, keyA), "smtp-pass-123456")
		old.Track(mailColumn)

		// The new key first, the old one after it: everything opens, new seals use B.
		both := vault.New(db, ring(t, keyB+","+keyA), now)
		both.Track(mailColumn)
		if err := both.Verify(ctx); err != nil {
			t.Fatalf("verify with both keys: %v", err)
		}
		n, err := both.Rotate(ctx)
		if err != nil || n != 4 {
			t.Fatalf("rotate: %d re-sealed, %v; want 4", n, err)
		}
		if n, _ := both.Rotate(ctx); n != 0 {
			t.Fatalf("a second rotation re-sealed %d", n)
		}

		// The old key can now be dropped.
		onlyB := vault.New(db, ring(t, keyB), now)
		onlyB.Track(mailColumn)
		if err := onlyB.Verify(ctx); err != nil {
			t.Fatalf("verify with the new key alone: %v", err)
		}
		for id, k := range keys {
			if got, err := onlyB.Key(ctx, id); err != nil || got != k {
				t.Fatalf("after rotation %s = %q, %v", id, got, err)
			}
			p, _ := onlyB.Provider(ctx, id)
			if p.KeyID != ring(t, keyB).PrimaryID() {
				t.Errorf("%s key id %q after rotation", id, p.KeyID)
			}
		}
		var sealed string
		_ = db.GetContext(ctx, &sealed, `SELECT value FROM settings WHERE key = 'mail.pw'`)
		if got, err := ring(t, keyB).Open(sealed, "setting:mail.pw"); err != nil ||
			string(got) != "smtp-pass-123456" {
			t.Fatalf("tracked secret after rotation = %q, %v", got, err)
		}
	})
}

func TestWrongKeyAtStartIsAClearError(t *testing.T) {
	ctx := context.Background()
	db := dbtest.SQLite(t)
	if err := vault.New(db, ring(t, keyA), now).SetKey(ctx, "fal", falKey, 1); err != nil {
		t.Fatal(err)
	}
	idA := ring(t, keyA).PrimaryID()

	tests := []struct {
		name string
		v    *vault.Service
		want string
	}{
		{"another key", vault.New(db, ring(t, keyB), now),
			"API_KEY_ENCRYPTION_KEY cannot decrypt the stored provider keys (key id " + idA},
		{"the same id on another key", vault.New(db, ring(t, idA+":"+keyB), now),
			"API_KEY_ENCRYPTION_KEY cannot decrypt the stored provider keys (key id " + idA},
		{"no key at all", vault.New(db, nil, now),
			"API_KEY_ENCRYPTION_KEY is not set, but the database holds provider keys " +
				"encrypted with key id " + idA},
	}
	for _, tt := range tests {
		err := tt.v.Verify(ctx)
		var ke *vault.KeyError
		if !errors.As(err, &ke) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
		if err != nil && (strings.Contains(err.Error(), falKey) ||
			strings.Contains(err.Error(), keyA) || strings.Contains(err.Error(), keyB)) {
			t.Errorf("%s: the error reveals a key", tt.name)
		}
	}
	if err := vault.New(dbtest.SQLite(t), nil, now).Verify(ctx); err != nil {
		t.Fatalf("an empty vault without a key: %v", err)
	}
}

func TestConfigure(t *testing.T) {
	ctx := context.Background()
	v := vault.New(dbtest.SQLite(t), ring(t, keyA), now)

	if err := v.Configure(ctx, "fal", "", true, 1); fault.As(err) == nil {
		t.Fatalf("switching FAL on without a key: %v", err)
	}
	if err := v.Configure(ctx, "a1111", "", true, 1); fault.As(err) == nil {
		t.Fatalf("switching AUTOMATIC1111 on without an address: %v", err)
	}
	if err := v.Configure(ctx, "a1111", "http://127.0.0.1:7860/", true, 1); err != nil {
		t.Fatalf("a local AUTOMATIC1111: %v", err)
	}
	p, _ := v.Provider(ctx, "a1111")
	if !p.Enabled || p.BaseURL != "http://127.0.0.1:7860" || !p.Configured() {
		t.Fatalf("a1111 after configure: %+v", p)
	}
	if err := v.Configure(ctx, vault.Builtin, "", false, 1); fault.As(err) == nil {
		t.Fatalf("switching the built-in engine off: %v", err)
	}

	if err := v.SetKey(ctx, "fal", falKey, 1); err != nil {
		t.Fatal(err)
	}
	if err := v.Configure(ctx, "fal", "", true, 1); err != nil {
		t.Fatal(err)
	}
	if err := v.ClearKey(ctx, "fal", 1); err != nil {
		t.Fatal(err)
	}
	if p, _ := v.Provider(ctx, "fal"); p.Enabled || p.KeySet() || p.KeyLast4 != "" {
		t.Fatalf("FAL after its key was removed: %+v", p)
	}
	if err := v.RecordCheck(ctx, "a1111", vault.CheckFailed, "refused"); err != nil {
		t.Fatal(err)
	}
	if p, _ := v.Provider(ctx, "a1111"); p.CheckStatus != vault.CheckFailed || p.CheckedAt == 0 {
		t.Fatalf("check not recorded: %+v", p)
	}
	provs, err := v.Providers(ctx)
	if err != nil || len(provs) != 12 || provs[0].ID != vault.Builtin {
		t.Fatalf("providers: %d, %v", len(provs), err)
	}
}

// mailColumn stands for a sealed value another package keeps in the settings table.
var mailColumn = vault.Column{What: "SMTP password", Table: "settings", Key: "key",
	Value: "value", Where: "key = 'mail.pw'",
	AD: func(key string) string { return "setting:" + key }}

func sealSetting(t *testing.T, db *database.DB, r *secret.KeyRing, plain string) {
	t.Helper()
	sealed, err := r.Seal([]byte(plain), "setting:mail.pw")
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.ExecContext(context.Background(), db.Rebind(`INSERT INTO settings (key, value,
		updated_at) VALUES ('mail.pw', ?, 0)`), sealed)
	if err != nil {
		t.Fatal(err)
	}
}

func TestTrackedColumnsAreVerified(t *testing.T) {
	ctx := context.Background()
	db := dbtest.SQLite(t)
	sealSetting(t, db, ring(t, keyA), "smtp-pass-123456")

	right := vault.New(db, ring(t, keyA), now)
	right.Track(mailColumn)
	if err := right.Verify(ctx); err != nil {
		t.Fatalf("the right key: %v", err)
	}
	wrong := vault.New(db, ring(t, keyB), now)
	if err := wrong.Verify(ctx); err != nil {
		t.Fatalf("an untracked column was checked: %v", err)
	}
	wrong.Track(mailColumn)
	var ke *vault.KeyError
	err := wrong.Verify(ctx)
	if !errors.As(err, &ke) || !strings.Contains(err.Error(),
		"cannot decrypt the stored SMTP password (key id "+ring(t, keyA).PrimaryID()) {
		t.Fatalf("the wrong key on a tracked column: %v", err)
	}
}

func TestCheckKey(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"sk-abc", "sk-abc", true},
		{"  sk-abc \n", "sk-abc", true},
		{"", "", false},
		{"   ", "", false},
		{"sk abc", "", false},
		{"sk-abc\x00", "", false},
		{"sk-\u200babc", "sk-\u200babc", true},
		{strings.Repeat("k", vault.MaxKeyBytes+1), "", false},
	}
	for _, tt := range tests {
		got, err := vault.CheckKey(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("CheckKey(%q) = %q, %v", tt.in, got, err)
		}
		if err != nil && fault.As(err) == nil {
			t.Errorf("CheckKey(%q): error without a message for people", tt.in)
		}
	}
}

func TestCheckBaseURL(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"", "", true},
		{"https://api.example.com/v1/", "https://api.example.com/v1", true},
		{"http://10.0.0.5:8188", "http://10.0.0.5:8188", true},
		{"ftp://example.com", "", false},
		{"example.com", "", false},
		{"https://user:pw@example.com", "", false},
		{"https://example.com/?key=1", "", false},
		{"https://example.com/#x", "", false},
		{"javascript:alert(1)", "", false},
		{"https://exa mple.com", "", false},
		{"https:///path", "", false},
		{"http://169.254.169.254/latest/meta-data/", "", false}, // cloud metadata
		{"http://[fe80::1]:7860", "", false},
		{"http://[fd00:ec2::254]", "", false},
		{"http://[::ffff:169.254.169.254]", "", false},
		{"http://127.0.0.1:7860", "http://127.0.0.1:7860", true},
	}
	for _, tt := range tests {
		got, err := vault.CheckBaseURL(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("CheckBaseURL(%q) = %q, %v", tt.in, got, err)
		}
	}
}

func FuzzCheckBaseURL(f *testing.F) {
	for _, s := range []string{"", "https://a.example/v1", "http://[::1]:80", "https://u@h",
		"http://h/?q#f", "\x00", "https://h/%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := vault.CheckBaseURL(s)
		if err != nil {
			if fault.As(err) == nil {
				t.Fatalf("error without a message for people: %v", err)
			}
			return
		}
		if got == "" {
			return
		}
		if !strings.HasPrefix(got, "http://") && !strings.HasPrefix(got, "https://") {
			t.Fatalf("accepted %q as %q", s, got)
		}
		if again, err := vault.CheckBaseURL(got); err != nil || again != got {
			t.Fatalf("not stable: %q -> %q -> %q, %v", s, got, again, err)
		}
	})
}

func FuzzCheckKey(f *testing.F) {
	for _, s := range []string{"", "sk-1", " a ", "a\nb", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := vault.CheckKey(s)
		if err != nil {
			if fault.As(err) == nil {
				t.Fatalf("error without a message for people: %v", err)
			}
			return
		}
		if got == "" || strings.ContainsAny(got, " \t\r\n") || len(got) > vault.MaxKeyBytes {
			t.Fatalf("accepted %q as %q", s, got)
		}
	})
}

// TestIntegerKeyedColumnRotates re-seals a column keyed by an integer id, such as the
// two-factor secrets in users.
func TestIntegerKeyedColumnRotates(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		totp := vault.Column{What: "two-factor secrets", Table: "users", Key: "id",
			Value: "totp_secret", AD: func(id string) string { return "totp:" + id }}
		var id int64
		err := db.GetContext(ctx, &id, db.Rebind(`INSERT INTO users (email, created_at,
			updated_at) VALUES ('t@example.com', 0, 0) RETURNING id`))
		if err != nil {
			t.Fatal(err)
		}
		ad := "totp:" + strings.TrimSpace(fmt.Sprint(id))
		sealed, err := ring(t, keyA).Seal([]byte("JBSWY3DPEHPK3PXP"), ad)
		if err != nil {
			t.Fatal(err)
		}
		_, err = db.ExecContext(ctx, db.Rebind(`UPDATE users SET totp_secret = ? WHERE id = ?`),
			sealed, id)
		if err != nil {
			t.Fatal(err)
		}

		v := vault.New(db, ring(t, keyB+","+keyA), now)
		v.Track(totp)
		if n, err := v.Rotate(ctx); err != nil || n != 1 {
			t.Fatalf("rotate: %d, %v", n, err)
		}
		_ = db.GetContext(ctx, &sealed, db.Rebind(`SELECT totp_secret FROM users WHERE id = ?`), id)
		if got, err := ring(t, keyB).Open(sealed, ad); err != nil || string(got) != "JBSWY3DPEHPK3PXP" {
			t.Fatalf("after rotation: %q, %v", got, err)
		}
	})
}
