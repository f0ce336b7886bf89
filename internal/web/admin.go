package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/admin"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/generation"
)

// adminFlash are the notices of the admin panel's redirects; like every flash, the cookie
// carries only the key.
var adminFlash = map[string]string{
	"admin_user_created": "The account was created.",
	"admin_role_changed": "The role was changed, and the account was signed out everywhere.",
	"admin_approved":     "The account was approved.",
	"admin_bulk_approved": "The selected accounts were approved; accounts that were not " +
		"waiting for approval, or that you may not act on, were skipped.",
	"admin_deactivated":      "The account was deactivated and signed out everywhere.",
	"admin_reactivated":      "The account can sign in again.",
	"admin_unlocked":         "The account was unlocked.",
	"admin_sessions_revoked": "The account was signed out everywhere; its API tokens were revoked.",
	"admin_deleted": "The account was deleted with its images, uploads and styles; its " +
		"credit history and audit trail are kept.",
	"admin_credits_changed": "The balance was changed and the change written to the " +
		"credit history.",
	"admin_plan_assigned": "The plan was assigned; the balance is now the plan's " +
		"monthly allowance.",
	"admin_plan_saved":       "The plan was saved.",
	"admin_costs_saved":      "The prices were saved.",
	"admin_provider_saved":   "The provider settings were saved.",
	"admin_key_saved":        "The key was encrypted and saved. It will not be shown again.",
	"admin_key_removed":      "The key was removed.",
	"admin_provider_tested":  "The connection test ran; its result is shown below.",
	"admin_model_saved":      "The model settings were saved.",
	"admin_settings_saved":   "The settings were saved.",
	"admin_password_removed": "The saved SMTP password was removed.",
	"admin_test_mail_sent":   "A test message was sent to your address.",
}

func init() {
	for k, v := range adminFlash {
		flashMessages[k] = v
	}
}

// actor is the administrator making the request.
func actor(r *http.Request) admin.Actor {
	st := state(r)
	a := admin.Actor{User: st.user, IP: st.ip, UserAgent: r.UserAgent()}
	if st.apiToken != nil {
		a.Credential = st.apiToken.ID
	}
	return a
}

// noteAdminAccess audits the first admin page or admin API call of a session.
func (s *Server) noteAdminAccess(r *http.Request, pattern string) {
	st := state(r)
	if s.Admin == nil || st.user == nil {
		return
	}
	key := "user:" + strconv.FormatInt(st.user.ID, 10)
	if st.sess != nil {
		key = st.sess.Hash
	}
	s.Admin.NoteAccess(r.Context(), actor(r), key, pattern)
}

// errNoAccount answers an account id that is not a number or names nobody.
var errNoAccount = fault.New(fault.NotFound, "There is no such account.")

// pathID reads the {id} of the path as a positive number.
func pathID(r *http.Request, notFound error) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, notFound
	}
	return id, nil
}

// readForm parses a form body, refusing any other content type, so that the admin
// panel's forms never act on a JSON body by accident.
func readForm(r *http.Request) error {
	if !isForm(r) {
		return fault.New(fault.Unsupported, "Send this form from the admin page "+
			"(application/x-www-form-urlencoded).")
	}
	if err := r.ParseForm(); err != nil {
		return fault.Wrap(fault.Invalid, "The form could not be read.", err)
	}
	return nil
}

// done ends a successful form post with a notice and a redirect.
func (s *Server) done(w http.ResponseWriter, r *http.Request, to, flash string) {
	setFlash(w, flash)
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// offeredModels returns the models the studio offers the signed-in user: those the
// administrators switched on for the user's plan, the default first so that it is
// preselected.
func (s *Server) offeredModels(r *http.Request) ([]generation.Model, error) {
	if s.Catalog == nil {
		return generation.Models(), nil
	}
	models, def, err := s.Catalog.Offer(r.Context(), state(r).user.ID)
	if err != nil {
		return nil, err
	}
	for i, m := range models {
		if m.ID == def && i > 0 {
			models = append([]generation.Model{m}, append(models[:i:i], models[i+1:]...)...)
			break
		}
	}
	return models, nil
}

// adminView is the data of the dashboard.
type adminView struct {
	*admin.Status
	Now    time.Time
	Start  time.Time
	Alerts bool
}

func (s *Server) showAdminPage(w http.ResponseWriter, r *http.Request) {
	st, err := s.Admin.Status(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := adminView{Status: st, Now: s.Now().UTC()}
	if s.Admin.Board != nil {
		v.Start = s.Admin.Board.Start()
	}
	s.render(w, r, http.StatusOK, "admin_dashboard", "Administration", v)
}
