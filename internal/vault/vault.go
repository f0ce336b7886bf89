// Package vault keeps what SketchMaker needs to reach its providers: an entry per image or
// language-model provider with its base URL, whether it is on, and its API key. Every key
// is sealed with AES-256-GCM under the key ring from API_KEY_ENCRYPTION_KEY before it is
// written, with the key's id beside the ciphertext and the provider's id as associated
// data, so a ciphertext copied into another row does not open. Only the last four
// characters are kept in clear, for display.
//
// The vault also knows every other column of the database that holds sealed values (the
// SMTP password, for one), so that it can check at start that API_KEY_ENCRYPTION_KEY opens
// them all, and re-seal them all under a new key (`sketchmaker keys rotate`).
//
// A saved key is never handed back to a page; Key exists for the code that calls the
// provider.
package vault

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/outbound"
	"github.com/sketchmaker/sketchmaker/internal/secret"
)

// Builtin is the id of the built-in offline engine's entry.
const Builtin = "builtin"

// Check results kept with each provider.
const (
	CheckOK       = "ok"
	CheckFailed   = "failed"
	CheckUntested = "untested"
)

// Provider is one provider entry. It never holds the key itself.
type Provider struct {
	ID           string `db:"id"`
	Name         string `db:"name"`
	Kind         string `db:"kind"` // "image", "text" or "image,text"
	BaseURL      string `db:"base_url"`
	KeyID        string `db:"key_id"`    // the id of the encryption key that sealed it
	KeyLast4     string `db:"key_last4"` // such as "…abcd"; "" when no key is saved
	KeySetAt     int64  `db:"key_set_at"`
	KeySetBy     int64  `db:"key_set_by"`
	Enabled      bool   `db:"enabled"`
	SortOrder    int    `db:"sort_order"`
	CheckStatus  string `db:"check_status"`
	CheckMessage string `db:"check_message"`
	CheckedAt    int64  `db:"checked_at"`
	UpdatedAt    int64  `db:"updated_at"`
	UpdatedBy    int64  `db:"updated_by"`
}

const providerColumns = `id, name, kind, base_url, key_id, key_last4, key_set_at, key_set_by,
	enabled, sort_order, check_status, check_message, checked_at, updated_at, updated_by`

// KeySet reports whether a key is saved.
func (p Provider) KeySet() bool { return p.KeySetAt != 0 }

// NeedsBaseURL reports whether the provider has no address of its own: a self-hosted
// server or an OpenAI-compatible one.
func (p Provider) NeedsBaseURL() bool {
	return p.ID == "openai_compatible" || p.ID == "a1111" || p.ID == "comfyui"
}

// NeedsKey reports whether the provider cannot work without an API key. Self-hosted
// servers may run without one.
func (p Provider) NeedsKey() bool {
	return p.ID != Builtin && !p.NeedsBaseURL()
}

// Configured reports whether the entry has what it needs to be used.
func (p Provider) Configured() bool {
	if p.ID == Builtin {
		return true
	}
	return (!p.NeedsKey() || p.KeySet()) && (!p.NeedsBaseURL() || p.BaseURL != "")
}

// Service keeps provider entries and sealed secrets.
type Service struct {
	db   *database.DB
	ring *secret.KeyRing // nil when API_KEY_ENCRYPTION_KEY is not set
	now  func() time.Time

	columns []Column // sealed values other packages keep
}

// New returns a Service that seals with ring, which is nil when no encryption key is set.
func New(db *database.DB, ring *secret.KeyRing, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: db, ring: ring, now: now}
}

// Refusals of the vault.
var (
	// ErrNoEncryptionKey refuses to save a key while API_KEY_ENCRYPTION_KEY is unset.
	ErrNoEncryptionKey = fault.New(fault.Conflict, "Keys cannot be saved yet: set "+
		"API_KEY_ENCRYPTION_KEY in the server's environment to a random 32-byte key "+
		"(for example the output of `openssl rand -base64 32` or `sketchmaker keys "+
		"generate`) and restart. Keep that key safe and apart from the database backups.")

	// ErrUnknownProvider answers a provider id that names no entry.
	ErrUnknownProvider = fault.New(fault.NotFound, "There is no such provider.")

	// ErrNoKey answers a request for a key that was never saved.
	ErrNoKey = fault.New(fault.NotFound, "No key is saved for this provider.")
)

// CanSeal reports whether keys can be saved, that is whether API_KEY_ENCRYPTION_KEY is set.
func (s *Service) CanSeal() bool { return s.ring != nil }

// Providers returns every entry in display order.
func (s *Service) Providers(ctx context.Context) ([]Provider, error) {
	var out []Provider
	q := `SELECT ` + providerColumns + ` FROM providers ORDER BY sort_order, id`
	if err := s.db.SelectContext(ctx, &out, q); err != nil {
		return nil, fmt.Errorf("list providers: %w", err)
	}
	return out, nil
}

// Provider returns the entry id, or ErrUnknownProvider.
func (s *Service) Provider(ctx context.Context, id string) (Provider, error) {
	var p Provider
	q := s.db.Rebind(`SELECT ` + providerColumns + ` FROM providers WHERE id = ?`)
	err := s.db.GetContext(ctx, &p, q, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Provider{}, ErrUnknownProvider
	}
	if err != nil {
		return Provider{}, fmt.Errorf("read provider: %w", err)
	}
	return p, nil
}

// SetKey seals key and saves it for provider id on behalf of actorID.
func (s *Service) SetKey(ctx context.Context, id, key string, actorID int64) error {
	key, err := CheckKey(key)
	if err != nil {
		return err
	}
	if s.ring == nil {
		return ErrNoEncryptionKey
	}
	if _, err := s.Provider(ctx, id); err != nil {
		return err
	}

	sealed, err := s.ring.Seal([]byte(key), providerAD(id))
	if err != nil {
		return fmt.Errorf("seal provider key: %w", err)
	}
	now := s.now().UnixMilli()
	q := s.db.Rebind(`UPDATE providers SET key_ciphertext = ?, key_id = ?, key_last4 = ?,
		key_set_at = ?, key_set_by = ?, check_status = '', check_message = '',
		checked_at = 0, updated_at = ?, updated_by = ? WHERE id = ?`)
	_, err = s.db.ExecContext(ctx, q, sealed, s.ring.PrimaryID(), secret.Last4(key), now,
		actorID, now, actorID, id)
	if err != nil {
		return fmt.Errorf("save provider key: %w", err)
	}
	return nil
}

// ClearKey forgets the key of provider id and switches the entry off when it needs a key.
func (s *Service) ClearKey(ctx context.Context, id string, actorID int64) error {
	p, err := s.Provider(ctx, id)
	if err != nil {
		return err
	}
	enabled := p.Enabled && !p.NeedsKey()
	q := s.db.Rebind(`UPDATE providers SET key_ciphertext = '', key_id = '', key_last4 = '',
		key_set_at = 0, key_set_by = 0, enabled = ?, check_status = '', check_message = '',
		checked_at = 0, updated_at = ?, updated_by = ? WHERE id = ?`)
	if _, err := s.db.ExecContext(ctx, q, enabled, s.now().UnixMilli(), actorID, id); err != nil {
		return fmt.Errorf("clear provider key: %w", err)
	}
	return nil
}

// Configure sets the base URL of provider id ("" for the provider's own address) and
// whether it is on. An entry can only be switched on once it has what it needs, and the
// built-in engine cannot be switched off here (its model can, on the models page).
func (s *Service) Configure(ctx context.Context, id, baseURL string, enabled bool,
	actorID int64) error {
	p, err := s.Provider(ctx, id)
	if err != nil {
		return err
	}
	if p.ID == Builtin {
		if !enabled || baseURL != "" {
			return fault.New(fault.Invalid, "The built-in engine is always available and has "+
				"no address. To hide it, disable its model on the models page.")
		}
		return nil
	}
	if p.BaseURL, err = CheckBaseURL(baseURL); err != nil {
		return err
	}
	if enabled && !p.Configured() {
		return fault.New(fault.Invalid, notReady(p))
	}

	q := s.db.Rebind(`UPDATE providers SET base_url = ?, enabled = ?, updated_at = ?,
		updated_by = ? WHERE id = ?`)
	_, err = s.db.ExecContext(ctx, q, p.BaseURL, enabled, s.now().UnixMilli(), actorID, id)
	if err != nil {
		return fmt.Errorf("configure provider: %w", err)
	}
	return nil
}

// notReady explains what an entry lacks before it can be switched on.
func notReady(p Provider) string {
	if p.NeedsBaseURL() && p.BaseURL == "" {
		return "Enter the server's base URL before switching " + p.Name + " on."
	}
	return "Save an API key for " + p.Name + " before switching it on."
}

// Key returns the API key of provider id in clear, for the code that calls the provider,
// or ErrNoKey. Never show it on a page or in an answer.
func (s *Service) Key(ctx context.Context, id string) (string, error) {
	var sealed string
	q := s.db.Rebind(`SELECT key_ciphertext FROM providers WHERE id = ?`)
	err := s.db.GetContext(ctx, &sealed, q, id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrUnknownProvider
	}
	if err != nil {
		return "", fmt.Errorf("read provider key: %w", err)
	}
	if sealed == "" {
		return "", ErrNoKey
	}
	return s.open(sealed, providerAD(id), providerColumn, id)
}

// RecordCheck keeps the result of a connection test of provider id.
func (s *Service) RecordCheck(ctx context.Context, id, status, message string) error {
	q := s.db.Rebind(`UPDATE providers SET check_status = ?, check_message = ?,
		checked_at = ? WHERE id = ?`)
	_, err := s.db.ExecContext(ctx, q, status, clip(message, 300), s.now().UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("record provider check: %w", err)
	}
	return nil
}

// open decrypts sealed, a value of column c in row key, turning a wrong or missing
// encryption key into KeyError.
func (s *Service) open(sealed, ad string, c Column, key string) (string, error) {
	if s.ring == nil {
		return "", &KeyError{KeyID: keyIDOf(sealed), What: c.What, Row: key, Missing: true}
	}
	plain, err := s.ring.Open(sealed, ad)
	if err != nil {
		return "", &KeyError{KeyID: keyIDOf(sealed), What: c.What, Row: key, Err: err}
	}
	return string(plain), nil
}

// KeyError says that API_KEY_ENCRYPTION_KEY cannot open a stored secret: it is unset,
// wrong, or lacks the old key the secret was sealed with.
type KeyError struct {
	KeyID   string // the id of the key that sealed the secret
	What    string // which secrets, such as "provider keys"
	Row     string // which row, such as "fal"
	Missing bool   // API_KEY_ENCRYPTION_KEY is not set at all
	Err     error
}

// Error says what is wrong and what to do, without any key material.
func (e *KeyError) Error() string {
	if e.Missing {
		return fmt.Sprintf("API_KEY_ENCRYPTION_KEY is not set, but the database holds "+
			"%s encrypted with key id %s (%s); set it to that key", e.What, e.KeyID, e.Row)
	}
	return fmt.Sprintf("API_KEY_ENCRYPTION_KEY cannot decrypt the stored %s (key id %s, %s): "+
		"set it to the key they were saved with; to change keys, put the new key first and "+
		"the old one after it, comma-separated, and run `sketchmaker keys rotate`",
		e.What, e.KeyID, e.Row)
}

// Unwrap returns the key ring's reason.
func (e *KeyError) Unwrap() error { return e.Err }

// keyIDOf returns the key id inside a sealed secret "v1.<id>.<data>".
func keyIDOf(sealed string) string {
	parts := strings.SplitN(sealed, ".", 3)
	if len(parts) < 3 {
		return "unknown"
	}
	return parts[1]
}

// Column names a table column holding sealed values, so that Verify and Rotate reach every
// ciphertext of the instance, including those other packages keep (such as the SMTP
// password in the settings table). Table, Key, Value, KeyID and Where are constant SQL
// written by programmers, never input.
type Column struct {
	What  string                  // what the values are, such as "provider keys"
	Table string                  // the table
	Key   string                  // the column naming a row
	Value string                  // the column with the sealed text
	KeyID string                  // optional column that repeats the key id
	Where string                  // optional condition selecting the sealed rows
	AD    func(key string) string // the associated data the value was sealed with
}

// providerColumn is where provider keys live.
var providerColumn = Column{What: "provider keys", Table: "providers", Key: "id",
	Value: "key_ciphertext", KeyID: "key_id", AD: providerAD}

// Track adds a column of sealed values to those Verify and Rotate cover. Call it while
// wiring, before the server starts.
func (s *Service) Track(c Column) {
	s.columns = append(s.columns, c)
}

// Verify opens every sealed value of every tracked column, so that a wrong
// API_KEY_ENCRYPTION_KEY stops the server at start with a KeyError rather than failing
// later, one provider at a time.
func (s *Service) Verify(ctx context.Context) error {
	for _, c := range s.allColumns() {
		rows, err := readSealed(ctx, s.db.DB, c)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if _, err := s.open(r.Value, c.AD(r.Key), c, r.Key); err != nil {
				return err
			}
		}
	}
	return nil
}

// Rotate re-seals, in one transaction, every sealed value of every tracked column that is
// not under the primary key of the ring, and returns how many it re-sealed.
func (s *Service) Rotate(ctx context.Context) (int, error) {
	if s.ring == nil {
		return 0, errors.New("API_KEY_ENCRYPTION_KEY is not set: there is no key to " +
			"rotate to")
	}

	n := 0
	err := s.db.Tx(ctx, func(tx *sqlx.Tx) error {
		for _, c := range s.allColumns() {
			done, err := s.rotateColumn(ctx, tx, c)
			if err != nil {
				return err
			}
			n += done
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// rotateColumn re-seals the values of one column inside tx.
func (s *Service) rotateColumn(ctx context.Context, tx *sqlx.Tx, c Column) (int, error) {
	rows, err := readSealed(ctx, tx, c)
	if err != nil {
		return 0, err
	}
	set := c.Value + " = ?"
	if c.KeyID != "" {
		set += ", " + c.KeyID + " = ?"
	}
	update := tx.Rebind(`UPDATE ` + c.Table + ` SET ` + set + ` WHERE ` + c.Key + ` = ?`)

	n := 0
	for _, r := range rows {
		if !s.ring.NeedsRotation(r.Value) {
			continue
		}
		if _, err := s.open(r.Value, c.AD(r.Key), c, r.Key); err != nil {
			return 0, err
		}
		fresh, err := s.ring.Rotate(r.Value, c.AD(r.Key))
		if err != nil {
			return 0, fmt.Errorf("rotate %s %s: %w", c.What, r.Key, err)
		}
		args := []any{fresh}
		if c.KeyID != "" {
			args = append(args, s.ring.PrimaryID())
		}
		if _, err := tx.ExecContext(ctx, update, append(args, r.Key)...); err != nil {
			return 0, fmt.Errorf("store rotated %s %s: %w", c.What, r.Key, err)
		}
		n++
	}
	return n, nil
}

func (s *Service) allColumns() []Column {
	return append([]Column{providerColumn}, s.columns...)
}

// sealedValue is one stored ciphertext and the row it belongs to.
type sealedValue struct {
	Key   string `db:"k"`
	Value string `db:"v"`
}

// readSealed reads the non-empty values of c through q, the database or a transaction.
func readSealed(ctx context.Context, q sqlx.QueryerContext, c Column) ([]sealedValue, error) {
	where := c.Value + ` <> ''`
	if c.Where != "" {
		where += ` AND (` + c.Where + `)`
	}
	var rows []sealedValue
	query := `SELECT ` + c.Key + ` AS k, ` + c.Value + ` AS v FROM ` + c.Table +
		` WHERE ` + where + ` ORDER BY ` + c.Key
	if err := sqlx.SelectContext(ctx, q, &rows, query); err != nil {
		return nil, fmt.Errorf("read %s: %w", c.What, err)
	}
	return rows, nil
}

// providerAD binds a provider key's ciphertext to its entry.
func providerAD(id string) string { return "provider:" + id }

// MaxKeyBytes is the longest key or secret accepted.
const MaxKeyBytes = 4096

// CheckKey trims a key an administrator pasted and refuses one that is empty, too long, or
// holds spaces or control characters (usually a paste of more than the key).
func CheckKey(key string) (string, error) {
	key = strings.TrimSpace(key)
	if key == "" {
		return "", fault.Field("key", "Paste the API key; the field is empty.")
	}
	if len(key) > MaxKeyBytes {
		return "", fault.Field("key", "That key is too long (4096 bytes at most); paste "+
			"only the key itself.")
	}
	for _, r := range key {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == unicode.ReplacementChar {
			return "", fault.Field("key", "An API key has no spaces, line breaks or "+
				"control characters; paste only the key itself.")
		}
	}
	return key, nil
}

// CheckBaseURL accepts "" (the provider's own address) or an absolute http or https URL
// without credentials, query or fragment, and returns it without a trailing slash.
// Private and loopback addresses are allowed: an administrator may run the server nearby.
func CheckBaseURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", nil
	}
	bad := fault.Field("base_url", "Enter an absolute http or https URL such as "+
		"http://127.0.0.1:7860 or https://api.example.com/v1.")
	if len(raw) > 500 || strings.ContainsAny(raw, " \t\r\n\\") {
		return "", bad
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.Opaque != "" {
		return "", bad
	}
	if u.User != nil {
		return "", fault.Field("base_url", "Do not put a user name or password in the URL; "+
			"save the key in the key field, where it is encrypted.")
	}
	if u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(raw, "?") ||
		strings.HasSuffix(raw, "#") {
		return "", fault.Field("base_url", "The base URL cannot have a query (?) or a "+
			"fragment (#).")
	}
	if ip, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]")); err == nil &&
		outbound.LinkLocal(ip) {
		return "", fault.Field("base_url", "The base URL cannot be a link-local address "+
			"such as 169.254.169.254, where clouds keep their metadata service; give the "+
			"address the image server listens on.")
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// clip cuts s to at most n bytes without splitting a character.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
