package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Cell makes a value safe for a spreadsheet: text that a spreadsheet would read as a
// formula (starting with =, +, -, @, a tab or a carriage return) gets a leading
// apostrophe, so that a username like =HYPERLINK(...) stays text. Plain numbers, negative
// ones included, are left as they are, since they cannot be formulas.
func Cell(s string) string {
	if s == "" || !strings.ContainsRune("=+-@\t\r", rune(s[0])) || isNumber(s) {
		return s
	}
	return "'" + s
}

// isNumber reports whether s is a plain decimal number such as -12 or 0.5.
func isNumber(s string) bool {
	if len(s) > 40 {
		return false
	}
	_, err := strconv.ParseFloat(s, 64)
	return err == nil && strings.Trim(s, "+-0123456789.") == "" && strings.Count(s, ".") <= 1 &&
		!strings.HasPrefix(s, "+")
}

// WriteCSV writes a header row and rows as CSV, every cell passed through Cell.
func WriteCSV(w io.Writer, header []string, rows [][]string) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(safe(header)); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	for _, r := range rows {
		if err := cw.Write(safe(r)); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

func safe(row []string) []string {
	out := make([]string, len(row))
	for i, c := range row {
		out[i] = Cell(c)
	}
	return out
}
