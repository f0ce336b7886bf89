package account

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/mail"
	"github.com/sketchmaker/sketchmaker/internal/totp"
)

// RecoveryCodeCount is how many single-use recovery codes an account gets.
const RecoveryCodeCount = 10

// ErrTwoFactorCode answers a wrong or reused second-factor code.
var ErrTwoFactorCode = fault.Field("code", "That code is not correct, or was used already. "+
	"Enter the current code from your authenticator app, or one of your recovery codes.")

// Enrolment is what an authenticator app needs to be set up: the secret as text and the
// otpauth:// URI a QR code carries.
type Enrolment struct {
	Secret string
	URI    string
}

// totpIssuer names SketchMaker in authenticator apps.
const totpIssuer = "SketchMaker"

// BeginTwoFactor makes a new secret for userID, kept sealed until EnableTwoFactor confirms
// that the app produces its codes. Two-factor sign-in is not on yet.
func (s *Service) BeginTwoFactor(ctx context.Context, userID int64) (*Enrolment, error) {
	u, err := s.ByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	if u.TOTPEnabled {
		return nil, fault.New(fault.Conflict, "Two-factor sign-in is on already.")
	}
	secret := totp.NewSecret()
	sealed, err := s.sealTOTP(u.ID, secret)
	if err != nil {
		return nil, err
	}
	q := s.db.Rebind(`UPDATE users SET totp_secret = ?, totp_last_step = 0 WHERE id = ?`)
	if _, err := s.db.ExecContext(ctx, q, sealed, u.ID); err != nil {
		return nil, fmt.Errorf("store two-factor secret: %w", err)
	}
	return &Enrolment{Secret: totp.EncodeSecret(secret),
		URI: totp.URI(totpIssuer, u.Email, secret)}, nil
}

// PendingTwoFactor returns the enrolment begun for userID and not confirmed yet, or nil.
func (s *Service) PendingTwoFactor(ctx context.Context, userID int64) (*Enrolment, error) {
	u, secret, _, err := s.totpState(ctx, userID)
	if err != nil || u.TOTPEnabled || secret == nil {
		return nil, err
	}
	return &Enrolment{Secret: totp.EncodeSecret(secret),
		URI: totp.URI(totpIssuer, u.Email, secret)}, nil
}

// EnableTwoFactor turns two-factor sign-in on once code shows that the app holds the
// secret, and returns ten new recovery codes, which are shown once and stored hashed.
func (s *Service) EnableTwoFactor(ctx context.Context, userID int64, code string) (
	[]string, error) {
	u, secret, last, err := s.totpState(ctx, userID)
	if err != nil {
		return nil, err
	}
	if u.TOTPEnabled || secret == nil {
		return nil, fault.New(fault.Conflict, "Start the set-up again: no two-factor "+
			"secret is waiting for confirmation.")
	}
	step, ok := totp.Default.Check(secret, code, s.now(), last)
	if !ok {
		return nil, ErrTwoFactorCode
	}

	codes := newRecoveryCodes()
	err = s.db.Tx(ctx, func(tx *sqlx.Tx) error {
		if err := s.storeRecoveryCodes(ctx, tx, userID, codes); err != nil {
			return err
		}
		return s.setUser(ctx, tx, userID, "totp_enabled = ?, totp_last_step = ?", true, step)
	})
	if err != nil {
		return nil, err
	}
	s.alert(ctx, u, mail.AlertTwoFactorOn)
	return codes, nil
}

// DisableTwoFactor turns two-factor sign-in off, after the password (when the account has
// one) and a current code or recovery code.
func (s *Service) DisableTwoFactor(ctx context.Context, userID int64, password,
	code string) error {
	u, err := s.ByID(ctx, userID)
	if err != nil {
		return err
	}
	if !u.TOTPEnabled {
		return fault.New(fault.Conflict, "Two-factor sign-in is off already.")
	}
	if err := s.CheckPassword(ctx, u, password); err != nil {
		return err
	}
	if _, err := s.checkSecondFactor(ctx, u, code); err != nil {
		return err
	}

	err = s.db.Tx(ctx, func(tx *sqlx.Tx) error {
		q := tx.Rebind(`DELETE FROM recovery_codes WHERE user_id = ?`)
		if _, err := tx.ExecContext(ctx, q, userID); err != nil {
			return fmt.Errorf("delete recovery codes: %w", err)
		}
		return s.setUser(ctx, tx, userID, `totp_enabled = ?, totp_secret = '',
			totp_last_step = 0`, false)
	})
	if err != nil {
		return err
	}
	s.alert(ctx, u, mail.AlertTwoFactorOff)
	return nil
}

// RenewRecoveryCodes replaces userID's recovery codes after checking the password.
func (s *Service) RenewRecoveryCodes(ctx context.Context, userID int64, password string) (
	[]string, error) {
	u, err := s.ByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	if !u.TOTPEnabled {
		return nil, fault.New(fault.Conflict, "Turn on two-factor sign-in first.")
	}
	if err := s.CheckPassword(ctx, u, password); err != nil {
		return nil, err
	}
	codes := newRecoveryCodes()
	err = s.db.Tx(ctx, func(tx *sqlx.Tx) error {
		return s.storeRecoveryCodes(ctx, tx, userID, codes)
	})
	if err != nil {
		return nil, err
	}
	s.alert(ctx, u, mail.AlertRecoveryCodes)
	return codes, nil
}

// RecoveryCodesLeft returns how many unused recovery codes userID has.
func (s *Service) RecoveryCodesLeft(ctx context.Context, userID int64) (int, error) {
	var n int
	q := s.db.Rebind(`SELECT COUNT(*) FROM recovery_codes WHERE user_id = ? AND used_at = 0`)
	if err := s.db.GetContext(ctx, &n, q, userID); err != nil {
		return 0, fmt.Errorf("count recovery codes: %w", err)
	}
	return n, nil
}

// checkSecondFactor accepts a current TOTP code (once) or an unused recovery code, and
// says which it was.
func (s *Service) checkSecondFactor(ctx context.Context, u *User, code string) (
	string, error) {
	_, secret, last, err := s.totpState(ctx, u.ID)
	if err != nil {
		return "", err
	}
	if secret == nil || !u.TOTPEnabled {
		return "", ErrTwoFactorCode
	}
	if step, ok := totp.Default.Check(secret, code, s.now(), last); ok {
		// The step is stored only if it is newer, so a code races with itself only once.
		q := s.db.Rebind(`UPDATE users SET totp_last_step = ?
			WHERE id = ? AND totp_last_step < ?`)
		res, err := s.db.ExecContext(ctx, q, step, u.ID, step)
		if err != nil {
			return "", fmt.Errorf("record two-factor step: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return "totp", nil
		}
		return "", ErrTwoFactorCode
	}
	return s.useRecoveryCode(ctx, u, code)
}

// useRecoveryCode spends one recovery code of u.
func (s *Service) useRecoveryCode(ctx context.Context, u *User, code string) (string, error) {
	norm := normalizeRecovery(code)
	if len(norm) != 10 {
		return "", ErrTwoFactorCode
	}
	q := s.db.Rebind(`UPDATE recovery_codes SET used_at = ?
		WHERE user_id = ? AND code_hash = ? AND used_at = 0`)
	res, err := s.db.ExecContext(ctx, q, s.now().UnixMilli(), u.ID,
		s.mac("recovery", strconv.FormatInt(u.ID, 10), norm))
	if err != nil {
		return "", fmt.Errorf("use recovery code: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return "", ErrTwoFactorCode
	}
	s.alert(ctx, u, mail.AlertRecoveryCodesUsed)
	return "recovery_code", nil
}

// totpState returns the account, its opened TOTP secret (nil when none) and the last
// accepted time step.
func (s *Service) totpState(ctx context.Context, userID int64) (*User, []byte, int64, error) {
	u, err := s.ByID(ctx, userID)
	if err != nil {
		return nil, nil, 0, err
	}
	var row struct {
		Secret string `db:"totp_secret"`
		Last   int64  `db:"totp_last_step"`
	}
	q := s.db.Rebind(`SELECT totp_secret, totp_last_step FROM users WHERE id = ?`)
	if err := s.db.GetContext(ctx, &row, q, userID); err != nil {
		return nil, nil, 0, fmt.Errorf("read two-factor state: %w", err)
	}
	if row.Secret == "" {
		return u, nil, row.Last, nil
	}
	secret, err := s.x.Keys.Open(row.Secret, totpAD(userID))
	if err != nil {
		return nil, nil, 0, fmt.Errorf("open two-factor secret: %w", err)
	}
	return u, secret, row.Last, nil
}

// ErrNoTwoFactor answers a two-factor set-up on a server without an encryption key.
var ErrNoTwoFactor = fault.New(fault.Conflict, "Two-factor sign-in needs the server's "+
	"encryption key (API_KEY_ENCRYPTION_KEY), which is not set. Ask your administrator.")

// TwoFactorAvailable reports whether secrets can be sealed, which two-factor sign-in needs.
func (s *Service) TwoFactorAvailable() bool { return s.x.Keys != nil }

func (s *Service) sealTOTP(userID int64, secret []byte) (string, error) {
	if s.x.Keys == nil {
		return "", ErrNoTwoFactor
	}
	return s.x.Keys.Seal(secret, totpAD(userID))
}

// totpAD binds a sealed secret to its account, so it cannot be copied to another.
func totpAD(userID int64) string { return "totp:" + strconv.FormatInt(userID, 10) }

// storeRecoveryCodes replaces userID's recovery codes with the hashes of codes.
func (s *Service) storeRecoveryCodes(ctx context.Context, tx *sqlx.Tx, userID int64,
	codes []string) error {
	q := tx.Rebind(`DELETE FROM recovery_codes WHERE user_id = ?`)
	if _, err := tx.ExecContext(ctx, q, userID); err != nil {
		return fmt.Errorf("delete recovery codes: %w", err)
	}
	q = tx.Rebind(`INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?)`)
	for _, c := range codes {
		h := s.mac("recovery", strconv.FormatInt(userID, 10), normalizeRecovery(c))
		if _, err := tx.ExecContext(ctx, q, userID, h); err != nil {
			return fmt.Errorf("store recovery code: %w", err)
		}
	}
	return nil
}

var recoveryAlphabet = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").
	WithPadding(base32.NoPadding)

// newRecoveryCodes returns RecoveryCodeCount codes of ten characters (50 bits) each,
// written as two groups of five, such as "k7m2q-x9fhz".
func newRecoveryCodes() []string {
	codes := make([]string, RecoveryCodeCount)
	for i := range codes {
		b := make([]byte, 7)
		rand.Read(b) // never fails: the runtime aborts if the system has no randomness
		c := recoveryAlphabet.EncodeToString(b)[:10]
		codes[i] = c[:5] + "-" + c[5:]
	}
	return codes
}

// normalizeRecovery lower-cases a typed recovery code and drops spaces and dashes.
func normalizeRecovery(code string) string {
	return strings.ToLower(cleanCode(strings.TrimSpace(code)))
}
