package admin

import (
	"context"
	"strconv"

	"github.com/sketchmaker/sketchmaker/internal/account"
	"github.com/sketchmaker/sketchmaker/internal/audit"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/mail"
	"github.com/sketchmaker/sketchmaker/internal/role"
	"github.com/sketchmaker/sketchmaker/internal/security"
	"github.com/sketchmaker/sketchmaker/internal/signin"
)

// Mailer is what the email settings page needs from the mail service.
type Mailer interface {
	// PublicConfig returns the SMTP settings in force, the password only as set or not.
	PublicConfig(ctx context.Context) (mail.Public, error)
	// SaveConfig stores settings; an empty password keeps the saved one. It returns the
	// names of the settings that changed.
	SaveConfig(ctx context.Context, in mail.Settings, actorID int64) ([]string, error)
	// ClearPassword forgets the saved SMTP password.
	ClearPassword(ctx context.Context) error
	// SendNow sends a test message to the address at once and says why it failed.
	SendNow(ctx context.Context, to string) error
}

// ErrNoMailer answers the email settings when no mail service is wired.
var ErrNoMailer = fault.New(fault.Unavailable, "The mail service is not available on this "+
	"instance.")

// SaveSecurity stores the security settings; only the superadmin may. Each change is
// audited with its old and new value.
func (s *Service) SaveSecurity(ctx context.Context, a Actor, next security.Settings) error {
	if err := s.require(ctx, a, role.ManageSecurity, "save_security"); err != nil {
		return err
	}
	changes, err := s.Security.Save(ctx, next, a.User.ID)
	s.recordChanges(ctx, a, changes)
	return err
}

// SignIn is what the sign-in settings page needs from the sign-in service.
type SignIn interface {
	// Methods returns the sign-in methods in force.
	Methods(ctx context.Context) (signin.Methods, error)
	// Providers returns every OpenID Connect provider, Google first.
	Providers(ctx context.Context) ([]signin.Provider, error)
	// SaveMethods switches password and Google sign-in, refusing to leave no way in, and
	// returns the settings that changed.
	SaveMethods(ctx context.Context, password, google bool, actorID int64) ([]string, error)
}

// Rules reads and saves the account rules: email verification, approval of new accounts
// and two-factor sign-in for administrators.
type Rules interface {
	Rules(ctx context.Context) (account.Rules, error)
	SaveRules(ctx context.Context, r account.Rules, actorID int64) (map[string][2]string, error)
}

// ErrNoSignIn answers the sign-in settings when no sign-in service is wired.
var ErrNoSignIn = fault.New(fault.Unavailable, "The sign-in settings are not available on "+
	"this instance.")

// SignInForm is what the sign-in settings page saves.
type SignInForm struct {
	Password bool
	Google   bool
	Rules    account.Rules
}

// SaveSignIn stores the sign-in methods and the account rules; only the superadmin may.
// Each change is audited with its old and new value.
func (s *Service) SaveSignIn(ctx context.Context, a Actor, f SignInForm) error {
	if err := s.require(ctx, a, role.ManageSignIn, "save_sign_in"); err != nil {
		return err
	}
	if s.SignIn == nil || s.Rules == nil {
		return ErrNoSignIn
	}
	before, err := s.signInValues(ctx)
	if err != nil {
		return err
	}
	if _, err := s.SignIn.SaveMethods(ctx, f.Password, f.Google, a.User.ID); err != nil {
		return err
	}
	changed, err := s.Rules.SaveRules(ctx, f.Rules, a.User.ID)
	if err != nil {
		return err
	}

	after, err := s.signInValues(ctx)
	if err != nil {
		return err
	}
	for _, key := range []string{signin.SettingRegularEnabled, signin.SettingGoogleEnabled} {
		if before[key] != after[key] {
			changed[key] = [2]string{before[key], after[key]}
		}
	}
	for key, c := range changed {
		if c[0] == "" {
			c[0] = "(default)"
		}
		s.record(ctx, a, audit.SettingChanged, a.User.ID, map[string]any{
			"setting": key, "old": c[0], "new": c[1]})
	}
	return nil
}

// signInValues reads the two sign-in switches as saved.
func (s *Service) signInValues(ctx context.Context) (map[string]string, error) {
	provs, err := s.SignIn.Providers(ctx)
	if err != nil {
		return nil, err
	}
	m, err := s.SignIn.Methods(ctx)
	if err != nil {
		return nil, err
	}
	google := false
	for _, p := range provs {
		if p.Slug == signin.Google {
			google = p.Enabled
		}
	}
	return map[string]string{signin.SettingRegularEnabled: strconv.FormatBool(m.Password),
		signin.SettingGoogleEnabled: strconv.FormatBool(google)}, nil
}

// SaveAdmin2FA sets whether admins and superadmins must use two-factor sign-in; only the
// superadmin may.
func (s *Service) SaveAdmin2FA(ctx context.Context, a Actor, required bool) error {
	if err := s.require(ctx, a, role.ManageSecurity, "save_admin_2fa"); err != nil {
		return err
	}
	if s.Rules == nil {
		return ErrNoSignIn
	}
	r, err := s.Rules.Rules(ctx)
	if err != nil {
		return err
	}
	r.RequireAdmin2FA = required
	changed, err := s.Rules.SaveRules(ctx, r, a.User.ID)
	if err != nil {
		return err
	}
	for key, c := range changed {
		s.record(ctx, a, audit.SettingChanged, a.User.ID, map[string]any{
			"setting": key, "old": c[0], "new": c[1]})
	}
	return nil
}

func (s *Service) recordChanges(ctx context.Context, a Actor, changes []security.Change) {
	for _, c := range changes {
		s.record(ctx, a, audit.SettingChanged, a.User.ID, map[string]any{
			"setting": c.Setting, "old": c.Old, "new": c.New})
	}
}

// EmailSettings returns the SMTP settings in force, without the password.
func (s *Service) EmailSettings(ctx context.Context) (mail.Public, error) {
	if s.Mailer == nil {
		return mail.Public{}, ErrNoMailer
	}
	return s.Mailer.PublicConfig(ctx)
}

// SaveEmail stores the SMTP settings. An empty password keeps the saved one. Each change is
// audited with its old and new value, the password only as "set".
func (s *Service) SaveEmail(ctx context.Context, a Actor, in mail.Settings) error {
	if err := s.require(ctx, a, role.ConfigureEmail, "save_email"); err != nil {
		return err
	}
	if s.Mailer == nil {
		return ErrNoMailer
	}
	old, err := s.Mailer.PublicConfig(ctx)
	if err != nil {
		return err
	}
	changed, err := s.Mailer.SaveConfig(ctx, in, a.User.ID)
	if err != nil {
		return err
	}
	now, err := s.Mailer.PublicConfig(ctx)
	if err != nil {
		return err
	}

	for _, key := range changed {
		o, n := mailValue(old, key), mailValue(now, key)
		s.record(ctx, a, audit.SettingChanged, a.User.ID, map[string]any{
			"setting": key, "old": o, "new": n})
	}
	return nil
}

// mailValue is the value of one SMTP setting as the audit trail may keep it: the password
// never, only whether one is set.
func mailValue(p mail.Public, key string) string {
	switch key {
	case mail.KeyHost:
		return p.Host
	case mail.KeyPort:
		return strconv.Itoa(p.Port)
	case mail.KeyUsername:
		return p.Username
	case mail.KeyFrom:
		return p.From
	case mail.KeyTLS:
		return p.TLS
	case mail.KeyPassword:
		if p.PasswordSet {
			return "(set)"
		}
		return "(not set)"
	}
	return ""
}

// ClearEmailPassword forgets the saved SMTP password.
func (s *Service) ClearEmailPassword(ctx context.Context, a Actor) error {
	if err := s.require(ctx, a, role.ConfigureEmail, "clear_email_password"); err != nil {
		return err
	}
	if s.Mailer == nil {
		return ErrNoMailer
	}
	if err := s.Mailer.ClearPassword(ctx); err != nil {
		return err
	}
	s.record(ctx, a, audit.SettingChanged, a.User.ID, map[string]any{
		"setting": mail.KeyPassword, "old": "(set)", "new": "(not set)"})
	return nil
}

// SendTestMail sends a test message to the actor's own address.
func (s *Service) SendTestMail(ctx context.Context, a Actor) error {
	if err := s.require(ctx, a, role.ConfigureEmail, "send_test_mail"); err != nil {
		return err
	}
	if s.Mailer == nil {
		return ErrNoMailer
	}
	return s.Mailer.SendNow(ctx, a.User.Email)
}
