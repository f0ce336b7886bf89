package bench

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// Row is one line of the results table: a scenario, its figure, the reference measured in
// the same run, their ratio, and the target the row's Value is held to.
type Row struct {
	Run       string // where it ran: sqlite, postgres+redis or in-process
	Scenario  string
	Figure    string
	Reference string
	Ratio     float64 // figure over reference; NaN when there is none to show
	Value     float64 // what Target judges: usually Ratio, else an absolute figure
	Target    Target
	Skipped   string // why the row was not measured; empty when it was
	Note      string
}

// Met reports whether the row reached its target; a skipped row has not.
func (r Row) Met() bool { return r.Skipped == "" && r.Target.Met(r.Value) }

// verdict is the last column of the table.
func (r Row) verdict() string {
	switch {
	case r.Skipped != "":
		return "skipped"
	case r.Met():
		return "met"
	}
	return "**not met**"
}

// ratioCell formats a ratio, or a dash when there is none.
func ratioCell(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	return fmt.Sprintf("%.2fx", v)
}

// WriteTable writes rows as one Markdown table, followed by the rows' notes.
func WriteTable(w io.Writer, rows []Row) error {
	var b strings.Builder
	b.WriteString("| run | scenario | figure | reference (same run) | ratio | target | result |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- |\n")
	for _, r := range rows {
		figure, ratio := r.Figure, ratioCell(r.Ratio)
		if r.Skipped != "" {
			figure, ratio = "skipped: "+r.Skipped, ratioCell(math.NaN())
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", cell(r.Run),
			cell(r.Scenario), cell(figure), cell(r.Reference), ratio,
			cell(r.Target.Text), r.verdict())
	}

	notes := false
	for _, r := range rows {
		if r.Note == "" {
			continue
		}
		if !notes {
			b.WriteString("\nNotes:\n")
			notes = true
		}
		fmt.Fprintf(&b, "- %s, %s: %s\n", r.Run, r.Scenario, r.Note)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// cell keeps a value from breaking the table.
func cell(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ").Replace(s)
}
