// Package dbtest gives tests real, migrated databases: a SQLite file in a temporary
// directory always, and a fresh PostgreSQL schema when SKETCHMAKER_TEST_DATABASE_URL is set.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/database"
)

// EnvPostgres names the variable that points the store tests at a PostgreSQL server.
const EnvPostgres = "SKETCHMAKER_TEST_DATABASE_URL"

// Each runs fn as a subtest once per available dialect, each on a new migrated database.
func Each(t *testing.T, fn func(t *testing.T, db *database.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) {
		if os.Getenv(EnvPostgres) == "" {
			t.Skip(EnvPostgres + " is not set; skipping the PostgreSQL run of this store test")
		}
		fn(t, Postgres(t))
	})
}

// SQLite returns a migrated SQLite database in a temporary directory.
func SQLite(t testing.TB) *database.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.db")
	db, err := database.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate sqlite: %v", err)
	}
	return db
}

// Postgres returns a migrated database in a new schema of the server named by
// SKETCHMAKER_TEST_DATABASE_URL, dropped when the test ends.
func Postgres(t testing.TB) *database.DB {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		t.Skip(EnvPostgres + " is not set")
	}
	ctx := context.Background()

	admin, err := database.Open(ctx, base)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	defer admin.Close()
	schema := "t_" + randomHex(8)
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() { dropSchema(base, schema) })

	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvPostgres, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()

	db, err := database.Open(ctx, u.String())
	if err != nil {
		t.Fatalf("open postgres schema: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate postgres: %v", err)
	}
	return db
}

func dropSchema(base, schema string) {
	db, err := database.Open(context.Background(), base)
	if err != nil {
		return
	}
	defer db.Close()
	_, _ = db.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
