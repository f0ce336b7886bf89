package web

import (
	"encoding/base64"
	"html/template"
	"net/http"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/sketchmaker/sketchmaker/internal/audit"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/session"
)

// sessionRow is one active session on the settings page.
type sessionRow struct {
	ID       string
	Device   string
	IP       string
	Created  int64
	LastSeen int64
	Current  bool
}

// settingsData gathers the settings page: profile, address, sessions, sign-in methods and
// API tokens.
func (s *Server) settingsData(r *http.Request, extra map[string]any) (map[string]any, error) {
	ctx, st := r.Context(), state(r)
	u := st.user
	list, err := s.Sessions.List(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	rows := make([]sessionRow, 0, len(list))
	for _, x := range list {
		rows = append(rows, sessionRow{ID: x.PublicID, Device: session.Device(x.UserAgent),
			IP: x.IP, Created: x.CreatedAt, LastSeen: x.LastSeenAt,
			Current: x.PublicID == st.sess.PublicID})
	}
	images, err := s.Gallery.Count(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	pending, err := s.Accounts.PendingEmail(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	ids, err := s.Accounts.Identities(ctx, u.ID)
	if err != nil {
		return nil, err
	}

	data, err := s.tokensData(ctx, u)
	if err != nil {
		return nil, err
	}
	for k, v := range map[string]any{
		"Sessions": rows, "Images": images, "PendingEmail": pending, "Identities": ids,
		"HasPassword": u.PasswordHash != "", "Unverified": !u.EmailVerified,
		"MustEnrol": s.mustEnrol(ctx, u),
	} {
		data[k] = v
	}
	for k, v := range extra {
		data[k] = v
	}
	return data, nil
}

// renderSettings shows the settings page with status, adding extra to its data.
func (s *Server) renderSettings(w http.ResponseWriter, r *http.Request, status int,
	extra map[string]any) {
	data, err := s.settingsData(r, extra)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, status, "settings", "Settings", data)
}

// settingsFailed shows the settings page again with the error of one of its forms.
func (s *Server) settingsFailed(w http.ResponseWriter, r *http.Request, form string, err error) {
	fe := fault.As(err)
	if isJSON(r) || state(r).api || fe == nil || fe.Kind == fault.Internal {
		s.fail(w, r, err)
		return
	}
	s.renderSettings(w, r, statusOf[fe.Kind], map[string]any{"Form": form,
		"Error": fe.Message})
}

// settingsDone answers a settings form that worked.
func (s *Server) settingsDone(w http.ResponseWriter, r *http.Request, flash string) {
	if isJSON(r) || state(r).api {
		writeJSON(w, http.StatusOK, map[string]any{"success": true})
		return
	}
	setFlash(w, flash)
	http.Redirect(w, r, "/settings", http.StatusSeeOther)
}

func (s *Server) saveProfile(w http.ResponseWriter, r *http.Request) {
	if _, err := s.Accounts.Rename(r.Context(), state(r).user.ID,
		r.PostFormValue("username")); err != nil {
		s.settingsFailed(w, r, "profile", err)
		return
	}
	s.settingsDone(w, r, "profile_saved")
}

func (s *Server) changeEmail(w http.ResponseWriter, r *http.Request) {
	err := s.Accounts.RequestEmailChange(acctx(r), state(r).user.ID,
		r.PostFormValue("email"), r.PostFormValue("current_password"))
	if err != nil {
		s.settingsFailed(w, r, "email", err)
		return
	}
	s.settingsDone(w, r, "email_change_sent")
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) {
	st := state(r)
	err := s.Accounts.ChangePassword(acctx(r), st.user.ID, r.PostFormValue("current_password"),
		r.PostFormValue("password"), st.sess.Hash)
	if err != nil {
		s.settingsFailed(w, r, "password", err)
		return
	}
	s.audit(r, audit.Event{Type: audit.PasswordChange, UserID: st.user.ID,
		Details: map[string]any{"other_sessions": "revoked"}})
	s.settingsDone(w, r, "password_changed")
}

func (s *Server) revokeSession(w http.ResponseWriter, r *http.Request) {
	st := state(r)
	id := r.PathValue("id")
	ok, err := s.Sessions.RevokePublic(r.Context(), st.user.ID, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !ok {
		s.fail(w, r, fault.New(fault.NotFound, "That session has ended already."))
		return
	}
	s.audit(r, audit.Event{Type: audit.SessionRevoked, UserID: st.user.ID,
		Details: map[string]any{"reason": "revoked_by_owner", "session": id}})
	if id == st.sess.PublicID {
		s.setCookie(w, r, sessionCookie, "", -1)
		setFlash(w, "signed_out")
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	s.settingsDone(w, r, "session_revoked")
}

func (s *Server) revokeOtherSessions(w http.ResponseWriter, r *http.Request) {
	st := state(r)
	n, err := s.Sessions.RevokeUser(r.Context(), st.user.ID, st.sess.Hash)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.audit(r, audit.Event{Type: audit.SessionRevoked, UserID: st.user.ID,
		Details: map[string]any{"reason": "revoke_others", "count": n}})
	s.settingsDone(w, r, "sessions_revoked")
}

func (s *Server) unlinkIdentity(w http.ResponseWriter, r *http.Request) {
	uid, provider := state(r).user.ID, r.PathValue("provider")
	if err := s.Accounts.Unlink(r.Context(), uid, provider); err != nil {
		s.settingsFailed(w, r, "identities", err)
		return
	}
	s.audit(r, audit.Event{Type: audit.IdentityUnlinked, UserID: uid,
		Details: map[string]any{"provider": provider}})
	s.settingsDone(w, r, "identity_unlinked")
}

func (s *Server) deleteAccount(w http.ResponseWriter, r *http.Request) {
	st := state(r)
	if err := s.Accounts.Close(acctx(r), st.user.ID,
		r.PostFormValue("current_password")); err != nil {
		s.settingsFailed(w, r, "delete", err)
		return
	}
	s.audit(r, audit.Event{Type: audit.UserDeleted, UserID: st.user.ID,
		Details: map[string]any{"by": "owner"}})
	s.endSession(w, r)
	if isJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{"success": true})
		return
	}
	setFlash(w, "account_deleted")
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// The two-factor settings.

func (s *Server) showTwoFactorPage(w http.ResponseWriter, r *http.Request) {
	s.renderTwoFactor(w, r, http.StatusOK, nil, nil)
}

// renderTwoFactor shows the two-factor page: the state, an enrolment waiting for its
// first code (with its QR code), new recovery codes once, or an error.
func (s *Server) renderTwoFactor(w http.ResponseWriter, r *http.Request, status int,
	codes []string, fe *fault.Error) {
	ctx, u := r.Context(), state(r).user
	data := map[string]any{"Enabled": u.TOTPEnabled, "Codes": codes,
		"HasPassword": u.PasswordHash != "", "Available": s.Accounts.TwoFactorAvailable()}
	if fe != nil {
		data["Error"] = fe.Message
	}
	if u.TOTPEnabled {
		left, err := s.Accounts.RecoveryCodesLeft(ctx, u.ID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		data["Left"] = left
	} else if en, err := s.Accounts.PendingTwoFactor(ctx, u.ID); err != nil {
		s.fail(w, r, err)
		return
	} else if en != nil {
		data["Secret"], data["URI"], data["QR"] = en.Secret, en.URI, qrDataURL(en.URI)
	}
	s.render(w, r, status, "twofactor", "Two-factor sign-in", data)
}

// qrDataURL draws uri as a QR code in a PNG data URL; the page's CSP allows data: images.
func qrDataURL(uri string) template.URL {
	png, err := qrcode.Encode(uri, qrcode.Medium, 240)
	if err != nil {
		return ""
	}
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
}

// twoFactorFailed shows the two-factor page with the error of one of its forms.
func (s *Server) twoFactorFailed(w http.ResponseWriter, r *http.Request, err error) {
	fe := fault.As(err)
	if isJSON(r) || fe == nil || fe.Kind == fault.Internal {
		s.fail(w, r, err)
		return
	}
	s.renderTwoFactor(w, r, statusOf[fe.Kind], nil, fe)
}

func (s *Server) beginTwoFactor(w http.ResponseWriter, r *http.Request) {
	if _, err := s.Accounts.BeginTwoFactor(r.Context(), state(r).user.ID); err != nil {
		s.twoFactorFailed(w, r, err)
		return
	}
	http.Redirect(w, r, "/settings/two-factor", http.StatusSeeOther)
}

func (s *Server) enableTwoFactor(w http.ResponseWriter, r *http.Request) {
	u := state(r).user
	codes, err := s.Accounts.EnableTwoFactor(acctx(r), u.ID, r.PostFormValue("code"))
	if err != nil {
		s.twoFactorFailed(w, r, err)
		return
	}
	s.audit(r, audit.Event{Type: audit.TwoFactorEnabled, UserID: u.ID})
	u.TOTPEnabled = true
	s.renderTwoFactor(w, r, http.StatusOK, codes, nil)
}

func (s *Server) disableTwoFactor(w http.ResponseWriter, r *http.Request) {
	u := state(r).user
	err := s.Accounts.DisableTwoFactor(acctx(r), u.ID, r.PostFormValue("current_password"),
		r.PostFormValue("code"))
	if err != nil {
		s.twoFactorFailed(w, r, err)
		return
	}
	s.audit(r, audit.Event{Type: audit.TwoFactorDisabled, UserID: u.ID})
	setFlash(w, "two_factor_off")
	http.Redirect(w, r, "/settings/two-factor", http.StatusSeeOther)
}

func (s *Server) renewRecoveryCodes(w http.ResponseWriter, r *http.Request) {
	u := state(r).user
	codes, err := s.Accounts.RenewRecoveryCodes(acctx(r), u.ID,
		r.PostFormValue("current_password"))
	if err != nil {
		s.twoFactorFailed(w, r, err)
		return
	}
	s.audit(r, audit.Event{Type: audit.RecoveryCodesRenewed, UserID: u.ID})
	s.renderTwoFactor(w, r, http.StatusOK, codes, nil)
}
