package account

import (
	"context"
	"strconv"
)

// The settings keys with which the superadmin overrides the account rules of the
// environment (REQUIRE_EMAIL_VERIFICATION, REQUIRE_APPROVAL, REQUIRE_ADMIN_2FA). The last
// two are the keys the security package's settings pages save.
const (
	SettingRequireVerification = "signin.require_email_verification"
	SettingRequireApproval     = "signin.manual_approval"
	SettingRequireAdmin2FA     = "security.require_2fa"
)

// Rules are the account rules in force.
type Rules struct {
	// RequireVerification keeps accounts whose address is not confirmed from generating.
	RequireVerification bool
	// RequireApproval makes new accounts wait for an administrator.
	RequireApproval bool
	// RequireAdmin2FA keeps admins and superadmins without two-factor sign-in out of the
	// admin pages until they turn it on.
	RequireAdmin2FA bool
}

// Rules returns the rules in force: the environment's, overridden by saved settings.
func (s *Service) Rules(ctx context.Context) (Rules, error) {
	r := s.x.Defaults
	if s.x.Settings == nil {
		return r, nil
	}
	for key, dst := range r.fields() {
		v, err := s.x.Settings.Bool(ctx, key, *dst)
		if err != nil {
			return s.x.Defaults, err
		}
		*dst = v
	}
	return r, nil
}

// SaveRules stores r as the rules in force and returns the settings that changed with
// their old and new values, for the audit log.
func (s *Service) SaveRules(ctx context.Context, r Rules, actorID int64) (
	map[string][2]string, error) {
	changed := map[string][2]string{}
	for key, v := range r.fields() {
		nv := strconv.FormatBool(*v)
		old, err := s.x.Settings.Set(ctx, key, nv, actorID)
		if err != nil {
			return changed, err
		}
		if old != nv {
			changed[key] = [2]string{old, nv}
		}
	}
	return changed, nil
}

func (r *Rules) fields() map[string]*bool {
	return map[string]*bool{
		SettingRequireVerification: &r.RequireVerification,
		SettingRequireApproval:     &r.RequireApproval,
		SettingRequireAdmin2FA:     &r.RequireAdmin2FA,
	}
}

// rules returns the rules in force, falling back to the defaults when settings cannot be
// read (the error is logged).
func (s *Service) rules(ctx context.Context) Rules {
	r, err := s.Rules(ctx)
	if err != nil {
		s.log().Error("account rules not read; using the defaults", "error", err)
	}
	return r
}
