package setting_test

import (
	"context"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
	"github.com/sketchmaker/sketchmaker/internal/setting"
)

func TestSettings(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := setting.New(db, time.Now)
		if v, err := s.String(ctx, "x", "def"); err != nil || v != "def" {
			t.Fatalf("default: %q %v", v, err)
		}
		old, err := s.Set(ctx, "x", "one", 1)
		if err != nil || old != "" {
			t.Fatalf("first set: %q %v", old, err)
		}
		old, err = s.Set(ctx, "x", "two", 2)
		if err != nil || old != "one" {
			t.Fatalf("second set: %q %v", old, err)
		}
		if v, _ := s.String(ctx, "x", "def"); v != "two" {
			t.Fatalf("read back %q", v)
		}

		s.Set(ctx, "flag", "true", 1)
		if b, err := s.Bool(ctx, "flag", false); err != nil || !b {
			t.Fatalf("bool: %v %v", b, err)
		}
		s.Set(ctx, "n", "oops", 1)
		if n, err := s.Int(ctx, "n", 5); err == nil || n != 5 {
			t.Fatalf("a bad integer: %d %v", n, err)
		}
		if err := s.Delete(ctx, "x"); err != nil {
			t.Fatal(err)
		}
		if v, _ := s.String(ctx, "x", "def"); v != "def" {
			t.Fatalf("after delete: %q", v)
		}
	})
}
