package audit

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Row is a stored event with every column of its row.
type Row struct {
	ID        int64
	At        time.Time
	Type      string
	UserID    int64
	IP        string
	UserAgent string
	Details   string // JSON object with sorted keys, already redacted
	PrevHash  string
	Hash      string
}

// Filter selects events for List. Zero fields select everything; From is inclusive and To
// exclusive. Limit is 50 when not positive and at most 500.
type Filter struct {
	Type   string
	UserID int64
	IP     string
	From   time.Time
	To     time.Time
	Limit  int
	Offset int
}

// row is how an event is scanned.
type row struct {
	ID        int64  `db:"id"`
	CreatedAt int64  `db:"created_at"`
	Type      string `db:"event_type"`
	UserID    int64  `db:"user_id"`
	IP        string `db:"ip_address"`
	UserAgent string `db:"user_agent"`
	Details   string `db:"details"`
	PrevHash  string `db:"prev_hash"`
	Hash      string `db:"hash"`
}

const rowColumns = `id, created_at, event_type, user_id, ip_address, user_agent, details,
	prev_hash, hash`

func (r row) stored() stored {
	return stored{
		At: r.CreatedAt, Type: r.Type, UserID: r.UserID, IP: r.IP, UserAgent: r.UserAgent,
		Details: r.Details,
	}
}

func (r row) public() Row {
	return Row{
		ID: r.ID, At: time.UnixMilli(r.CreatedAt).UTC(), Type: r.Type, UserID: r.UserID,
		IP: r.IP, UserAgent: r.UserAgent, Details: r.Details, PrevHash: r.PrevHash,
		Hash: r.Hash,
	}
}

// List returns the events that match f, newest first, and how many match in all.
func (l *Log) List(ctx context.Context, f Filter) ([]Row, int, error) {
	where, args := f.where()

	var total int
	err := l.db.GetContext(ctx, &total,
		l.db.Rebind(`SELECT COUNT(*) FROM audit_events`+where), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("count audit events: %w", err)
	}

	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 500)
	var rows []row
	err = l.db.SelectContext(ctx, &rows, l.db.Rebind(`SELECT `+rowColumns+
		` FROM audit_events`+where+` ORDER BY id DESC LIMIT ? OFFSET ?`),
		append(args, limit, max(f.Offset, 0))...)
	if err != nil {
		return nil, 0, fmt.Errorf("list audit events: %w", err)
	}

	out := make([]Row, len(rows))
	for i, r := range rows {
		out[i] = r.public()
	}
	return out, total, nil
}

// where builds the WHERE clause of f and its arguments.
func (f Filter) where() (string, []any) {
	var conds []string
	var args []any
	add := func(cond string, arg any) {
		conds = append(conds, cond)
		args = append(args, arg)
	}

	if f.Type != "" {
		add("event_type = ?", f.Type)
	}
	if f.UserID != 0 {
		add("user_id = ?", f.UserID)
	}
	if f.IP != "" {
		add("ip_address = ?", f.IP)
	}
	if !f.From.IsZero() {
		add("created_at >= ?", f.From.UnixMilli())
	}
	if !f.To.IsZero() {
		add("created_at < ?", f.To.UnixMilli())
	}

	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}
