// Package account keeps users: registration, sign-in with a password, lockout after
// repeated failures, and the first-run creation of the superadmin.
package account

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/password"
	"github.com/sketchmaker/sketchmaker/internal/role"
)

// The states of an account.
const (
	StatusActive   = "active"
	StatusPending  = "pending"
	StatusDisabled = "disabled"
)

// User is one account.
type User struct {
	ID            int64     `db:"id"`
	Email         string    `db:"email"`
	Username      string    `db:"username"`
	PasswordHash  string    `db:"password_hash"`
	Role          role.Role `db:"role"`
	Status        string    `db:"status"`
	EmailVerified bool      `db:"email_verified"`
	PlanID        *int64    `db:"plan_id"`
	Credits       int64     `db:"credits"`
	NextResetAt   int64     `db:"next_reset_at"`
	FailedLogins  int       `db:"failed_logins"`
	LockedUntil   int64     `db:"locked_until"`
	LastLoginAt   int64     `db:"last_login_at"`
	TOTPEnabled   bool      `db:"totp_enabled"`
	CreatedAt     int64     `db:"created_at"`
	UpdatedAt     int64     `db:"updated_at"`
	// GalleryVersion counts every change to the user's images (gallery.Gallery); read with
	// the session, it lets the gallery answer from its caches without asking again.
	GalleryVersion int64 `db:"gallery_version"`
}

const userColumns = `id, email, username, password_hash, role, status, email_verified,
	plan_id, credits, next_reset_at, failed_logins, locked_until, last_login_at,
	totp_enabled, created_at, updated_at, gallery_version`

// Hasher hashes and checks passwords; it is the password package's Hasher.
type Hasher interface {
	Hash(ctx context.Context, pw string) (string, error)
	Verify(ctx context.Context, hash, pw string) (bool, error)
	VerifyUnknown(ctx context.Context, pw string) error
}

// Validator checks a new password against the password policy.
type Validator interface {
	Validate(pw string) error
}

// PlanAssigner gives a new user a plan inside the registration transaction.
type PlanAssigner interface {
	AssignPlan(ctx context.Context, tx *sqlx.Tx, userID int64, slug string,
		actorID int64, reason string) error
}

// Lockout says how many failed sign-ins lock an account, and for how long.
type Lockout struct {
	Threshold int
	Duration  time.Duration
}

// Service manages accounts.
type Service struct {
	db      *database.DB
	hasher  Hasher
	policy  Validator
	plans   PlanAssigner
	lockout Lockout
	now     func() time.Time

	// lockoutFor, when set, reads the lockout rule in force, so that a change made in the
	// admin panel applies to the next failed sign-in.
	lockoutFor func(ctx context.Context) Lockout

	// x connects the service to mail, settings, sessions and files (see Configure).
	x Extras
}

// New returns an account service.
func New(db *database.DB, h Hasher, p Validator, plans PlanAssigner, lo Lockout,
	now func() time.Time) *Service {
	if lo.Threshold <= 0 {
		lo = Lockout{Threshold: 5, Duration: 300 * time.Second}
	}
	return &Service{db: db, hasher: h, policy: p, plans: plans, lockout: lo, now: now}
}

// ErrBadCredentials is the one answer to every failed sign-in, whatever the reason, so that
// nobody learns which addresses have accounts or which accounts are locked.
var ErrBadCredentials = fault.New(fault.Unauthorized, "The email or password is incorrect.")

// NewUser is what registration and account creation take.
type NewUser struct {
	Email    string
	Password string
	Username string
	Role     role.Role
	Plan     string

	// Status is StatusActive unless set; StatusPending makes the account wait for an
	// administrator's approval.
	Status string
}

// Create validates and stores a new account and gives it its plan, all in one transaction.
func (s *Service) Create(ctx context.Context, in NewUser) (*User, error) {
	email, err := NormalizeEmail(in.Email)
	if err != nil {
		return nil, err
	}
	name, err := cleanUsername(in.Username, email)
	if err != nil {
		return nil, err
	}
	if err := s.policy.Validate(in.Password); err != nil {
		return nil, passwordFault(err)
	}
	if in.Role == "" {
		in.Role = role.User
	}
	if !in.Role.Valid() {
		return nil, fault.Field("role", "The role must be user, admin or superadmin.")
	}
	if in.Plan == "" {
		in.Plan = "free"
	}
	if in.Status == "" {
		in.Status = StatusActive
	}
	if !validStatus(in.Status) {
		return nil, fault.Field("status", "The status must be active, pending or disabled.")
	}

	hash, err := s.hasher.Hash(ctx, in.Password)
	if err != nil {
		return nil, passwordFault(err)
	}

	var id int64
	now := s.now().UnixMilli()
	err = s.db.Tx(ctx, func(tx *sqlx.Tx) error {
		q := tx.Rebind(`INSERT INTO users (email, username, password_hash, role, status,
			created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`)
		err := tx.GetContext(ctx, &id, q, email, name, hash, in.Role, in.Status, now, now)
		if database.IsUnique(err) {
			return ErrEmailTaken
		}
		if err != nil {
			return fmt.Errorf("insert user: %w", err)
		}
		return s.plans.AssignPlan(ctx, tx, id, in.Plan, 0, "new account")
	})
	if err != nil {
		return nil, err
	}
	return s.ByID(ctx, id)
}

// passwordFault keeps the policy's own message, which is written for people.
func passwordFault(err error) error {
	var pe *password.Error
	if errors.As(err, &pe) {
		f := fault.Wrap(fault.Invalid, pe.Message, err)
		f.Field = "password"
		return f
	}
	if fe := fault.As(err); fe != nil {
		return fe
	}
	return fmt.Errorf("password: %w", err)
}

// ByID returns the user with id, or database.ErrNotFound.
func (s *Service) ByID(ctx context.Context, id int64) (*User, error) {
	var u User
	q := s.db.Rebind(`SELECT ` + userColumns + ` FROM users WHERE id = ?`)
	if err := scanUser(s.db.QueryRowContext(ctx, q, id), &u); err != nil {
		return nil, database.NotFound(err)
	}
	return &u, nil
}

// scanUser reads a row of userColumns into u. Every signed-in request reads its user, so
// this one is spelled out rather than left to reflection (issue 8).
func scanUser(row interface{ Scan(...any) error }, u *User) error {
	return row.Scan(ScanTargets(u)...)
}

// JoinedColumns are a user's columns in a query where the users table is aliased u; the
// session lookup reads them beside the session (session.Store.LookupWithUser).
const JoinedColumns = `u.id, u.email, u.username, u.password_hash, u.role, u.status,
	u.email_verified, u.plan_id, u.credits, u.next_reset_at, u.failed_logins, u.locked_until,
	u.last_login_at, u.totp_enabled, u.created_at, u.updated_at, u.gallery_version`

// ScanTargets returns where each of JoinedColumns lands in u, in order.
func ScanTargets(u *User) []any {
	return []any{&u.ID, &u.Email, &u.Username, &u.PasswordHash, &u.Role, &u.Status,
		&u.EmailVerified, &u.PlanID, &u.Credits, &u.NextResetAt, &u.FailedLogins,
		&u.LockedUntil, &u.LastLoginAt, &u.TOTPEnabled, &u.CreatedAt, &u.UpdatedAt,
		&u.GalleryVersion}
}

// ByEmail returns the user with the (normalised) address, or database.ErrNotFound.
func (s *Service) ByEmail(ctx context.Context, email string) (*User, error) {
	var u User
	q := s.db.Rebind(`SELECT ` + userColumns + ` FROM users WHERE email = ?`)
	if err := scanUser(s.db.QueryRowContext(ctx, q, email), &u); err != nil {
		return nil, database.NotFound(err)
	}
	return &u, nil
}

// Failure says why a sign-in failed, for the audit log only; the user sees ErrBadCredentials.
type Failure struct {
	Reason   string // unknown_email, wrong_password, locked, disabled, pending
	Attempts int
	Locked   bool // this failure locked the account
	UserID   int64
}

// Authenticate checks an email and password. On failure it returns ErrBadCredentials and a
// Failure for the audit log; an unknown address costs the same time as a wrong password.
func (s *Service) Authenticate(ctx context.Context, email, pw string) (*User, *Failure, error) {
	addr, err := NormalizeEmail(email)
	if err != nil {
		_ = s.hasher.VerifyUnknown(ctx, pw)
		return nil, &Failure{Reason: "invalid_email"}, ErrBadCredentials
	}
	u, err := s.ByEmail(ctx, addr)
	if errors.Is(err, database.ErrNotFound) {
		_ = s.hasher.VerifyUnknown(ctx, pw)
		return nil, &Failure{Reason: "unknown_email"}, ErrBadCredentials
	}
	if err != nil {
		return nil, nil, err
	}

	now := s.now()
	if u.LockedUntil > now.UnixMilli() {
		// Spend the same time, and do not re-arm the lock.
		_ = s.hasher.VerifyUnknown(ctx, pw)
		return nil, &Failure{Reason: "locked", Attempts: u.FailedLogins, UserID: u.ID},
			ErrBadCredentials
	}

	if u.PasswordHash == "" {
		// An account that signs in only with a provider: same time, same answer.
		_ = s.hasher.VerifyUnknown(ctx, pw)
		return nil, s.wrongPassword(ctx, u), ErrBadCredentials
	}
	ok, err := s.hasher.Verify(ctx, u.PasswordHash, pw)
	if err != nil && !ok && ctx.Err() != nil {
		return nil, nil, ctx.Err()
	}
	if !ok {
		return nil, s.wrongPassword(ctx, u), ErrBadCredentials
	}
	if u.Status == StatusPending {
		// Only someone who knows the password learns that the account waits.
		return nil, &Failure{Reason: u.Status, UserID: u.ID}, ErrPending
	}
	if u.Status != StatusActive {
		return nil, &Failure{Reason: u.Status, UserID: u.ID}, ErrBadCredentials
	}

	// A lock that wrong passwords sent alongside this one set while its password was
	// being checked holds: the right password waits out the lock like any other.
	q := s.db.Rebind(`UPDATE users SET failed_logins = 0, locked_until = 0,
		last_login_at = ? WHERE id = ? AND locked_until <= ?`)
	res, err := s.db.ExecContext(ctx, q, now.UnixMilli(), u.ID, s.now().UnixMilli())
	if err != nil {
		return nil, nil, fmt.Errorf("record sign-in: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return nil, &Failure{Reason: "locked", UserID: u.ID}, ErrBadCredentials
	}
	u.FailedLogins, u.LockedUntil, u.LastLoginAt = 0, 0, now.UnixMilli()
	return u, nil, nil
}

// recordFailure counts a wrong password and locks the account at the threshold.
func (s *Service) recordFailure(ctx context.Context, u *User) *Failure {
	f := &Failure{Reason: "wrong_password", UserID: u.ID}
	// The count goes up and is read back in one statement, so that wrong passwords sent
	// at the same time each see the ones before them: counting from the row as read
	// before the password check let any number of parallel guesses through unlocked.
	// A guess checked while another locked the account neither counts nor locks again.
	q := s.db.Rebind(`UPDATE users SET failed_logins = failed_logins + 1
		WHERE id = ? AND locked_until <= ? RETURNING failed_logins`)
	err := s.db.GetContext(ctx, &f.Attempts, q, u.ID, s.now().UnixMilli())
	if errors.Is(database.NotFound(err), database.ErrNotFound) {
		f.Reason = "locked"
		return f
	}
	if err != nil {
		// The sign-in fails either way; the count is best effort.
		f.Reason = "wrong_password_unrecorded"
		return f
	}
	lo := s.currentLockout(ctx)
	if f.Attempts < lo.Threshold {
		return f
	}

	// The lock starts now and the count starts again for the next round. Only the
	// failure whose update takes the count back to zero locks, and mails, once.
	lockUntil := s.now().Add(lo.Duration).UnixMilli()
	q = s.db.Rebind(`UPDATE users SET failed_logins = 0, locked_until = ?
		WHERE id = ? AND failed_logins >= ?`)
	res, err := s.db.ExecContext(ctx, q, lockUntil, u.ID, lo.Threshold)
	if err != nil {
		f.Reason = "wrong_password_unrecorded"
		return f
	}
	n, err := res.RowsAffected()
	f.Locked = err == nil && n > 0
	return f
}

// SuperadminExists reports whether the instance has been set up.
func (s *Service) SuperadminExists(ctx context.Context) (bool, error) {
	var n int
	q := s.db.Rebind(`SELECT COUNT(*) FROM users WHERE role = ?`)
	if err := s.db.GetContext(ctx, &n, q, role.Superadmin); err != nil {
		return false, fmt.Errorf("count superadmins: %w", err)
	}
	return n > 0, nil
}

// Delete removes an account; its images go with it, its ledger and audit rows stay.
func (s *Service) Delete(ctx context.Context, id int64) error {
	q := s.db.Rebind(`DELETE FROM users WHERE id = ?`)
	if _, err := s.db.ExecContext(ctx, q, id); err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	return nil
}
