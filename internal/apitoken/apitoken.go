// Package apitoken keeps personal API tokens. A script sends one as a bearer token to the
// JSON API instead of a session cookie. A token is 32 random bytes; the database keeps only
// its SHA-256, as for sessions, so a copy of the database opens nobody's account, and the
// owner sees the token once, when it is made.
package apitoken

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
	"unicode"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/fault"
)

// Prefix starts every token, so that a token pasted into the wrong place (a chat, a
// repository) can be recognised by secret scanners and by people.
const Prefix = "smk_"

// Limits on what a user may hold.
const (
	MaxPerUser = 10
	maxName    = 60
	secretLen  = len(Prefix) + 43 // 32 bytes in unpadded base64url
	shownLen   = len(Prefix) + 6  // what lists show of a token
	touchEvery = time.Minute      // last use is written at most this often per token
)

// Lifetimes a token may be given; zero means it never expires.
var Lifetimes = []int{30, 90, 365, 0}

// Token is one personal API token, without its secret.
type Token struct {
	ID         string `db:"id"`
	UserID     int64  `db:"user_id"`
	Name       string `db:"name"`
	Shown      string `db:"prefix"` // the first characters of the secret
	CreatedAt  int64  `db:"created_at"`
	LastUsedAt int64  `db:"last_used_at"` // 0 when never used
	LastUsedIP string `db:"last_used_ip"`
	ExpiresAt  int64  `db:"expires_at"` // 0 when it never expires
}

// Expired reports whether the token has expired at now.
func (t Token) Expired(now time.Time) bool {
	return t.ExpiresAt != 0 && now.UnixMilli() >= t.ExpiresAt
}

// ErrNoToken is returned for a secret that matches no live token: never issued, revoked,
// expired, or mistyped.
var ErrNoToken = errors.New("no such API token")

// errNotFound answers a revocation of a token that is not the user's.
var errNotFound = fault.New(fault.NotFound, "That API token does not exist or was "+
	"revoked already.")

// Store keeps API tokens.
type Store struct {
	db  *database.DB
	now func() time.Time
}

// New returns a token store.
func New(db *database.DB, now func() time.Time) *Store {
	return &Store{db: db, now: now}
}

// Looks reports whether secret has the form of a token, so that a request carrying
// something else (a metrics token, a session secret) costs no database query.
func Looks(secret string) bool {
	return len(secret) == secretLen && strings.HasPrefix(secret, Prefix)
}

// Hash returns the stored form of a secret.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Create makes a token named name for userID that expires after days (0: never), and
// returns its secret, which is not kept anywhere.
func (s *Store) Create(ctx context.Context, userID int64, name string, days int) (
	string, *Token, error) {
	name, err := checkInput(name, days)
	if err != nil {
		return "", nil, err
	}
	secret, id, err := newSecret()
	if err != nil {
		return "", nil, err
	}
	now := s.now()
	t := &Token{ID: id, UserID: userID, Name: name, Shown: secret[:shownLen],
		CreatedAt: now.UnixMilli()}
	if days > 0 {
		t.ExpiresAt = now.AddDate(0, 0, days).UnixMilli()
	}

	err = s.db.Tx(ctx, func(tx *sqlx.Tx) error {
		return s.insert(ctx, tx, t, Hash(secret))
	})
	if err != nil {
		return "", nil, err
	}
	return secret, t, nil
}

// checkInput cleans a token's name and refuses a name or lifetime a person should change.
func checkInput(name string, days int) (string, error) {
	name = strings.TrimSpace(name)
	n := utf8.RuneCountInString(name)
	if n == 0 || n > maxName || !utf8.ValidString(name) ||
		strings.ContainsFunc(name, hidden) || !strings.ContainsFunc(name, visible) {
		return "", fault.Field("name", fmt.Sprintf("Give the token a name of 1 to %d "+
			"visible characters, such as the script or machine that will use it, without "+
			"control, direction or invisible formatting characters.", maxName))
	}
	for _, d := range Lifetimes {
		if d == days {
			return name, nil
		}
	}
	return "", fault.Field("expires_in_days", "Choose how long the token lasts: 30, 90 or "+
		"365 days, or no expiry.")
}

// hidden reports whether r would hide or reorder a name's text: control characters and
// format characters such as direction overrides and zero-width spaces. The zero-width
// joiner, which binds emoji sequences, is allowed.
func hidden(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) && r != '\u200d'
}

// visible reports whether r shows as something: a letter, digit, mark, punctuation or
// symbol.
func visible(r rune) bool {
	return unicode.In(r, unicode.L, unicode.N, unicode.P, unicode.S)
}

// expiredKept is how long an expired token stays listed, so its owner sees what stopped
// working, before the next token its owner makes deletes it.
const expiredKept = 30 * 24 * time.Hour

// insert adds t unless its owner holds MaxPerUser live tokens already. The owner's row is
// locked first, so that two requests at once cannot both pass the count.
func (s *Store) insert(ctx context.Context, tx *sqlx.Tx, t *Token, hash string) error {
	lock := s.db.Rebind(`UPDATE users SET updated_at = updated_at WHERE id = ?`)
	if _, err := tx.ExecContext(ctx, lock, t.UserID); err != nil {
		return fmt.Errorf("lock user: %w", err)
	}
	old := s.db.Rebind(`DELETE FROM api_tokens WHERE user_id = ? AND expires_at <> 0
		AND expires_at <= ?`)
	if _, err := tx.ExecContext(ctx, old, t.UserID,
		t.CreatedAt-expiredKept.Milliseconds()); err != nil {
		return fmt.Errorf("delete old tokens: %w", err)
	}
	var held int
	q := s.db.Rebind(`SELECT COUNT(*) FROM api_tokens WHERE user_id = ?
		AND (expires_at = 0 OR expires_at > ?)`)
	if err := tx.GetContext(ctx, &held, q, t.UserID, t.CreatedAt); err != nil {
		return fmt.Errorf("count tokens: %w", err)
	}
	if held >= MaxPerUser {
		return fault.New(fault.Conflict, fmt.Sprintf("You hold %d API tokens, the most "+
			"allowed. Revoke one you no longer use first.", MaxPerUser))
	}
	ins := s.db.Rebind(`INSERT INTO api_tokens (id, user_id, name, token_hash, prefix,
		created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`)
	_, err := tx.ExecContext(ctx, ins, t.ID, t.UserID, t.Name, hash, t.Shown, t.CreatedAt,
		t.ExpiresAt)
	if err != nil {
		return fmt.Errorf("insert token: %w", err)
	}
	return nil
}

// newSecret returns a new token's secret and its public id.
func newSecret() (secret, id string, err error) {
	b := make([]byte, 32+12)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("api token: %w", err)
	}
	return Prefix + base64.RawURLEncoding.EncodeToString(b[:32]),
		base64.RawURLEncoding.EncodeToString(b[32:]), nil
}

// List returns userID's tokens, newest first, expired ones included.
func (s *Store) List(ctx context.Context, userID int64) ([]Token, error) {
	var out []Token
	q := s.db.Rebind(`SELECT id, user_id, name, prefix, created_at, last_used_at,
		last_used_ip, expires_at FROM api_tokens WHERE user_id = ?
		ORDER BY created_at DESC, id`)
	if err := s.db.SelectContext(ctx, &out, q, userID); err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}

// Revoke deletes userID's token id and returns it; another user's token is never touched.
func (s *Store) Revoke(ctx context.Context, userID int64, id string) (*Token, error) {
	if id == "" || len(id) > 40 {
		return nil, errNotFound
	}
	var t Token
	q := s.db.Rebind(`DELETE FROM api_tokens WHERE user_id = ? AND id = ?
		RETURNING id, user_id, name, prefix, created_at, last_used_at, last_used_ip,
		expires_at`)
	err := s.db.GetContext(ctx, &t, q, userID, id)
	if errors.Is(database.NotFound(err), database.ErrNotFound) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("revoke token: %w", err)
	}
	return &t, nil
}

// RevokeAll deletes every token of userID and returns how many there were.
func (s *Store) RevokeAll(ctx context.Context, userID int64) (int64, error) {
	q := s.db.Rebind(`DELETE FROM api_tokens WHERE user_id = ?`)
	res, err := s.db.ExecContext(ctx, q, userID)
	if err != nil {
		return 0, fmt.Errorf("revoke tokens: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// LookupWithUser returns the live token whose secret is secret, and reads its user in the
// same query: cols lists columns of the users table, aliased u, and userDest receives them
// in order. ip is recorded as the token's last use, at most once a minute.
func (s *Store) LookupWithUser(ctx context.Context, secret, ip, cols string,
	userDest ...any) (*Token, error) {
	if !Looks(secret) {
		return nil, ErrNoToken
	}
	var t Token
	q := s.db.Rebind(`SELECT t.id, t.user_id, t.name, t.prefix, t.created_at,
		t.last_used_at, t.last_used_ip, t.expires_at` + prefixed(cols) + ` FROM api_tokens t
		JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?`)
	dest := append([]any{&t.ID, &t.UserID, &t.Name, &t.Shown, &t.CreatedAt, &t.LastUsedAt,
		&t.LastUsedIP, &t.ExpiresAt}, userDest...)
	err := s.db.QueryRowContext(ctx, q, Hash(secret)).Scan(dest...)
	if errors.Is(database.NotFound(err), database.ErrNotFound) {
		return nil, ErrNoToken
	}
	if err != nil {
		return nil, fmt.Errorf("look up token: %w", err)
	}

	now := s.now()
	if t.Expired(now) {
		return nil, ErrNoToken
	}
	if now.Sub(time.UnixMilli(t.LastUsedAt)) >= touchEvery || t.LastUsedIP != ip {
		q := s.db.Rebind(`UPDATE api_tokens SET last_used_at = ?, last_used_ip = ?
			WHERE id = ?`)
		if _, err := s.db.ExecContext(ctx, q, now.UnixMilli(), ip, t.ID); err != nil {
			return nil, fmt.Errorf("touch token: %w", err)
		}
		t.LastUsedAt, t.LastUsedIP = now.UnixMilli(), ip
	}
	return &t, nil
}

func prefixed(cols string) string {
	if cols == "" {
		return ""
	}
	return ", " + cols
}
