package report_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/credit"
	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
	"github.com/sketchmaker/sketchmaker/internal/report"
)

var noon = time.Date(2026, 5, 20, 12, 0, 0, 0, time.UTC)

// fixture stores two users and their jobs: ada used 3 credits today (4 reserved, 1
// refunded) on the built-in engine and 2 credits yesterday on FLUX; bob used 1 credit on
// the 2nd of last month; a grant and an adjustment are not use.
func fixture(t *testing.T, db *database.DB) (ada, bob int64) {
	t.Helper()
	ctx := context.Background()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, db.Rebind(q), args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	user := func(email, name string) int64 {
		var id int64
		err := db.GetContext(ctx, &id, db.Rebind(`INSERT INTO users (email, username,
			created_at, updated_at) VALUES (?, ?, 0, 0) RETURNING id`), email, name)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	ada, bob = user("ada@example.com", "Ada"), user("bob@example.com", "Bob")
	job := func(id string, uid int64, model string, at time.Time) {
		exec(`INSERT INTO jobs (id, user_id, kind, provider, model, input, status, created_at,
			finished_at) VALUES (?, ?, 'image', 'x', ?, '{}', 'succeeded', ?, ?)`,
			id, uid, model, at.UnixMilli(), at.UnixMilli())
	}
	ledger := func(uid int64, kind string, amount int64, jobID string, at time.Time) {
		exec(`INSERT INTO credit_ledger (user_id, kind, amount, balance_after, job_id,
			created_at) VALUES (?, ?, ?, 0, ?, ?)`, uid, kind, amount, jobID, at.UnixMilli())
	}
	image := func(id string, uid int64, at time.Time) {
		exec(`INSERT INTO images (id, user_id, prompt, model, engine, width, height, seed,
			format, blob_key, thumb_key, created_at) VALUES (?, ?, 'p', 'm', 'e', 1, 1, 1,
			'png', 'k', 't', ?)`, id, uid, at.UnixMilli())
	}

	job("j1", ada, "builtin/sketch", noon)
	ledger(ada, credit.KindReserve, -4000, "j1", noon)
	ledger(ada, credit.KindRefund, 1000, "j1", noon.Add(time.Minute))
	image("i1", ada, noon)
	image("i2", ada, noon)
	image("i3", ada, noon)

	yesterday := noon.AddDate(0, 0, -1)
	job("j2", ada, "fal-ai/flux/dev", yesterday)
	ledger(ada, credit.KindReserve, -2000, "j2", yesterday)
	image("i4", ada, yesterday)

	lastMonth := time.Date(2026, 4, 2, 9, 0, 0, 0, time.UTC)
	job("j3", bob, "builtin/sketch", lastMonth)
	ledger(bob, credit.KindReserve, -1000, "j3", lastMonth)
	image("i5", bob, lastMonth)

	ledger(ada, credit.KindGrant, 3000, "", noon)
	ledger(bob, credit.KindAdjustment, -500, "", noon)
	exec(`INSERT INTO jobs (id, user_id, kind, provider, model, input, status, created_at)
		VALUES ('q1', ?, 'image', 'x', 'm', '{}', 'queued', ?)`, bob, noon.UnixMilli())
	return ada, bob
}

func TestReports(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		ada, bob := fixture(t, db)
		r := report.New(db, func() time.Time { return noon })

		sum, err := r.Summary(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := report.Summary{ImagesToday: 3, ImagesMonth: 4, CreditsToday: 3000,
			CreditsMonth: 5000, JobsQueued: 1}
		if sum != want {
			t.Errorf("summary %+v, want %+v", sum, want)
		}

		days, err := r.Daily(ctx, 30)
		if err != nil || len(days) != 30 {
			t.Fatalf("daily: %d days, %v", len(days), err)
		}
		last, prev := days[29], days[28]
		if !last.Day.Equal(report.StartOfDay(noon)) || last.Credits != 3000 || last.Images != 3 {
			t.Errorf("today %+v", last)
		}
		if prev.Credits != 2000 || prev.Images != 1 || days[0].Credits != 0 {
			t.Errorf("yesterday %+v, first %+v", prev, days[0])
		}

		models, err := r.ByModel(ctx, report.StartOfMonth(noon))
		if err != nil || len(models) != 2 || models[0].Label != "builtin/sketch" ||
			models[0].Credits != 3000 || models[1].Credits != 2000 || models[0].Jobs != 1 {
			t.Errorf("by model %+v %v", models, err)
		}
		features, err := r.ByFeature(ctx, time.Time{})
		if err != nil || len(features) != 1 || features[0].Label != credit.FeatureImage ||
			features[0].Credits != 6000 || features[0].Jobs != 3 {
			t.Errorf("by feature %+v %v", features, err)
		}

		top, err := r.TopUsers(ctx, time.Time{}, 10)
		if err != nil || len(top) != 2 || top[0].UserID != ada || top[0].Credits != 5000 ||
			top[0].Email != "ada@example.com" || top[1].UserID != bob || top[1].Jobs != 1 {
			t.Errorf("top users %+v %v", top, err)
		}

		// A deleted account still counts, without a name.
		if _, err := db.ExecContext(ctx, db.Rebind(`DELETE FROM users WHERE id = ?`),
			bob); err != nil {
			t.Fatal(err)
		}
		top, _ = r.TopUsers(ctx, time.Time{}, 10)
		if len(top) != 2 || top[1].Email != "" || top[1].Credits != 1000 {
			t.Errorf("top users after deletion %+v", top)
		}
	})
}

func TestCell(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"", ""},
		{"=HYPERLINK(\"http://evil\")", "'=HYPERLINK(\"http://evil\")"},
		{"+1+1", "'+1+1"},
		{"-2+3", "'-2+3"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\tx", "'\tx"},
		{"\rx", "'\rx"},
		{"-12", "-12"},
		{"-0.5", "-0.5"},
		{"+5", "'+5"},
		{"-1e5", "'-1e5"},
		{"-Inf", "'-Inf"},
		{"a=b", "a=b"},
	}
	for _, tt := range tests {
		if got := report.Cell(tt.in); got != tt.want {
			t.Errorf("Cell(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestWriteCSV(t *testing.T) {
	var buf bytes.Buffer
	err := report.WriteCSV(&buf, []string{"email", "credits"},
		[][]string{{"=cmd|' /C calc'!A0", "-3"}, {"a,\"b\"\nc", "1.5"}})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(buf.String())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if rows[1][0] != "'=cmd|' /C calc'!A0" || rows[1][1] != "-3" || rows[2][0] != "a,\"b\"\nc" {
		t.Fatalf("rows %q", rows)
	}
}

func FuzzCell(f *testing.F) {
	for _, s := range []string{"=1+1", "-1", "+x", "@a", "\t", "plain", "-", "-.5", "0.1.2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := report.Cell(s)
		if got != s && got != "'"+s {
			t.Fatalf("Cell(%q) = %q changes the text", s, got)
		}
		if got == s && s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
			// Only a plain negative number may start with a minus sign.
			if s[0] != '-' || strings.Trim(s[1:], "0123456789.") != "" {
				t.Fatalf("Cell(%q) left a formula", s)
			}
		}
	})
}
