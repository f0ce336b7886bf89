package database_test

import (
	"context"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
)

func TestMigrateSeedsPlans(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		var n int
		if err := db.GetContext(ctx, &n, "SELECT COUNT(*) FROM plans"); err != nil {
			t.Fatal(err)
		}
		if n != 3 {
			t.Fatalf("seeded plans = %d, want 3", n)
		}

		// Migrating again is a no-op, not an error.
		if err := db.Migrate(ctx); err != nil {
			t.Fatalf("second migrate: %v", err)
		}
	})
}

func TestUniqueAndReturning(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		q := db.Rebind(`INSERT INTO users (email, created_at, updated_at)
			VALUES (?, ?, ?) RETURNING id`)
		var id int64
		if err := db.GetContext(ctx, &id, q, "a@example.com", 1, 1); err != nil {
			t.Fatal(err)
		}
		if id <= 0 {
			t.Fatalf("id = %d", id)
		}
		_, err := db.ExecContext(ctx, q, "a@example.com", 1, 1)
		if !database.IsUnique(err) {
			t.Fatalf("duplicate email: got %v, want a unique violation", err)
		}
	})
}

func TestCreditsNeverNegative(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		_, err := db.ExecContext(ctx, db.Rebind(`INSERT INTO users
			(email, credits, created_at, updated_at) VALUES (?, ?, 0, 0)`), "b@example.com", -1)
		if err == nil {
			t.Fatal("a negative balance was stored")
		}
	})
}
