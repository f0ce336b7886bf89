// Package session keeps signed-in sessions as server-side rows. The browser holds a random
// secret; the database holds only its SHA-256, so a copy of the database signs nobody in.
package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sketchmaker/sketchmaker/internal/database"
)

// Session is one signed-in browser or client.
type Session struct {
	Hash       string `db:"token_hash"`
	PublicID   string `db:"public_id"`
	UserID     int64  `db:"user_id"`
	CreatedAt  int64  `db:"created_at"`
	LastSeenAt int64  `db:"last_seen_at"`
	ExpiresAt  int64  `db:"expires_at"`
	IP         string `db:"ip_address"`
	UserAgent  string `db:"user_agent"`
}

// ErrNoSession is returned for a token that matches no live session.
var ErrNoSession = errors.New("no such session")

// touchEvery limits writes: last_seen_at is updated at most this often per session.
const touchEvery = time.Minute

// Store keeps sessions.
type Store struct {
	db       *database.DB
	now      func() time.Time
	lifetime time.Duration
	idle     time.Duration

	// limits, when set, reads the lifetime and idle timeout in force, so that a change
	// made in the admin panel applies to every session from its next request on.
	limits func(ctx context.Context) (lifetime, idle time.Duration)
}

// SetLimits makes the store read the absolute lifetime and the idle timeout from f at each
// use instead of the fixed values given to New. A value that is not positive falls back to
// the fixed one.
func (s *Store) SetLimits(f func(ctx context.Context) (lifetime, idle time.Duration)) {
	s.limits = f
}

// current returns the lifetime and idle timeout in force.
func (s *Store) current(ctx context.Context) (lifetime, idle time.Duration) {
	lifetime, idle = s.lifetime, s.idle
	if s.limits == nil {
		return lifetime, idle
	}
	l, i := s.limits(ctx)
	if l > 0 {
		lifetime = l
	}
	if i > 0 {
		idle = i
	}
	return lifetime, idle
}

// New returns a session store with an absolute lifetime and an idle timeout.
func New(db *database.DB, lifetime, idle time.Duration, now func() time.Time) *Store {
	return &Store{db: db, now: now, lifetime: lifetime, idle: idle}
}

// Create starts a session for userID and returns the secret token for the cookie.
func (s *Store) Create(ctx context.Context, userID int64, ip, userAgent string) (
	string, *Session, error) {
	token, err := randomToken(32)
	if err != nil {
		return "", nil, err
	}
	public, err := randomToken(12)
	if err != nil {
		return "", nil, err
	}

	now := s.now()
	lifetime, _ := s.current(ctx)
	sess := &Session{
		Hash: Hash(token), PublicID: public, UserID: userID,
		CreatedAt: now.UnixMilli(), LastSeenAt: now.UnixMilli(),
		ExpiresAt: now.Add(lifetime).UnixMilli(),
		IP:        ip, UserAgent: truncate(userAgent, 400),
	}
	q := s.db.Rebind(`INSERT INTO sessions (token_hash, public_id, user_id, created_at,
		last_seen_at, expires_at, ip_address, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	_, err = s.db.ExecContext(ctx, q, sess.Hash, sess.PublicID, sess.UserID, sess.CreatedAt,
		sess.LastSeenAt, sess.ExpiresAt, sess.IP, sess.UserAgent)
	if err != nil {
		return "", nil, fmt.Errorf("insert session: %w", err)
	}
	return token, sess, nil
}

// Lookup returns the live session for token. An expired or idle session is deleted and
// reported as ErrNoSession.
func (s *Store) Lookup(ctx context.Context, token string) (*Session, error) {
	return s.LookupWithUser(ctx, token, "")
}

// LookupWithUser is Lookup that also reads the session's user in the same query: cols
// lists columns of the users table, aliased u, and userDest receives them in order. Every
// signed-in request reads both, and one query instead of two is a tenth of a thumbnail
// download's time (issue 8). A session's user always exists: sessions go with their
// account.
func (s *Store) LookupWithUser(ctx context.Context, token, cols string,
	userDest ...any) (*Session, error) {
	if token == "" || len(token) > 100 {
		return nil, ErrNoSession
	}
	var sess Session
	from := ` FROM sessions s`
	if cols != "" {
		cols, from = ", "+cols, from+` JOIN users u ON u.id = s.user_id`
	}
	q := s.db.Rebind(`SELECT s.token_hash, s.public_id, s.user_id, s.created_at,
		s.last_seen_at, s.expires_at, s.ip_address, s.user_agent` + cols + from +
		` WHERE s.token_hash = ?`)
	dest := append([]any{&sess.Hash, &sess.PublicID, &sess.UserID, &sess.CreatedAt,
		&sess.LastSeenAt, &sess.ExpiresAt, &sess.IP, &sess.UserAgent}, userDest...)
	err := s.db.QueryRowContext(ctx, q, Hash(token)).Scan(dest...)
	if errors.Is(database.NotFound(err), database.ErrNotFound) {
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, fmt.Errorf("look up session: %w", err)
	}

	// The lifetime in force also shortens sessions started under a longer one.
	now := s.now()
	lifetime, idle := s.current(ctx)
	expired := now.UnixMilli() >= sess.ExpiresAt ||
		now.UnixMilli() >= sess.CreatedAt+lifetime.Milliseconds()
	if expired || now.Sub(time.UnixMilli(sess.LastSeenAt)) >= idle {
		_ = s.deleteHash(ctx, sess.Hash)
		return nil, ErrNoSession
	}
	if now.Sub(time.UnixMilli(sess.LastSeenAt)) >= touchEvery {
		q := s.db.Rebind(`UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?`)
		if _, err := s.db.ExecContext(ctx, q, now.UnixMilli(), sess.Hash); err != nil {
			return nil, fmt.Errorf("touch session: %w", err)
		}
		sess.LastSeenAt = now.UnixMilli()
	}
	return &sess, nil
}

// Delete ends the session with the given token.
func (s *Store) Delete(ctx context.Context, token string) error {
	return s.deleteHash(ctx, Hash(token))
}

func (s *Store) deleteHash(ctx context.Context, hash string) error {
	q := s.db.Rebind(`DELETE FROM sessions WHERE token_hash = ?`)
	if _, err := s.db.ExecContext(ctx, q, hash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// RevokeUser ends every session of userID except the one whose hash is keep (may be "").
func (s *Store) RevokeUser(ctx context.Context, userID int64, keep string) (int64, error) {
	q := s.db.Rebind(`DELETE FROM sessions WHERE user_id = ? AND token_hash <> ?`)
	res, err := s.db.ExecContext(ctx, q, userID, keep)
	if err != nil {
		return 0, fmt.Errorf("revoke sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// List returns the live sessions of userID, newest first.
func (s *Store) List(ctx context.Context, userID int64) ([]Session, error) {
	var out []Session
	q := s.db.Rebind(`SELECT token_hash, public_id, user_id, created_at, last_seen_at,
		expires_at, ip_address, user_agent FROM sessions
		WHERE user_id = ? AND expires_at > ? ORDER BY created_at DESC`)
	if err := s.db.SelectContext(ctx, &out, q, userID, s.now().UnixMilli()); err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	return out, nil
}

// Sweep deletes expired and idle sessions and returns how many it removed.
func (s *Store) Sweep(ctx context.Context) (int64, error) {
	now := s.now()
	_, idle := s.current(ctx)
	q := s.db.Rebind(`DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at <= ?`)
	res, err := s.db.ExecContext(ctx, q, now.UnixMilli(), now.Add(-idle).UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("sweep sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// Hash returns the stored form of a session token.
func Hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func randomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("session token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// truncate makes s storable text of at most n bytes: bytes that are not UTF-8 and NULs
// become U+FFFD (PostgreSQL refuses both), and a cut never splits a character.
func truncate(s string, n int) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
