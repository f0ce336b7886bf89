package audit

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sketchmaker/sketchmaker/internal/database"
)

// anchorKey is the settings key that holds "id:hash" of the newest pruned event, where
// the chain now starts.
const anchorKey = "audit.anchor"

// BreakError says where the chain is broken and how.
type BreakError struct {
	// ID is the first event that does not fit the chain. When events were removed from the
	// end, it is the id after the last event left.
	ID int64

	// Reason says what does not fit, in a sentence.
	Reason string
}

// Error describes the break.
func (e *BreakError) Error() string {
	return fmt.Sprintf("audit chain broken at event %d: %s", e.ID, e.Reason)
}

// Reasons for a broken chain.
const (
	reasonEdited = "the event's content does not match its hash: it was changed"
	reasonLink   = "the event does not follow the one before it: " +
		"an event before it was deleted or changed"
	reasonTrimmed = "the chain head names an event that is gone: events at the end were deleted"
)

// Verify walks the chain from its anchor in id order and returns 0 and nil when it is
// intact. Otherwise it returns the id of the first event that does not fit and a
// *BreakError saying why: an edited event is named itself; a deleted event is found at the
// event after it; events deleted from the end give the id after the last event left. Other
// errors mean the chain could not be read, and come with id 0.
func (l *Log) Verify(ctx context.Context) (firstBad int64, err error) {
	tx, err := l.db.BeginTxx(ctx, l.snapshot())
	if err != nil {
		return 0, fmt.Errorf("verify audit chain: %w", err)
	}
	defer tx.Rollback()

	anchorID, prev, err := readAnchor(ctx, tx)
	if err != nil {
		return 0, err
	}
	var head string
	if err := tx.GetContext(ctx, &head, `SELECT hash FROM audit_head WHERE id = 1`); err != nil {
		return 0, fmt.Errorf("read chain head: %w", err)
	}

	lastID, lastHash, err := walk(ctx, tx, anchorID, prev, 0)
	var broken *BreakError
	if errors.As(err, &broken) {
		return broken.ID, err
	}
	if err != nil {
		return 0, err
	}
	if lastHash != head {
		return lastID + 1, &BreakError{ID: lastID + 1, Reason: reasonTrimmed}
	}
	if anchorID > 0 {
		if err := confirmAnchor(ctx, tx, anchorID); err != nil {
			return anchorID + 1, err
		}
	}
	return 0, nil
}

// reasonAnchor says the chain starts at an anchor that no pruning recorded.
const reasonAnchor = "the chain starts after event %d, but no audit_pruned event records " +
	"pruning through it: events at the start were deleted"

// confirmAnchor requires an audit_pruned event in the chain that names anchorID, so that
// deleting the oldest events and writing an anchor by hand does not pass as a pruning.
func confirmAnchor(ctx context.Context, q sqlx.ExtContext, anchorID int64) error {
	var details []string
	err := sqlx.SelectContext(ctx, q, &details, q.Rebind(`SELECT details FROM audit_events
		WHERE event_type = ? AND id > ? ORDER BY id`), AuditPruned, anchorID)
	if err != nil {
		return fmt.Errorf("read pruning events: %w", err)
	}
	for _, d := range details {
		var v struct {
			Through int64 `json:"through_event"`
		}
		if json.Unmarshal([]byte(d), &v) == nil && v.Through == anchorID {
			return nil
		}
	}
	return &BreakError{ID: anchorID + 1, Reason: fmt.Sprintf(reasonAnchor, anchorID)}
}

// snapshot returns options for a read-only transaction that sees one state of the chain
// throughout: repeatable read on PostgreSQL; on SQLite a deferred transaction, which in WAL
// mode reads one snapshot without holding the write lock.
func (l *Log) snapshot() *sql.TxOptions {
	if l.db.Dialect == database.Postgres {
		return &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	return &sql.TxOptions{ReadOnly: true}
}

// walk checks the events after afterID, up to uptoID when it is not 0, starting from the
// hash prev. It returns the id and hash of the last event checked (afterID and prev when
// there is none), or a *BreakError at the first event that does not fit.
func walk(
	ctx context.Context,
	q sqlx.ExtContext,
	afterID int64,
	prev string,
	uptoID int64,
) (int64, string, error) {
	query := `SELECT ` + rowColumns + ` FROM audit_events WHERE id > ?`
	args := []any{afterID}
	if uptoID > 0 {
		query += ` AND id <= ?`
		args = append(args, uptoID)
	}
	rows, err := q.QueryxContext(ctx, q.Rebind(query+` ORDER BY id`), args...)
	if err != nil {
		return 0, "", fmt.Errorf("read audit events: %w", err)
	}
	defer rows.Close()

	last := afterID
	for rows.Next() {
		var r row
		if err := rows.StructScan(&r); err != nil {
			return 0, "", fmt.Errorf("read audit event: %w", err)
		}
		if r.PrevHash != prev {
			return 0, "", &BreakError{ID: r.ID, Reason: reasonLink}
		}
		if chainHash(prev, r.stored()) != r.Hash {
			return 0, "", &BreakError{ID: r.ID, Reason: reasonEdited}
		}
		prev, last = r.Hash, r.ID
	}
	if err := rows.Err(); err != nil {
		return 0, "", fmt.Errorf("read audit events: %w", err)
	}
	return last, prev, nil
}

// readAnchor returns where the chain starts: after the newest pruned event, or at the
// beginning (0 and an empty hash) when nothing was pruned.
func readAnchor(ctx context.Context, q sqlx.ExtContext) (int64, string, error) {
	var value string
	err := sqlx.GetContext(ctx, q, &value,
		q.Rebind(`SELECT value FROM settings WHERE key = ?`), anchorKey)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("read audit anchor: %w", err)
	}

	idText, hash, ok := strings.Cut(value, ":")
	id, perr := strconv.ParseInt(idText, 10, 64)
	if !ok || perr != nil || id <= 0 || len(hash) != 64 {
		return 0, "", fmt.Errorf("audit anchor %q is not id:hash", value)
	}
	return id, hash, nil
}

// Prune deletes the oldest events, those before the first event recorded at or after
// before, and keeps the chain verifiable by storing the newest deleted event's id and hash
// as the anchor Verify starts from. It refuses to delete events whose part of the chain is
// broken, since that would destroy the evidence. It records an audit_pruned event and
// returns how many events it deleted.
func (l *Log) Prune(ctx context.Context, before time.Time) (int64, error) {
	if before.IsZero() {
		return 0, errors.New("prune audit log: no cut-off time given")
	}

	var deleted, upto int64
	err := l.db.Tx(ctx, func(tx *sqlx.Tx) error {
		var err error
		deleted, upto, err = l.prune(ctx, tx, before.UnixMilli())
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune audit log: %w", err)
	}
	if deleted == 0 {
		return 0, nil
	}

	err = l.Record(ctx, Event{Type: AuditPruned, Details: map[string]any{
		"deleted": deleted, "through_event": upto,
		"before": before.UTC().Format(time.RFC3339),
	}})
	return deleted, err
}

// prune deletes, inside tx, the events older than the cut-off at the start of the chain,
// and moves the anchor to the newest of them.
func (l *Log) prune(ctx context.Context, tx *sqlx.Tx, cutoff int64) (int64, int64, error) {
	// Lock the head first, so that the chain cannot grow or shrink under us.
	var head string
	q := `SELECT hash FROM audit_head WHERE id = 1` + l.forUpdate()
	if err := tx.GetContext(ctx, &head, q); err != nil {
		return 0, 0, fmt.Errorf("lock chain head: %w", err)
	}
	anchorID, prev, err := readAnchor(ctx, tx)
	if err != nil {
		return 0, 0, err
	}

	// The last event to go is the one before the first event at or after the cut-off.
	var upto sql.NullInt64
	err = tx.GetContext(ctx, &upto, tx.Rebind(`
		SELECT MAX(id) FROM audit_events WHERE id > ? AND id < COALESCE(
			(SELECT MIN(id) FROM audit_events WHERE id > ? AND created_at >= ?),
			(SELECT MAX(id) + 1 FROM audit_events))`), anchorID, anchorID, cutoff)
	if err != nil {
		return 0, 0, fmt.Errorf("find events to prune: %w", err)
	}
	if !upto.Valid {
		return 0, 0, nil
	}

	lastID, lastHash, err := walk(ctx, tx, anchorID, prev, upto.Int64)
	if err != nil {
		return 0, 0, err
	}
	res, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM audit_events WHERE id <= ?`), lastID)
	if err != nil {
		return 0, 0, fmt.Errorf("delete events: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, 0, fmt.Errorf("delete events: %w", err)
	}

	_, err = tx.ExecContext(ctx, tx.Rebind(`
		INSERT INTO settings (key, value, updated_at, updated_by) VALUES (?, ?, ?, 0)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value,
			updated_at = excluded.updated_at, updated_by = excluded.updated_by`),
		anchorKey, fmt.Sprintf("%d:%s", lastID, lastHash), l.now().UnixMilli())
	if err != nil {
		return 0, 0, fmt.Errorf("store audit anchor: %w", err)
	}
	return n, lastID, nil
}
