package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWriteTable(t *testing.T) {
	rows := []Row{
		{Run: "sqlite", Scenario: "fast", Figure: "900 req/s", Reference: "1000 req/s",
			Ratio: 0.9, Value: 0.9, Target: Target{AtLeast, 0.3, ">= 0.30x"}},
		{Run: "sqlite", Scenario: "slow | piped", Figure: "10 req/s", Reference: "1000",
			Ratio: 0.01, Value: 0.01, Target: Target{AtLeast, 0.3, ">= 0.30x"},
			Note: "profile attached"},
		{Run: "in-process", Scenario: "pillow", Target: Target{AtMost, 1, "<= 1x"},
			Skipped: "Pillow is not installed"},
	}
	var b strings.Builder
	if err := WriteTable(&b, rows); err != nil {
		t.Fatal(err)
	}
	out := b.String()

	for _, want := range []string{
		"| sqlite | fast | 900 req/s | 1000 req/s | 0.90x | >= 0.30x | met |",
		"| sqlite | slow \\| piped | 10 req/s | 1000 | 0.01x | >= 0.30x | **not met** |",
		"| in-process | pillow | skipped: Pillow is not installed |  | — | <= 1x | skipped |",
		"- sqlite, slow | piped: profile attached",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the table lacks %q:\n%s", want, out)
		}
	}
	if lines := strings.Count(out, "\n| "); lines != 4 { // header and three rows
		t.Errorf("%d table lines after the first:\n%s", lines, out)
	}
}

func TestReportSaveKeepsTheAnalysis(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.md")
	rep := &Report{Machine: Machine{CPUs: 2, CPUModel: "Test CPU", MemTotal: "1 kB",
		GoVersion: "go1.x", OS: "linux/amd64", Date: time.Unix(0, 0).UTC()},
		Rows: []Row{{Run: "sqlite", Scenario: "first", Ratio: 1, Value: 1,
			Target: Target{AtLeast, 0.5, ">= 0.5x"}}}}

	// A new file gets the markers; the text written around them later survives runs.
	if err := rep.Save(path); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	edited := string(data) + "\n## Analysis\n\nWritten by hand.\n"
	if err := os.WriteFile(path, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	rep.Rows[0].Scenario = "second"
	if err := rep.Save(path); err != nil {
		t.Fatal(err)
	}

	data, _ = os.ReadFile(path)
	out := string(data)
	for _, want := range []string{"Written by hand.", "| sqlite | second |", "Test CPU, 2 " +
		"logical cores", "1970-01-01 00:00 UTC"} {
		if !strings.Contains(out, want) {
			t.Errorf("results lack %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "| sqlite | first |") {
		t.Errorf("the previous run's table was kept:\n%s", out)
	}
	if strings.Count(out, beginMarker) != 1 || strings.Count(out, endMarker) != 1 {
		t.Errorf("the markers were not kept once each:\n%s", out)
	}
}
