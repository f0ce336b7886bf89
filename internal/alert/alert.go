// Package alert keeps the alerts administrators must see: critical security events such as a
// blocked client address, a locked account or a user whose prompts keep being refused.
//
// An alert is stored once per type and subject within an hour; repeats only count up. Open
// alerts are shown on the admin pages until someone acknowledges them, and each new alert is
// passed to a Notifier (mail to ALERT_EMAIL and the administrators), at most
// MaxNotificationsPerHour an hour across every instance sharing the database.
package alert

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/fault"
)

const (
	// DedupWindow is how long a new alert absorbs repeats of the same type and subject.
	DedupWindow = time.Hour

	// MaxNotificationsPerHour bounds how many alerts are passed to the Notifier an hour, so
	// that an attack cannot flood the administrators' mailboxes.
	MaxNotificationsPerHour = 10

	// notifyTimeout bounds one call of the Notifier.
	notifyTimeout = 10 * time.Second
)

// Alert is one stored alert.
type Alert struct {
	ID             int64
	Type           string // an audit event type, such as ip_blocked
	Subject        string // what it is about, such as an address or "user:42"
	Message        string // a sentence for administrators, chosen by code
	Occurrences    int
	CreatedAt      time.Time
	LastSeenAt     time.Time
	Notified       bool
	AcknowledgedAt time.Time // zero while open
	AcknowledgedBy int64
}

// Notifier passes a new alert on, for example by mail. Notify is called after the alert is
// stored, in the caller's goroutine, so it should queue rather than wait for a slow server.
type Notifier interface {
	Notify(ctx context.Context, a Alert) error
}

// Discard is the Notifier used until one that sends mail is configured: it does nothing.
type Discard struct{}

// Notify does nothing.
func (Discard) Notify(context.Context, Alert) error { return nil }

// ErrNotFound answers an acknowledgement of an alert that does not exist or is closed.
var ErrNotFound = fault.New(fault.NotFound, "There is no open alert with that id.")

// Service stores, deduplicates and passes on alerts.
type Service struct {
	db  *database.DB
	now func() time.Time
	log *slog.Logger

	mu       sync.RWMutex
	notifier Notifier
}

// New returns a Service whose notifier is Discard until SetNotifier is called.
func New(db *database.DB, now func() time.Time, log *slog.Logger) *Service {
	return &Service{db: db, now: now, log: log, notifier: Discard{}}
}

// SetNotifier makes n receive new alerts; nil restores Discard.
func (s *Service) SetNotifier(n Notifier) {
	if n == nil {
		n = Discard{}
	}
	s.mu.Lock()
	s.notifier = n
	s.mu.Unlock()
}

// Raise records an alert of typ about subject. When the same type and subject was raised
// within DedupWindow, it only counts the repeat and returns that alert with fresh false.
// A fresh alert is passed to the notifier unless MaxNotificationsPerHour were passed on in
// the last hour; a notifier failure is logged, not returned.
func (s *Service) Raise(ctx context.Context, typ, subject, message string) (Alert, bool,
	error) {
	ctx = context.WithoutCancel(ctx)
	var a Alert
	var fresh bool
	err := s.db.Tx(ctx, func(tx *sqlx.Tx) error {
		var err error
		a, fresh, err = s.raise(ctx, tx, typ, subject, message)
		return err
	})
	if err != nil {
		return Alert{}, false, fmt.Errorf("raise %s alert: %w", typ, err)
	}

	if fresh && a.Notified {
		s.notify(ctx, a)
	}
	return a, fresh, nil
}

// raise stores or counts the alert inside tx.
func (s *Service) raise(ctx context.Context, tx *sqlx.Tx, typ, subject, message string) (
	Alert, bool, error) {
	now := s.now()
	since := now.Add(-DedupWindow).UnixMilli()

	var r row
	err := tx.GetContext(ctx, &r, tx.Rebind(`SELECT `+columns+` FROM alerts
		WHERE alert_type = ? AND subject = ? AND created_at >= ?
		ORDER BY id DESC LIMIT 1`), typ, subject, since)
	if err == nil {
		_, err = tx.ExecContext(ctx, tx.Rebind(`UPDATE alerts SET
			occurrences = occurrences + 1, last_seen_at = ? WHERE id = ?`),
			now.UnixMilli(), r.ID)
		r.Occurrences++
		r.LastSeenAt = now.UnixMilli()
		return r.alert(), false, err
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return Alert{}, false, err
	}

	var sent int
	err = tx.GetContext(ctx, &sent, tx.Rebind(`SELECT COUNT(*) FROM alerts
		WHERE notified = TRUE AND created_at >= ?`), since)
	if err != nil {
		return Alert{}, false, err
	}
	r = row{Type: typ, Subject: subject, Message: message, Occurrences: 1,
		CreatedAt: now.UnixMilli(), LastSeenAt: now.UnixMilli(),
		Notified: sent < MaxNotificationsPerHour}
	err = tx.GetContext(ctx, &r.ID, tx.Rebind(`INSERT INTO alerts (created_at, last_seen_at,
		alert_type, subject, message, occurrences, notified) VALUES (?, ?, ?, ?, ?, 1, ?)
		RETURNING id`), r.CreatedAt, r.LastSeenAt, typ, subject, message, r.Notified)
	return r.alert(), true, err
}

// notify passes a to the notifier, logging a failure.
func (s *Service) notify(ctx context.Context, a Alert) {
	s.mu.RLock()
	n := s.notifier
	s.mu.RUnlock()

	ctx, cancel := context.WithTimeout(ctx, notifyTimeout)
	defer cancel()
	if err := n.Notify(ctx, a); err != nil {
		s.log.Error("alert notification failed", "alert_id", a.ID, "alert_type", a.Type,
			"error", err)
	}
}

// Open returns the newest open alerts, at most limit (20 when not positive), and how many
// are open in all.
func (s *Service) Open(ctx context.Context, limit int) ([]Alert, int, error) {
	if limit <= 0 {
		limit = 20
	}
	var total int
	err := s.db.GetContext(ctx, &total,
		`SELECT COUNT(*) FROM alerts WHERE acknowledged_at = 0`)
	if err != nil {
		return nil, 0, fmt.Errorf("count open alerts: %w", err)
	}

	var rows []row
	err = s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT `+columns+` FROM alerts
		WHERE acknowledged_at = 0 ORDER BY id DESC LIMIT ?`), limit)
	if err != nil {
		return nil, 0, fmt.Errorf("list open alerts: %w", err)
	}
	out := make([]Alert, len(rows))
	for i, r := range rows {
		out[i] = r.alert()
	}
	return out, total, nil
}

// Ack closes the open alert id on behalf of actorID.
func (s *Service) Ack(ctx context.Context, id, actorID int64) error {
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE alerts SET acknowledged_at = ?,
		acknowledged_by = ? WHERE id = ? AND acknowledged_at = 0`),
		s.now().UnixMilli(), actorID, id)
	if err != nil {
		return fmt.Errorf("acknowledge alert: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return ErrNotFound
	}
	return nil
}

// row is how an alert is scanned.
type row struct {
	ID             int64  `db:"id"`
	CreatedAt      int64  `db:"created_at"`
	LastSeenAt     int64  `db:"last_seen_at"`
	Type           string `db:"alert_type"`
	Subject        string `db:"subject"`
	Message        string `db:"message"`
	Occurrences    int    `db:"occurrences"`
	Notified       bool   `db:"notified"`
	AcknowledgedAt int64  `db:"acknowledged_at"`
	AcknowledgedBy int64  `db:"acknowledged_by"`
}

const columns = `id, created_at, last_seen_at, alert_type, subject, message, occurrences,
	notified, acknowledged_at, acknowledged_by`

func (r row) alert() Alert {
	a := Alert{ID: r.ID, Type: r.Type, Subject: r.Subject, Message: r.Message,
		Occurrences: r.Occurrences, CreatedAt: time.UnixMilli(r.CreatedAt).UTC(),
		LastSeenAt: time.UnixMilli(r.LastSeenAt).UTC(), Notified: r.Notified,
		AcknowledgedBy: r.AcknowledgedBy}
	if r.AcknowledgedAt != 0 {
		a.AcknowledgedAt = time.UnixMilli(r.AcknowledgedAt).UTC()
	}
	return a
}
