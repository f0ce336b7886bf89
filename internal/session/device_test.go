package session_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
	"github.com/sketchmaker/sketchmaker/internal/session"
)

func TestDevice(t *testing.T) {
	cases := map[string]string{
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) " +
			"Chrome/126.0.0.0 Safari/537.36": "Chrome on Linux",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) " +
			"Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0": "Edge on Windows",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like " +
			"Gecko) Version/17.5 Safari/605.1.15": "Safari on macOS",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 " +
			"(KHTML, like Gecko) CriOS/126.0 Mobile/15E148 Safari/604.1": "Chrome on iPhone",
		"Mozilla/5.0 (Android 14; Mobile; rv:127.0) Gecko/127.0 Firefox/127.0": "Firefox on Android",
		"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) " +
			"SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36": "Samsung Internet on Android",
		"curl/8.5.0":         "curl",
		"":                   "Unknown browser",
		"<script>x</script>": "Unknown browser",
	}
	for ua, want := range cases {
		if got := session.Device(ua); got != want {
			t.Errorf("Device(%q) = %q, want %q", ua, got, want)
		}
	}
}

func FuzzDevice(f *testing.F) {
	for _, s := range []string{"Chrome/1 Linux", "Edg/ Windows", strings.Repeat("A", 2000), "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ua string) {
		d := session.Device(ua)
		if d == "" || len(d) > 40 {
			t.Fatalf("Device(%q) = %q", ua, d)
		}
	})
}

func TestRevokePublicTouchesOnlyTheOwner(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		for _, email := range []string{"a@example.com", "b@example.com"} {
			if _, err := db.ExecContext(ctx, db.Rebind(`INSERT INTO users (email, created_at,
				updated_at) VALUES (?, 0, 0)`), email); err != nil {
				t.Fatal(err)
			}
		}
		s := session.New(db, time.Hour, time.Hour, time.Now)
		_, mine, _ := s.Create(ctx, 1, "198.51.100.1", "ua")
		_, theirs, _ := s.Create(ctx, 2, "198.51.100.2", "ua")

		if ok, err := s.RevokePublic(ctx, 1, theirs.PublicID); ok || err != nil {
			t.Fatalf("revoked another user's session: %v %v", ok, err)
		}
		if ok, err := s.RevokePublic(ctx, 1, mine.PublicID); !ok || err != nil {
			t.Fatalf("own session: %v %v", ok, err)
		}
		if list, _ := s.List(ctx, 2); len(list) != 1 {
			t.Fatal("the other user's session is gone")
		}
	})
}
