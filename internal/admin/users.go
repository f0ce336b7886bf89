package admin

import (
	"context"
	"errors"
	"fmt"

	"github.com/sketchmaker/sketchmaker/internal/account"
	"github.com/sketchmaker/sketchmaker/internal/audit"
	"github.com/sketchmaker/sketchmaker/internal/credit"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/role"
)

// CreateUser creates an account; the password policy applies, and only a role the actor
// may grant can be given.
func (s *Service) CreateUser(ctx context.Context, a Actor, in account.NewUser) (
	*account.User, error) {
	if err := s.require(ctx, a, role.ManageUsers, "create_user"); err != nil {
		return nil, err
	}
	if in.Role == "" {
		in.Role = role.User
	}
	if !a.User.Role.Grants(in.Role) {
		return nil, s.refused(ctx, a, "create_user", 0, ErrGrant)
	}
	in.Status = account.StatusActive

	u, err := s.Accounts.Create(ctx, in)
	if err != nil {
		return nil, err
	}
	s.record(ctx, a, EventUserCreated, u.ID, map[string]any{"role": string(u.Role),
		"plan": in.Plan})
	return u, nil
}

// ChangeRole gives account id the role to, and ends its sessions at once so that the
// change applies to every signed-in browser.
func (s *Service) ChangeRole(ctx context.Context, a Actor, id int64, to role.Role) error {
	u, err := s.target(ctx, a, id, role.ManageUsers, "change_role")
	if err != nil {
		return err
	}
	if !to.Valid() {
		return fault.Field("role", "The role must be user, admin or superadmin.")
	}
	if !a.User.Role.Grants(to) || !a.User.Role.Grants(u.Role) {
		return s.refused(ctx, a, "change_role", id, ErrGrant)
	}
	if u.Role == to {
		return nil
	}

	from, err := s.Accounts.ChangeRole(ctx, id, to)
	if err != nil {
		return err
	}
	n, err := s.Sessions.RevokeUser(ctx, id, "")
	if err != nil {
		return err
	}
	s.record(ctx, a, audit.RoleChange, id, map[string]any{"from": string(from),
		"to": string(to), "sessions_revoked": n})
	return nil
}

// Approve lets a pending account in; the account service tells its owner by mail.
func (s *Service) Approve(ctx context.Context, a Actor, id int64) error {
	if _, err := s.target(ctx, a, id, role.ManageUsers, "approve"); err != nil {
		return err
	}
	if _, err := s.Accounts.Approve(ctx, id); err != nil {
		return err
	}
	s.record(ctx, a, audit.UserApproved, id, nil)
	return nil
}

// BulkApprove approves every pending account of ids it may act on, and returns how many it
// approved and why it skipped the others.
func (s *Service) BulkApprove(ctx context.Context, a Actor, ids []int64) (int, []error) {
	if len(ids) > 500 {
		return 0, []error{fault.New(fault.Invalid, "Approve at most 500 accounts at once.")}
	}
	n := 0
	var skipped []error
	for _, id := range ids {
		if err := s.Approve(ctx, a, id); err != nil {
			skipped = append(skipped, fmt.Errorf("account %d: %w", id, err))
			continue
		}
		n++
	}
	return n, skipped
}

// Deactivate disables account id and ends its sessions and API tokens at once, so that
// reactivating it lets in only someone who signs in again.
func (s *Service) Deactivate(ctx context.Context, a Actor, id int64) error {
	if _, err := s.target(ctx, a, id, role.ManageUsers, "deactivate"); err != nil {
		return err
	}
	from, err := s.Accounts.SetStatus(ctx, id, account.StatusDisabled)
	if err != nil {
		return err
	}
	n, tokens, err := s.signOut(ctx, id)
	if err != nil {
		return err
	}
	s.record(ctx, a, EventUserDeactivated, id, map[string]any{"from": from,
		"sessions_revoked": n, "credentials_revoked": tokens})
	return nil
}

// signOut ends every session and API token of account id, and says how many of each.
func (s *Service) signOut(ctx context.Context, id int64) (sessions, tokens int64,
	err error) {
	if sessions, err = s.Sessions.RevokeUser(ctx, id, ""); err != nil {
		return 0, 0, err
	}
	if s.Tokens != nil {
		if tokens, err = s.Tokens.RevokeAll(ctx, id); err != nil {
			return 0, 0, err
		}
	}
	return sessions, tokens, nil
}

// Reactivate lets a disabled account sign in again.
func (s *Service) Reactivate(ctx context.Context, a Actor, id int64) error {
	u, err := s.target(ctx, a, id, role.ManageUsers, "reactivate")
	if err != nil {
		return err
	}
	if u.Status != account.StatusDisabled {
		return fault.New(fault.Conflict, "This account is not deactivated.")
	}
	if _, err := s.Accounts.SetStatus(ctx, id, account.StatusActive); err != nil {
		return err
	}
	s.record(ctx, a, EventUserReactivated, id, nil)
	return nil
}

// Unlock ends a lock from failed sign-ins on account id.
func (s *Service) Unlock(ctx context.Context, a Actor, id int64) error {
	if _, err := s.target(ctx, a, id, role.ManageUsers, "unlock"); err != nil {
		return err
	}
	was, err := s.Accounts.Unlock(ctx, id)
	if err != nil {
		return err
	}
	s.record(ctx, a, audit.AccountUnlocked, id, map[string]any{"was_locked": was})
	return nil
}

// RevokeSessions signs account id out everywhere: every session and API token.
func (s *Service) RevokeSessions(ctx context.Context, a Actor, id int64) (int64, error) {
	if _, err := s.target(ctx, a, id, role.ManageUsers, "revoke_sessions"); err != nil {
		return 0, err
	}
	n, tokens, err := s.signOut(ctx, id)
	if err != nil {
		return 0, err
	}
	s.record(ctx, a, audit.SessionRevoked, id, map[string]any{"sessions_revoked": n,
		"credentials_revoked": tokens, "scope": "all"})
	return n, nil
}

// Delete removes account id: its images and their files first, then the account with its
// sessions. Its credit ledger and audit rows stay. The last active superadmin stays too.
func (s *Service) Delete(ctx context.Context, a Actor, id int64) error {
	u, err := s.target(ctx, a, id, role.ManageUsers, "delete")
	if err != nil {
		return err
	}
	// Checked before the images go; Remove checks again inside its transaction.
	if u.Role == role.Superadmin {
		if err := s.keepsASuperadmin(ctx, u); err != nil {
			return err
		}
	}

	if err := s.Gallery.DeleteAll(ctx, id); err != nil {
		return err
	}
	// RemoveWithFiles also erases the account's prompts from its jobs and its reset
	// requests, and tells the owner.
	if err := s.Accounts.RemoveWithFiles(ctx, u); err != nil {
		return err
	}
	s.record(ctx, a, audit.UserDeleted, id, map[string]any{"email": u.Email,
		"role": string(u.Role)})
	return nil
}

// keepsASuperadmin refuses to remove u when u is the only active superadmin.
func (s *Service) keepsASuperadmin(ctx context.Context, u *account.User) error {
	pg, err := s.Accounts.Search(ctx, account.Query{Role: role.Superadmin,
		Status: account.StatusActive, Limit: 1})
	if err != nil {
		return err
	}
	others := pg.Total
	if u.Status == account.StatusActive {
		others--
	}
	if others < 1 {
		return account.ErrLastSuperadmin
	}
	return nil
}

// Credit actions of the admin API.
const (
	CreditsAdd      = "add"
	CreditsSubtract = "subtract"
	CreditsSet      = "set"
)

// ChangeCredits adds, subtracts or sets the balance of account id with a reason that is
// kept in the ledger, and returns the new balance. Nobody changes their own balance here.
func (s *Service) ChangeCredits(ctx context.Context, a Actor, id int64, action string,
	amount credit.Milli, reason string) (credit.Milli, error) {
	if _, err := s.target(ctx, a, id, role.ManageCredits, "change_credits"); err != nil {
		return 0, err
	}
	if amount < 0 {
		return 0, fault.Field("amount", "Enter a positive amount; choose subtract to take "+
			"credits away.")
	}

	var err error
	switch action {
	case CreditsAdd:
		_, err = s.Credits.Adjust(ctx, id, amount, a.User.ID, reason)
	case CreditsSubtract:
		_, err = s.Credits.Adjust(ctx, id, -amount, a.User.ID, reason)
	case CreditsSet:
		err = s.Credits.Set(ctx, id, amount, a.User.ID, reason)
	default:
		return 0, fault.Field("action", "The action must be add, subtract or set.")
	}
	if err != nil {
		return 0, plain(err)
	}

	balance, err := s.Credits.Balance(ctx, id)
	if err != nil {
		return 0, err
	}
	s.record(ctx, a, audit.CreditsChanged, id, map[string]any{"action": action,
		"amount": amount.String(), "balance": balance.String(), "reason": reason})
	return balance, nil
}

// AssignPlan puts account id on the plan with slug; the balance becomes the plan's
// monthly allowance, written to the ledger. Nobody changes their own plan here.
func (s *Service) AssignPlan(ctx context.Context, a Actor, id int64, slug string) error {
	u, err := s.target(ctx, a, id, role.ManageCredits, "assign_plan")
	if err != nil {
		return err
	}
	plan, err := s.Credits.PlanBySlug(ctx, slug)
	if errors.Is(err, credit.ErrUnknownPlan) {
		return fault.Field("plan", "There is no such plan.")
	}
	if err != nil {
		return err
	}

	err = s.Credits.SetPlan(ctx, id, plan.Slug, a.User.ID, "plan "+plan.Slug+
		" assigned by an administrator")
	if err != nil {
		return plain(err)
	}
	var old any
	if u.PlanID != nil {
		old = *u.PlanID
	}
	s.record(ctx, a, audit.PlanChanged, id, map[string]any{"plan": plan.Slug,
		"old_plan_id": old})
	return nil
}
