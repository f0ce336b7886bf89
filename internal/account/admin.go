package account

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/role"
)

// ErrLastSuperadmin refuses to demote, deactivate or delete the only active superadmin,
// which would leave nobody able to change the security settings or grant admin rights.
var ErrLastSuperadmin = fault.New(fault.Conflict, "This is the last active superadmin. "+
	"Make another account superadmin first, then try again.")

// ErrNoUser answers an account id that does not exist.
var ErrNoUser = fault.New(fault.NotFound, "There is no such account.")

// SetLockoutSource makes the service read the lockout rule from f at every failed sign-in
// instead of the fixed rule given to New. A rule with a threshold below 1 falls back to the
// fixed one.
func (s *Service) SetLockoutSource(f func(ctx context.Context) Lockout) {
	s.lockoutFor = f
}

// SetValidator replaces the password policy given to New, such as with one that reads the
// shortest length in force from the settings. Call it while wiring, before the server
// starts.
func (s *Service) SetValidator(v Validator) {
	s.policy = v
}

// currentLockout returns the lockout rule in force.
func (s *Service) currentLockout(ctx context.Context) Lockout {
	if s.lockoutFor == nil {
		return s.lockout
	}
	if lo := s.lockoutFor(ctx); lo.Threshold > 0 && lo.Duration > 0 {
		return lo
	}
	return s.lockout
}

// validStatus reports whether st is a state an account can be in.
func validStatus(st string) bool {
	return st == StatusActive || st == StatusPending || st == StatusDisabled
}

// Query selects accounts for the administrators' user list. Zero fields select everything.
type Query struct {
	Text   string    // part of the email address or username
	Role   role.Role // one role
	Status string    // active, pending or disabled
	Locked bool      // only accounts locked now by failed sign-ins
	PlanID int64     // one plan; -1 for accounts without a plan
	Page   int       // from 1
	Limit  int       // 25 when not positive, at most 500
}

// Page is one page of accounts, newest first.
type Page struct {
	Users []User
	Total int
	Page  int
	Limit int
}

// Pages returns the number of pages, at least 1.
func (p *Page) Pages() int {
	if p.Total == 0 || p.Limit == 0 {
		return 1
	}
	return (p.Total + p.Limit - 1) / p.Limit
}

// Search returns the page of accounts q selects, newest first.
func (s *Service) Search(ctx context.Context, q Query) (*Page, error) {
	if q.Limit <= 0 {
		q.Limit = 25
	}
	q.Limit = min(q.Limit, 500)
	q.Page = max(q.Page, 1)
	where, args := s.searchWhere(q)

	out := &Page{Page: q.Page, Limit: q.Limit}
	count := s.db.Rebind(`SELECT COUNT(*) FROM users` + where)
	if err := s.db.GetContext(ctx, &out.Total, count, args...); err != nil {
		return nil, fmt.Errorf("count users: %w", err)
	}

	list := s.db.Rebind(`SELECT ` + userColumns + ` FROM users` + where +
		` ORDER BY id DESC LIMIT ? OFFSET ?`)
	args = append(args, q.Limit, (q.Page-1)*q.Limit)
	if err := s.db.SelectContext(ctx, &out.Users, list, args...); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// searchWhere builds the WHERE clause of q and its arguments.
func (s *Service) searchWhere(q Query) (string, []any) {
	var conds []string
	var args []any
	add := func(cond string, vals ...any) {
		conds = append(conds, cond)
		args = append(args, vals...)
	}

	if t := strings.ToLower(strings.TrimSpace(q.Text)); t != "" {
		like := "%" + escapeLike(t) + "%"
		add(`(LOWER(email) LIKE ? ESCAPE '\' OR LOWER(username) LIKE ? ESCAPE '\')`, like, like)
	}
	if q.Role != "" {
		add("role = ?", string(q.Role))
	}
	if q.Status != "" {
		add("status = ?", q.Status)
	}
	if q.Locked {
		add("locked_until > ?", s.now().UnixMilli())
	}
	switch {
	case q.PlanID > 0:
		add("plan_id = ?", q.PlanID)
	case q.PlanID < 0:
		add("plan_id IS NULL")
	}

	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// escapeLike makes s match itself literally inside a LIKE pattern with ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// ChangeRole gives account id the role to and returns the role it had. It refuses with
// ErrLastSuperadmin to demote the only active superadmin.
func (s *Service) ChangeRole(ctx context.Context, id int64, to role.Role) (role.Role, error) {
	if !to.Valid() {
		return "", fault.Field("role", "The role must be user, admin or superadmin.")
	}

	var from role.Role
	err := s.db.Tx(ctx, func(tx *sqlx.Tx) error {
		u, err := s.lockForChange(ctx, tx, id)
		if err != nil {
			return err
		}
		from = u.Role
		if from == role.Superadmin && to != role.Superadmin {
			if err := s.keepOneSuperadmin(ctx, tx, id); err != nil {
				return err
			}
		}
		return s.update(ctx, tx, id, "role = ?", string(to))
	})
	return from, err
}

// SetStatus puts account id in status st (active, pending or disabled) and returns the
// status it had. It refuses with ErrLastSuperadmin to take the only active superadmin out
// of service.
func (s *Service) SetStatus(ctx context.Context, id int64, st string) (string, error) {
	if !validStatus(st) {
		return "", fault.Field("status", "The status must be active, pending or disabled.")
	}

	var from string
	err := s.db.Tx(ctx, func(tx *sqlx.Tx) error {
		u, err := s.lockForChange(ctx, tx, id)
		if err != nil {
			return err
		}
		from = u.Status
		if u.Role == role.Superadmin && st != StatusActive {
			if err := s.keepOneSuperadmin(ctx, tx, id); err != nil {
				return err
			}
		}
		return s.update(ctx, tx, id, "status = ?", st)
	})
	return from, err
}

// Unlock ends a lock from failed sign-ins on account id and clears its count of failures.
// It reports whether the account was locked.
func (s *Service) Unlock(ctx context.Context, id int64) (bool, error) {
	var locked bool
	err := s.db.Tx(ctx, func(tx *sqlx.Tx) error {
		u, err := s.lockForChange(ctx, tx, id)
		if err != nil {
			return err
		}
		locked = u.LockedUntil > s.now().UnixMilli()
		return s.update(ctx, tx, id, "failed_logins = 0, locked_until = 0")
	})
	return locked, err
}

// Remove deletes account id, refusing with ErrLastSuperadmin to delete the only active
// superadmin. Its sessions and image records go with it (foreign keys cascade); its ledger
// and audit rows stay. The image files are the gallery's to remove, before this call.
func (s *Service) Remove(ctx context.Context, id int64) error {
	return s.db.Tx(ctx, func(tx *sqlx.Tx) error {
		u, err := s.lockForChange(ctx, tx, id)
		if err != nil {
			return err
		}
		if u.Role == role.Superadmin {
			if err := s.keepOneSuperadmin(ctx, tx, id); err != nil {
				return err
			}
		}
		q := tx.Rebind(`DELETE FROM users WHERE id = ?`)
		if _, err := tx.ExecContext(ctx, q, id); err != nil {
			return fmt.Errorf("delete user: %w", err)
		}
		return nil
	})
}

// lockForChange reads account id inside tx. On PostgreSQL it first locks every superadmin
// row and then the account's row, in that order in every transaction, so that two
// demotions at the same moment cannot both see another superadmin left. SQLite's
// immediate transactions already run one at a time.
func (s *Service) lockForChange(ctx context.Context, tx *sqlx.Tx, id int64) (*User, error) {
	lock := ""
	if s.db.Dialect == database.Postgres {
		lock = " FOR UPDATE"
		q := tx.Rebind(`SELECT id FROM users WHERE role = ? ORDER BY id` + lock)
		var ids []int64
		if err := tx.SelectContext(ctx, &ids, q, string(role.Superadmin)); err != nil {
			return nil, fmt.Errorf("lock superadmins: %w", err)
		}
	}

	var u User
	q := tx.Rebind(`SELECT ` + userColumns + ` FROM users WHERE id = ?` + lock)
	if err := tx.GetContext(ctx, &u, q, id); err != nil {
		if errors.Is(database.NotFound(err), database.ErrNotFound) {
			return nil, ErrNoUser
		}
		return nil, fmt.Errorf("read user: %w", err)
	}
	return &u, nil
}

// keepOneSuperadmin refuses with ErrLastSuperadmin unless an active superadmin other than
// id exists.
func (s *Service) keepOneSuperadmin(ctx context.Context, tx *sqlx.Tx, id int64) error {
	var n int
	q := tx.Rebind(`SELECT COUNT(*) FROM users WHERE role = ? AND status = ? AND id <> ?`)
	if err := tx.GetContext(ctx, &n, q, string(role.Superadmin), StatusActive, id); err != nil {
		return fmt.Errorf("count superadmins: %w", err)
	}
	if n == 0 {
		return ErrLastSuperadmin
	}
	return nil
}

// update sets columns of account id inside tx; set is a constant assignment list.
func (s *Service) update(ctx context.Context, tx *sqlx.Tx, id int64, set string,
	args ...any) error {
	q := tx.Rebind(`UPDATE users SET ` + set + `, updated_at = ? WHERE id = ?`)
	args = append(args, s.now().UnixMilli(), id)
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("update user: %w", err)
	}
	return nil
}

// Counts are how many accounts are in each state.
type Counts struct {
	Total       int `db:"total"`
	Active      int `db:"active"`
	Pending     int `db:"pending"`
	Disabled    int `db:"disabled"`
	Admins      int `db:"admins"`
	Superadmins int `db:"superadmins"`
	Locked      int `db:"locked"`
	NewToday    int `db:"new_today"`
}

// Count returns how many accounts are in each state; since is the start of "today".
func (s *Service) Count(ctx context.Context, since int64) (Counts, error) {
	var c Counts
	q := s.db.Rebind(`SELECT COUNT(*) AS total,
		COALESCE(SUM(CASE WHEN status = 'active' THEN 1 ELSE 0 END), 0) AS active,
		COALESCE(SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), 0) AS pending,
		COALESCE(SUM(CASE WHEN status = 'disabled' THEN 1 ELSE 0 END), 0) AS disabled,
		COALESCE(SUM(CASE WHEN role = 'admin' THEN 1 ELSE 0 END), 0) AS admins,
		COALESCE(SUM(CASE WHEN role = 'superadmin' THEN 1 ELSE 0 END), 0) AS superadmins,
		COALESCE(SUM(CASE WHEN locked_until > ? THEN 1 ELSE 0 END), 0) AS locked,
		COALESCE(SUM(CASE WHEN created_at >= ? THEN 1 ELSE 0 END), 0) AS new_today
		FROM users`)
	if err := s.db.GetContext(ctx, &c, q, s.now().UnixMilli(), since); err != nil {
		return Counts{}, fmt.Errorf("count users: %w", err)
	}
	return c, nil
}

// TOTPSecretAD is the associated data the two-factor secret of userID is sealed with, so
// that the key rotation can re-seal it.
func TOTPSecretAD(userID int64) string { return totpAD(userID) }
