package audit

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// The formats Export writes.
const (
	FormatCSV  = "csv"
	FormatJSON = "json"
)

// exportPage is how many events Each reads at a time; a variable so that tests can page
// through a few events.
var exportPage = 500

// Each calls fn for every event that matches f, oldest first, reading a page at a time so
// that a long trail never sits in memory. f's Limit and Offset are ignored. It stops at the
// first error fn returns.
func (l *Log) Each(ctx context.Context, f Filter, fn func(Row) error) error {
	where, args := f.where()
	if where == "" {
		where = " WHERE id > ?"
	} else {
		where += " AND id > ?"
	}
	query := l.db.Rebind(`SELECT ` + rowColumns + ` FROM audit_events` + where +
		` ORDER BY id LIMIT ?`)

	var after int64
	for {
		var rows []row
		err := l.db.SelectContext(ctx, &rows, query, append(args, after, exportPage)...)
		if err != nil {
			return fmt.Errorf("read audit events: %w", err)
		}
		for _, r := range rows {
			if err := fn(r.public()); err != nil {
				return err
			}
			after = r.ID
		}
		if len(rows) < exportPage {
			return nil
		}
	}
}

// Export writes the events that match f to w as CSV or as a JSON array, oldest first, and
// returns how many it wrote. CSV cells that a spreadsheet would run as a formula are
// prefixed with an apostrophe, since user agents and details come from clients.
func (l *Log) Export(ctx context.Context, w io.Writer, format string, f Filter) (int, error) {
	var enc exporter
	switch format {
	case FormatCSV:
		enc = newCSVExporter(w)
	case FormatJSON:
		enc = &jsonExporter{w: bufio.NewWriter(w)}
	default:
		return 0, fmt.Errorf("export format %q: use csv or json", format)
	}

	if err := enc.begin(); err != nil {
		return 0, fmt.Errorf("export audit events: %w", err)
	}
	n := 0
	err := l.Each(ctx, f, func(r Row) error {
		n++
		return enc.write(r)
	})
	if err == nil {
		err = enc.end()
	}
	if err != nil {
		return n, fmt.Errorf("export audit events: %w", err)
	}
	return n, nil
}

// exporter writes rows in one format.
type exporter interface {
	begin() error
	write(r Row) error
	end() error
}

// exportHeader names the columns of both formats.
var exportHeader = []string{"id", "timestamp", "event_type", "user_id", "ip_address",
	"user_agent", "details", "prev_hash", "hash"}

type csvExporter struct{ w *csv.Writer }

func newCSVExporter(w io.Writer) *csvExporter { return &csvExporter{w: csv.NewWriter(w)} }

func (e *csvExporter) begin() error { return e.w.Write(exportHeader) }

func (e *csvExporter) write(r Row) error {
	return e.w.Write([]string{
		strconv.FormatInt(r.ID, 10), r.At.Format(time.RFC3339Nano), r.Type,
		strconv.FormatInt(r.UserID, 10), cell(r.IP), cell(r.UserAgent), cell(r.Details),
		r.PrevHash, r.Hash,
	})
}

func (e *csvExporter) end() error {
	e.w.Flush()
	return e.w.Error()
}

// cell defuses text that a spreadsheet would otherwise run as a formula.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

type jsonExporter struct {
	w     *bufio.Writer
	wrote bool
}

// exportedEvent is one event in a JSON export: the guide's line format with the chain.
type exportedEvent struct {
	ID        int64           `json:"id"`
	Timestamp string          `json:"timestamp"`
	EventType string          `json:"event_type"`
	UserID    *int64          `json:"user_id"`
	IPAddress string          `json:"ip_address"`
	UserAgent string          `json:"user_agent"`
	Details   json.RawMessage `json:"details"`
	PrevHash  string          `json:"prev_hash"`
	Hash      string          `json:"hash"`
}

func (e *jsonExporter) begin() error {
	_, err := e.w.WriteString("[")
	return err
}

func (e *jsonExporter) write(r Row) error {
	ev := exportedEvent{ID: r.ID, Timestamp: r.At.Format(time.RFC3339Nano), EventType: r.Type,
		IPAddress: r.IP, UserAgent: r.UserAgent, Details: json.RawMessage(r.Details),
		PrevHash: r.PrevHash, Hash: r.Hash}
	if r.UserID != 0 {
		ev.UserID = &r.UserID
	}
	if !json.Valid(ev.Details) {
		ev.Details = json.RawMessage(`{}`)
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}

	sep := ",\n"
	if !e.wrote {
		sep = "\n"
	}
	e.wrote = true
	if _, err := e.w.WriteString(sep); err != nil {
		return err
	}
	_, err = e.w.Write(b)
	return err
}

func (e *jsonExporter) end() error {
	if _, err := e.w.WriteString("\n]\n"); err != nil {
		return err
	}
	return e.w.Flush()
}
