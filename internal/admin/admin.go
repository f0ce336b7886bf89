// Package admin is what administrators do to an instance, with the boundaries the original
// application lacked: nobody changes their own role or credits; an admin acts on plain
// users only; only the superadmin grants or takes away admin rights and changes the
// security and sign-in settings; the last active superadmin cannot be demoted, deactivated
// or deleted; a role change or a deactivation ends the account's sessions at once. Every
// change is written to the audit trail with who made it, and every refusal of a boundary
// too.
//
// Events about an account (role_change, user_approved, user_deleted, credits_changed...)
// carry that account's id as their user id and the administrator's id as details.by, so an
// account's audit trail shows what was done to it. Events about the instance
// (setting_changed, api_key_change, admin_access) carry the administrator's id.
package admin

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/account"
	"github.com/sketchmaker/sketchmaker/internal/audit"
	"github.com/sketchmaker/sketchmaker/internal/catalog"
	"github.com/sketchmaker/sketchmaker/internal/credit"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/gallery"
	"github.com/sketchmaker/sketchmaker/internal/report"
	"github.com/sketchmaker/sketchmaker/internal/role"
	"github.com/sketchmaker/sketchmaker/internal/schedule"
	"github.com/sketchmaker/sketchmaker/internal/security"
	"github.com/sketchmaker/sketchmaker/internal/session"
	"github.com/sketchmaker/sketchmaker/internal/vault"
)

// Event types this package records besides those the audit package names.
const (
	EventUserCreated     = audit.UserCreated
	EventUserDeactivated = audit.UserDeactivated
	EventUserReactivated = audit.UserReactivated
)

// Actor is the administrator making a change, and where the request came from.
type Actor struct {
	User      *account.User
	IP        string
	UserAgent string

	// Credential is the public id of the personal API token the request came with, or ""
	// for a browser session. Every event the change records names it.
	Credential string
}

// TokenRevoker deletes an account's personal API tokens; the apitoken package's Store is
// one.
type TokenRevoker interface {
	RevokeAll(ctx context.Context, userID int64) (int64, error)
}

// Deps are the services administration works through.
type Deps struct {
	Accounts *account.Service
	Sessions *session.Store
	Tokens   TokenRevoker // nil: no API tokens to end
	Credits  *credit.Service
	Gallery  *gallery.Gallery
	Audit    *audit.Log
	Vault    *vault.Service
	Catalog  *catalog.Service
	Security *security.Store
	Reports  *report.Service
	Board    *schedule.Board // nil: no scheduled tasks to show
	Mailer   Mailer          // nil: mail settings cannot be changed here
	SignIn   SignIn          // nil: sign-in methods cannot be changed here
	Rules    Rules           // nil: account rules cannot be changed here
	Tester   Tester          // nil: OfflineTester
	Log      *slog.Logger
	Now      func() time.Time

	// OpenAlerts counts the security alerts not yet acknowledged; nil when no alert
	// store is wired.
	OpenAlerts func(ctx context.Context) (int, error)
}

// Service carries out administrators' changes.
type Service struct {
	Deps

	mu   sync.Mutex
	seen map[string]bool // sessions whose admin access is already audited
}

// New returns a Service.
func New(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Tester == nil {
		d.Tester = OfflineTester{}
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{Deps: d, seen: map[string]bool{}}
}

// Refusals at the boundaries.
var (
	ErrSelf = fault.New(fault.Forbidden, "You cannot change your own role, status or "+
		"credits, or delete your own account here. Ask another administrator.")
	ErrPeer = fault.New(fault.Forbidden, "Administrators can act only on plain user "+
		"accounts. Changes to an admin or superadmin account are for the superadmin.")
	ErrGrant = fault.New(fault.Forbidden, "Only the superadmin can grant or take away "+
		"admin rights.")
)

// record writes an event with the actor's address and user agent. A failure to audit is
// logged; the change it records has happened already.
func (s *Service) record(ctx context.Context, a Actor, typ string, userID int64,
	details map[string]any) {
	if details == nil {
		details = map[string]any{}
	}
	if a.User != nil && userID != a.User.ID {
		details["by"] = a.User.ID
	}
	if a.Credential != "" {
		details["via_credential"] = a.Credential
	}
	e := audit.Event{Type: typ, UserID: userID, IP: a.IP, UserAgent: a.UserAgent,
		Details: details}
	if err := s.Audit.Record(ctx, e); err != nil {
		s.Log.Error("audit event not recorded", "event_type", typ, "error", err)
	}
}

// refused audits a refusal at a boundary and returns err.
func (s *Service) refused(ctx context.Context, a Actor, action string, target int64,
	err error) error {
	var uid int64
	if a.User != nil {
		uid = a.User.ID
	}
	s.record(ctx, a, audit.PermissionDenied, uid, map[string]any{
		"action": action, "target_user_id": target, "reason": fault.As(err).Message,
	})
	return err
}

// require refuses an actor without permission p; the routes check it first, this is the
// second line.
func (s *Service) require(ctx context.Context, a Actor, p role.Permission, action string) error {
	if a.User != nil && a.User.Role.Can(p) && a.User.Status == account.StatusActive {
		return nil
	}
	err := fault.New(fault.Forbidden, role.Describe(p))
	return s.refused(ctx, a, action, 0, err)
}

// target loads the account id and checks that the actor may act on it: not on their own
// account, and an admin only on plain users.
func (s *Service) target(ctx context.Context, a Actor, id int64, p role.Permission,
	action string) (*account.User, error) {
	if err := s.require(ctx, a, p, action); err != nil {
		return nil, err
	}
	u, err := s.Accounts.ByID(ctx, id)
	if err != nil {
		return nil, account.ErrNoUser
	}
	if u.ID == a.User.ID {
		return nil, s.refused(ctx, a, action, id, ErrSelf)
	}
	if !a.User.Role.Manages(u.Role) {
		return nil, s.refused(ctx, a, action, id, ErrPeer)
	}
	return u, nil
}

// plain turns the credit package's refusals into errors with a safe face.
func plain(err error) error {
	var ce *credit.Error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, credit.ErrOwnCredits):
		return fault.Wrap(fault.Forbidden, credit.ErrOwnCredits.Message, err)
	case errors.Is(err, credit.ErrUnknownPlan):
		return fault.Wrap(fault.NotFound, credit.ErrUnknownPlan.Message, err)
	case errors.As(err, &ce):
		return fault.Wrap(fault.Invalid, ce.Message, err)
	}
	return err
}
