package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/account"
	"github.com/sketchmaker/sketchmaker/internal/admin"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/mail"
	"github.com/sketchmaker/sketchmaker/internal/security"
	"github.com/sketchmaker/sketchmaker/internal/signin"
)

func (s *Server) showEmailSettingsPage(w http.ResponseWriter, r *http.Request) {
	cfg, err := s.Admin.EmailSettings(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "admin_email", "Email settings", map[string]any{
		"Config": cfg, "CanSeal": s.Vault.CanSeal(),
		"TLSModes": []string{mail.TLSStartTLS, mail.TLSImplicit, mail.TLSNone},
	})
}

func (s *Server) saveEmailSettings(w http.ResponseWriter, r *http.Request) {
	if err := readForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	port, err := strconv.Atoi(orZero(r.PostFormValue("smtp_port")))
	if err != nil {
		s.fail(w, r, fault.Field("smtp_port", "The SMTP port must be a number from 1 to 65535."))
		return
	}
	in := mail.Settings{Host: r.PostFormValue("smtp_host"), Port: port,
		Username: r.PostFormValue("smtp_username"), Password: r.PostFormValue("smtp_password"),
		From: r.PostFormValue("smtp_from"), TLS: r.PostFormValue("smtp_tls")}
	if err := s.Admin.SaveEmail(r.Context(), actor(r), in); err != nil {
		s.fail(w, r, err)
		return
	}
	s.done(w, r, "/admin/settings/email", "admin_settings_saved")
}

func (s *Server) clearEmailPassword(w http.ResponseWriter, r *http.Request) {
	if err := readForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.Admin.ClearEmailPassword(r.Context(), actor(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	s.done(w, r, "/admin/settings/email", "admin_password_removed")
}

func (s *Server) sendTestMail(w http.ResponseWriter, r *http.Request) {
	if err := readForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.Admin.SendTestMail(r.Context(), actor(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	s.done(w, r, "/admin/settings/email", "admin_test_mail_sent")
}

func (s *Server) showSignInSettingsPage(w http.ResponseWriter, r *http.Request) {
	if s.Admin.SignIn == nil || s.Admin.Rules == nil {
		s.fail(w, r, admin.ErrNoSignIn)
		return
	}
	methods, err := s.Admin.SignIn.Methods(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	provs, err := s.Admin.SignIn.Providers(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rules, err := s.Admin.Rules.Rules(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var google signin.Provider
	for _, p := range provs {
		if p.Slug == signin.Google {
			google = p
		}
	}
	s.render(w, r, http.StatusOK, "admin_signin", "Sign-in settings", map[string]any{
		"Methods": methods, "Google": google, "GoogleUsable": google.Usable(),
		"Rules": rules,
	})
}

func (s *Server) saveSignInSettings(w http.ResponseWriter, r *http.Request) {
	if err := readForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	if s.Admin.Rules == nil {
		s.fail(w, r, admin.ErrNoSignIn)
		return
	}
	rules, err := s.Admin.Rules.Rules(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	on := func(k string) bool { return r.PostFormValue(k) == "on" }
	rules.RequireApproval = on("require_approval")
	rules.RequireVerification = on("require_verification")
	f := admin.SignInForm{Password: on("password_enabled"), Google: on("google_enabled"),
		Rules: rules}
	if err := s.Admin.SaveSignIn(r.Context(), actor(r), f); err != nil {
		s.fail(w, r, err)
		return
	}
	s.done(w, r, "/admin/settings/sign-in", "admin_settings_saved")
}

func (s *Server) showSecuritySettingsPage(w http.ResponseWriter, r *http.Request) {
	cur, err := s.Security.Load(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var rules account.Rules
	if s.Admin.Rules != nil {
		if rules, err = s.Admin.Rules.Rules(r.Context()); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	s.render(w, r, http.StatusOK, "admin_security_settings", "Security settings",
		map[string]any{"Settings": cur, "Seconds": secondsOf(cur),
			"Defaults": secondsOf(s.Security.Defaults()), "Rules": rules,
			"HasRules": s.Admin.Rules != nil})
}

// secondsOf gives the durations of the settings in whole seconds, for the form.
func secondsOf(v security.Settings) map[string]int64 {
	return map[string]int64{
		"lockout":  int64(v.LockoutDuration / time.Second),
		"lifetime": int64(v.SessionLifetime / time.Second),
		"idle":     int64(v.SessionIdle / time.Second),
	}
}

func (s *Server) saveSecuritySettings(w http.ResponseWriter, r *http.Request) {
	if err := readForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	var threshold, lockout, lifetime, idle, minLen int64
	fields := []struct {
		name string
		dst  *int64
	}{
		{"lockout_threshold", &threshold}, {"lockout_seconds", &lockout},
		{"session_lifetime_seconds", &lifetime}, {"session_idle_seconds", &idle},
		{"password_min_length", &minLen},
	}
	for _, f := range fields {
		n, err := strconv.ParseInt(strings.TrimSpace(r.PostFormValue(f.name)), 10, 64)
		if err != nil || n < 0 || n > 1<<31 {
			s.fail(w, r, fault.Field(f.name, "Enter a whole number in "+
				strings.ReplaceAll(f.name, "_", " ")+"."))
			return
		}
		*f.dst = n
	}
	var v security.Settings
	v.LockoutThreshold, v.PasswordMinLength = int(threshold), int(minLen)
	v.LockoutDuration = time.Duration(lockout) * time.Second
	v.SessionLifetime = time.Duration(lifetime) * time.Second
	v.SessionIdle = time.Duration(idle) * time.Second

	a := actor(r)
	if err := s.Admin.SaveSecurity(r.Context(), a, v); err != nil {
		s.fail(w, r, err)
		return
	}
	if s.Admin.Rules != nil {
		err := s.Admin.SaveAdmin2FA(r.Context(), a, r.PostFormValue("require_admin_2fa") == "on")
		if err != nil {
			s.fail(w, r, err)
			return
		}
	}
	s.done(w, r, "/admin/settings/security", "admin_settings_saved")
}
