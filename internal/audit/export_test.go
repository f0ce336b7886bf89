package audit

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
)

func TestExport(t *testing.T) {
	old := exportPage
	exportPage = 3 // page through the events a few at a time
	defer func() { exportPage = old }()

	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		clk := &clock{t: t0}
		l := New(db, nil, clk.Now)
		record(t, l, clk, t0, 7)
		hostile := Event{Type: LoginFailure, IP: "198.51.100.1",
			UserAgent: "=HYPERLINK(\"http://evil.example\")",
			Details:   map[string]any{"email": "-2+3\r\nevil", "reason": "unknown_email"}}
		if err := l.Record(ctx, hostile); err != nil {
			t.Fatal(err)
		}

		var out bytes.Buffer
		n, err := l.Export(ctx, &out, FormatCSV, Filter{})
		if err != nil || n != 8 {
			t.Fatalf("Export csv = %d, %v; want 8", n, err)
		}
		records, err := csv.NewReader(&out).ReadAll()
		if err != nil || len(records) != 9 {
			t.Fatalf("csv has %d records (%v), want a header and 8 events", len(records), err)
		}
		if records[0][0] != "id" || records[1][0] != "1" || records[8][0] != "8" {
			t.Errorf("csv is not oldest first with a header: %v", records[:2])
		}
		if last := records[8]; last[5] != "'"+hostile.UserAgent || last[3] != "0" {
			t.Errorf("hostile user agent cell = %q, want it defused", last[5])
		}

		out.Reset()
		n, err = l.Export(ctx, &out, FormatJSON, Filter{Type: LoginSuccess, UserID: 3})
		if err != nil || n != 1 {
			t.Fatalf("Export json = %d, %v; want 1", n, err)
		}
		var events []map[string]any
		if err := json.Unmarshal(out.Bytes(), &events); err != nil || len(events) != 1 {
			t.Fatalf("json export %q: %v", out.String(), err)
		}
		if events[0]["user_id"] != float64(3) || events[0]["hash"] == "" ||
			events[0]["details"].(map[string]any)["n"] != float64(2) {
			t.Errorf("exported event = %v", events[0])
		}

		out.Reset()
		if n, err := l.Export(ctx, &out, FormatJSON, Filter{Type: "nothing_like_it"}); err != nil ||
			n != 0 || !json.Valid(out.Bytes()) {
			t.Errorf("empty export = %d, %v, %q", n, err, out.String())
		}
		if _, err := l.Export(ctx, &out, "xml", Filter{}); err == nil {
			t.Error("an unknown format was accepted")
		}
	})
}
