package account

import (
	"context"
	"fmt"

	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/mail"
	"github.com/sketchmaker/sketchmaker/internal/role"
)

// Approve lets pending account id sign in and tells its owner by mail.
func (s *Service) Approve(ctx context.Context, id int64) (*User, error) {
	u, err := s.ByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if u.Status != StatusPending {
		return nil, fault.New(fault.Conflict, "This account is not waiting for approval.")
	}
	q := s.db.Rebind(`UPDATE users SET status = ?, updated_at = ? WHERE id = ? AND status = ?`)
	res, err := s.db.ExecContext(ctx, q, StatusActive, s.now().UnixMilli(), id, StatusPending)
	if err != nil {
		return nil, fmt.Errorf("approve user: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return nil, fault.New(fault.Conflict, "This account is not waiting for approval.")
	}
	u.Status = StatusActive
	s.TellApproved(ctx, u)
	return u, nil
}

// TellApproved mails u that an administrator approved the account; for callers that
// change the status themselves, such as the admin panel.
func (s *Service) TellApproved(ctx context.Context, u *User) {
	s.notify(ctx, u.Email, u.Username, mail.AccountApproved, nil)
}

// Rename changes userID's display name.
func (s *Service) Rename(ctx context.Context, userID int64, name string) (*User, error) {
	u, err := s.ByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	clean, err := cleanUsername(name, u.Email)
	if err != nil {
		return nil, err
	}
	q := s.db.Rebind(`UPDATE users SET username = ?, updated_at = ? WHERE id = ?`)
	if _, err := s.db.ExecContext(ctx, q, clean, s.now().UnixMilli(), userID); err != nil {
		return nil, fmt.Errorf("rename user: %w", err)
	}
	u.Username = clean
	return u, nil
}

// Close deletes userID's own account after checking the password: its images and files,
// its sessions, links and codes. Ledger and audit rows stay; with the account gone they
// name only a number. The last superadmin cannot close their account.
func (s *Service) Close(ctx context.Context, userID int64, password string) error {
	u, err := s.ByID(ctx, userID)
	if err != nil {
		return err
	}
	if err := s.CheckPassword(ctx, u, password); err != nil {
		return err
	}
	return s.RemoveWithFiles(ctx, u)
}

// RemoveWithFiles deletes account u with every file it owns; the administrators' delete
// should use it too. It refuses the last active superadmin before removing anything.
func (s *Service) RemoveWithFiles(ctx context.Context, u *User) error {
	if u.Role == role.Superadmin {
		var n int
		q := s.db.Rebind(`SELECT COUNT(*) FROM users WHERE role = ? AND status = ? AND id <> ?`)
		if err := s.db.GetContext(ctx, &n, q, string(role.Superadmin), StatusActive,
			u.ID); err != nil {
			return fmt.Errorf("count superadmins: %w", err)
		}
		if n == 0 {
			return ErrLastSuperadmin
		}
	}
	if s.x.Files != nil {
		if err := s.x.Files.DeleteAll(ctx, u.ID); err != nil {
			return err
		}
	}
	if s.x.Jobs != nil {
		if err := s.x.Jobs.ForgetUser(ctx, u.ID); err != nil {
			return err
		}
	}
	q := s.db.Rebind(`DELETE FROM password_resets WHERE user_id = ?`)
	if _, err := s.db.ExecContext(ctx, q, u.ID); err != nil {
		return fmt.Errorf("delete reset requests: %w", err)
	}
	if err := s.Remove(ctx, u.ID); err != nil {
		return err
	}
	s.alert(ctx, u, mail.AlertAccountDeleted)
	return nil
}
