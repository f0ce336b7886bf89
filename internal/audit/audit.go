// Package audit keeps SketchMaker's security audit trail: an append-only table of events
// in which every row carries the SHA-256 hash of its own content and of the row before it,
// so that editing or deleting a row breaks the chain where it happened, and a copy of every
// event as one JSON line for an external log collector.
//
// Details never hold secrets: Record redacts every value whose key names a password, token,
// secret, key, cookie or authorization, and cuts long text, before anything is hashed,
// stored or written. Name a detail "setting" rather than "key" when it is not secret.
package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sketchmaker/sketchmaker/internal/database"
)

// Event types: the security guide's events and SketchMaker's own.
const (
	LoginSuccess       = "login_success"
	LoginFailure       = "login_failure"
	Logout             = "logout"
	Registration       = "registration"
	PasswordChange     = "password_change"
	PasswordReset      = "password_reset"
	RoleChange         = "role_change"
	AdminAccess        = "admin_access"
	APIKeyChange       = "api_key_change"
	SuspiciousActivity = "suspicious_activity"
	SuspiciousContent  = "suspicious_content"
	CSRFFailure        = "csrf_failure"
	PermissionDenied   = "permission_denied"
	SessionRevoked     = "session_revoked"
	AccountLocked      = "account_locked"
	AccountUnlocked    = "account_unlocked"
	IPBlocked          = "ip_blocked"
	UserApproved       = "user_approved"
	UserDeleted        = "user_deleted"
	PlanChanged        = "plan_changed"
	CreditsChanged     = "credits_changed"
	SettingChanged     = "setting_changed"
	BackupMade         = "backup_made"
	BackupRestored     = "backup_restored"
	SetupCompleted     = "setup_completed"
	UserCreated        = "user_created"
	UserDeactivated    = "user_deactivated"
	UserReactivated    = "user_reactivated"
	AuditPruned        = "audit_pruned"
	AuditExported      = "audit_exported"
	IPUnblocked        = "ip_unblocked"
	ContentReviewed    = "content_reviewed"
	AlertAcknowledged  = "alert_acknowledged"
	ImageShared        = "image_shared"
	ImageUnshared      = "image_unshared"
)

// Types lists the event types above, for filters and documentation.
func Types() []string {
	return append([]string{
		LoginSuccess, LoginFailure, Logout, Registration, PasswordChange, PasswordReset,
		RoleChange, AdminAccess, APIKeyChange, SuspiciousActivity, SuspiciousContent,
		CSRFFailure, PermissionDenied, SessionRevoked, AccountLocked, AccountUnlocked,
		IPBlocked, UserApproved, UserDeleted, PlanChanged, CreditsChanged, SettingChanged,
		BackupMade, BackupRestored, SetupCompleted, AuditPruned, AuditExported, IPUnblocked,
		ContentReviewed, AlertAcknowledged, UserCreated, UserDeactivated, UserReactivated,
		ImageShared, ImageUnshared,
	}, accountTypes()...)
}

// recordTimeout bounds how long Record may wait for the database once the caller's context
// no longer can stop it.
const recordTimeout = 15 * time.Second

// Event is something that happened which the audit trail must keep. UserID is 0 when no
// account is known, as for a sign-in with an unknown address.
type Event struct {
	Type      string
	UserID    int64
	IP        string
	UserAgent string
	Details   map[string]any
}

// Log records events in the database and copies them as JSON lines. It is safe for
// concurrent use, also by several instances sharing one database.
type Log struct {
	db  *database.DB
	now func() time.Time

	mu    sync.Mutex // serializes writes to lines
	lines io.Writer
}

// New returns a Log on db that writes each event as a JSON line to lines (none when nil)
// and reads the time from now (time.Now when nil).
func New(db *database.DB, lines io.Writer, now func() time.Time) *Log {
	if now == nil {
		now = time.Now
	}
	return &Log{db: db, lines: lines, now: now}
}

// stored is an event as it is hashed and stored: cleaned, redacted and cut to size.
type stored struct {
	At        int64
	Type      string
	UserID    int64
	IP        string
	UserAgent string
	Details   string
}

// Record appends e to the chain in one transaction, then writes its JSON line. It finishes
// even when ctx is canceled, so that a client hanging up cannot keep an event out of the
// trail. When only the line fails, the event is stored and the error says so.
func (l *Log) Record(ctx context.Context, e Event) error {
	if err := checkType(e.Type); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()

	s := stored{
		Type: e.Type, UserID: e.UserID, IP: clip(e.IP, MaxIP),
		UserAgent: clip(e.UserAgent, MaxUserAgent), Details: encodeDetails(e.Details),
	}
	err := l.db.Tx(ctx, func(tx *sqlx.Tx) error {
		return l.append(ctx, tx, &s)
	})
	if err != nil {
		return fmt.Errorf("record %s event: %w", e.Type, err)
	}

	if err := l.writeLine(s); err != nil {
		return fmt.Errorf("write %s event line (the event is stored): %w", e.Type, err)
	}
	return nil
}

// append links s to the head of the chain inside tx, stores it and moves the head. On
// PostgreSQL the head row stays locked until tx ends, so concurrent writers, on any
// instance, take turns; SQLite's immediate transactions take turns already.
func (l *Log) append(ctx context.Context, tx *sqlx.Tx, s *stored) error {
	var prev string
	q := `SELECT hash FROM audit_head WHERE id = 1` + l.forUpdate()
	if err := tx.GetContext(ctx, &prev, q); err != nil {
		return fmt.Errorf("read chain head: %w", err)
	}

	// The time is read under the lock, so that it never runs backwards along the chain.
	s.At = l.now().UnixMilli()
	hash := chainHash(prev, *s)
	_, err := tx.ExecContext(ctx, tx.Rebind(`
		INSERT INTO audit_events (created_at, event_type, user_id, ip_address, user_agent,
			details, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		s.At, s.Type, s.UserID, s.IP, s.UserAgent, s.Details, prev, hash)
	if err != nil {
		return fmt.Errorf("insert event: %w", err)
	}

	if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE audit_head SET hash = ? WHERE id = 1`),
		hash); err != nil {
		return fmt.Errorf("move chain head: %w", err)
	}
	return nil
}

// chainHash is the hex SHA-256 of prev and the event's stored fields, each written with
// its length first, so that no two different rows encode to the same bytes.
func chainHash(prev string, s stored) string {
	h := sha256.New()
	field := func(v string) {
		h.Write(strconv.AppendInt(nil, int64(len(v)), 10))
		h.Write([]byte{':'})
		h.Write([]byte(v))
	}

	field("sketchmaker-audit-v1")
	field(prev)
	field(strconv.FormatInt(s.At, 10))
	field(s.Type)
	field(strconv.FormatInt(s.UserID, 10))
	field(s.IP)
	field(s.UserAgent)
	field(s.Details)
	return hex.EncodeToString(h.Sum(nil))
}

// line is an event in the JSON-lines format of the security guide.
type line struct {
	Timestamp string          `json:"timestamp"`
	EventType string          `json:"event_type"`
	UserID    *int64          `json:"user_id"`
	IPAddress string          `json:"ip_address"`
	UserAgent string          `json:"user_agent"`
	Details   json.RawMessage `json:"details"`
}

// writeLine writes s as one JSON line. encoding/json escapes line breaks and quotes, so
// text from a user cannot end the line early or forge another event.
func (l *Log) writeLine(s stored) error {
	if l.lines == nil {
		return nil
	}

	out := line{
		Timestamp: time.UnixMilli(s.At).UTC().Format(time.RFC3339Nano),
		EventType: s.Type, IPAddress: s.IP, UserAgent: s.UserAgent,
		Details: json.RawMessage(s.Details),
	}
	if s.UserID != 0 {
		out.UserID = &s.UserID
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	_, err = l.lines.Write(append(b, '\n'))
	return err
}

// checkType refuses an event type that is empty, long, or not lowercase words joined by
// underscores; types are chosen by code, never by users.
func checkType(t string) error {
	if t == "" || len(t) > 64 {
		return errors.New("audit event type must be 1 to 64 characters")
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return fmt.Errorf("audit event type %q may hold only a-z, 0-9 and _", t)
		}
	}
	return nil
}

// forUpdate is the clause that locks the chain head until the transaction ends on
// PostgreSQL; SQLite has one writer at a time and needs none.
func (l *Log) forUpdate() string {
	if l.db.Dialect == database.Postgres {
		return " FOR UPDATE"
	}
	return ""
}
