package account

import (
	"context"
	"errors"

	"github.com/sketchmaker/sketchmaker/internal/mail"
)

// Registration is what Register did.
type Registration struct {
	User    *User // the new account; nil when the address had one already
	SignIn  bool  // the person may be signed in at once
	Verify  bool  // a confirmation link went to the address
	Pending bool  // the account waits for an administrator's approval
}

// Register creates an account from the public registration form, under the rules in
// force.
//
// When the rules keep a new account from signing in at once (email verification or
// approval is required), an address that has an account already gets exactly the same
// Registration as a new one, after the same password hashing, and its owner gets a notice:
// the form then tells nobody which addresses have accounts. When neither rule applies, a
// new account signs in at once, which no answer can hide, so a taken address gets
// ErrEmailTaken.
func (s *Service) Register(ctx context.Context, in NewUser) (*Registration, error) {
	r := s.rules(ctx)
	in.Status = StatusActive
	if r.RequireApproval {
		in.Status = StatusPending
	}
	reg := &Registration{Verify: r.RequireVerification, Pending: r.RequireApproval}
	reg.SignIn = !reg.Verify && !reg.Pending

	u, err := s.Create(ctx, in)
	if errors.Is(err, ErrEmailTaken) && !reg.SignIn {
		s.tellOwner(ctx, in.Email)
		return reg, nil
	}
	if err != nil {
		return nil, err
	}

	reg.User = u
	switch {
	case reg.Verify:
		if err := s.sendLink(ctx, u, u.Email, purposeVerify); err != nil {
			s.log().Error("verification link not sent", "user_id", u.ID, "error", err)
		}
	case !reg.Pending:
		s.notify(ctx, u.Email, u.Username, mail.Welcome, nil)
	}
	return reg, nil
}

// tellOwner lets the owner of a taken address know that someone tried to register it, at
// most twice an hour.
func (s *Service) tellOwner(ctx context.Context, email string) {
	addr, err := NormalizeEmail(email)
	if err != nil {
		return
	}
	u, err := s.ByEmail(ctx, addr)
	if err != nil || !s.allowMail(ctx, u.ID, "register_attempt", 2) {
		return
	}
	s.alert(ctx, u, mail.AlertRegisterAttempt)
}
