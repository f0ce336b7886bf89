package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/account"
	"github.com/sketchmaker/sketchmaker/internal/admin"
	"github.com/sketchmaker/sketchmaker/internal/audit"
	"github.com/sketchmaker/sketchmaker/internal/credit"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/gallery"
	"github.com/sketchmaker/sketchmaker/internal/report"
	"github.com/sketchmaker/sketchmaker/internal/role"
	"github.com/sketchmaker/sketchmaker/internal/session"
)

// usersPageSize is the number of accounts per page of the user list.
const usersPageSize = 25

// userQuery reads the user list's filters from the query string; unknown values are
// ignored rather than refused, as in any search form.
func (s *Server) userQuery(r *http.Request, plans []credit.Plan) (account.Query, url.Values) {
	in := r.URL.Query()
	q := account.Query{Text: clip(strings.TrimSpace(in.Get("q")), 200), Limit: usersPageSize}
	q.Page = min(max(atoiDefault(in.Get("page"), 1), 1), 100000)

	if rl := role.Role(in.Get("role")); rl.Valid() {
		q.Role = rl
	}
	switch st := in.Get("status"); st {
	case account.StatusActive, account.StatusPending, account.StatusDisabled:
		q.Status = st
	case "locked":
		q.Locked = true
	}
	if slug := in.Get("plan"); slug == "none" {
		q.PlanID = -1
	} else {
		for _, p := range plans {
			if p.Slug == slug {
				q.PlanID = p.ID
			}
		}
	}

	// The filters again, to build the pager's links.
	keep := url.Values{}
	for _, k := range []string{"q", "role", "status", "plan"} {
		if v := in.Get(k); v != "" {
			keep.Set(k, clip(v, 200))
		}
	}
	return q, keep
}

// userRow is one account as the user list shows it.
type userRow struct {
	account.User
	PlanName string
	Locked   bool
	Credits  credit.Milli
}

func (s *Server) userRows(users []account.User, plans []credit.Plan) []userRow {
	names := map[int64]string{}
	for _, p := range plans {
		names[p.ID] = p.Name
	}
	now := s.Now().UnixMilli()
	rows := make([]userRow, len(users))
	for i, u := range users {
		rows[i] = userRow{User: u, Locked: u.LockedUntil > now, Credits: credit.Milli(u.Credits)}
		if u.PlanID != nil {
			rows[i].PlanName = names[*u.PlanID]
		}
	}
	return rows
}

func (s *Server) showAdminUsersPage(w http.ResponseWriter, r *http.Request) {
	plans, err := s.Credits.Plans(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q, keep := s.userQuery(r, plans)
	pg, err := s.Accounts.Search(r.Context(), q)
	if err != nil {
		s.fail(w, r, err)
		return
	}

	link := func(page int) string {
		if page < 1 || page > pg.Pages() {
			return ""
		}
		v := url.Values{}
		for k := range keep {
			v.Set(k, keep.Get(k))
		}
		v.Set("page", strconv.Itoa(page))
		return "/admin/users?" + v.Encode()
	}
	s.render(w, r, http.StatusOK, "admin_users", "Users", map[string]any{
		"Rows": s.userRows(pg.Users, plans), "Page": pg, "Plans": plans, "Filters": keep,
		"Prev": link(pg.Page - 1), "Next": link(pg.Page + 1),
		"Export": "/admin/users/export.csv?" + keep.Encode(),
		"Roles":  role.All(), "CanManage": state(r).user.Role.Can(role.ManageUsers),
		"Statuses": []string{account.StatusActive, account.StatusPending,
			account.StatusDisabled, "locked"},
	})
}

// exportLimit bounds the rows of a CSV export.
const exportLimit = 100000

func (s *Server) exportUsersCSV(w http.ResponseWriter, r *http.Request) {
	plans, err := s.Credits.Plans(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q, _ := s.userQuery(r, plans)
	q.Limit = 500

	var rows [][]string
	for q.Page = 1; len(rows) < exportLimit; q.Page++ {
		pg, err := s.Accounts.Search(r.Context(), q)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		for _, u := range s.userRows(pg.Users, plans) {
			rows = append(rows, []string{strconv.FormatInt(u.ID, 10), u.Email, u.Username,
				string(u.Role), u.Status, u.PlanName, u.Credits.String(),
				strconv.FormatBool(u.EmailVerified), strconv.FormatBool(u.Locked),
				isoTime(u.CreatedAt), isoTime(u.LastLoginAt)})
		}
		if q.Page >= pg.Pages() {
			break
		}
	}
	writeCSV(w, r, "users.csv", []string{"id", "email", "username", "role", "status", "plan",
		"credits", "email_verified", "locked", "created_at", "last_login_at"}, rows)
}

// writeCSV answers with a CSV attachment whose cells are safe from formula injection.
func writeCSV(w http.ResponseWriter, r *http.Request, name string, header []string,
	rows [][]string) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	_ = report.WriteCSV(w, header, rows)
}

// isoTime formats Unix milliseconds for exports; 0 stays empty.
func isoTime(ms int64) string {
	if ms == 0 {
		return ""
	}
	return time.UnixMilli(ms).UTC().Format(time.RFC3339)
}

// parseAmount reads an amount of credits typed into field, with the credit package's
// message for people when it is refused.
func parseAmount(s, field string) (credit.Milli, error) {
	m, err := credit.ParseCredits(s)
	var ce *credit.Error
	if errors.As(err, &ce) {
		return 0, fault.Field(field, ce.Message)
	}
	return m, err
}

// userDetail is everything the account page shows.
type userDetail struct {
	User      *account.User
	Plan      *credit.Plan
	Plans     []credit.Plan
	Locked    bool
	Sessions  []session.Session
	History   []credit.Entry
	Events    []audit.Row
	Images    *gallery.Page
	CanManage bool // the viewer may act on this account
	CanCredit bool
	CanGrant  bool // the viewer may change its role
	Roles     []role.Role
	Self      bool
}

func (s *Server) showAdminUserPage(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, errNoAccount)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d, err := s.userDetail(r.Context(), state(r).user, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "admin_user", d.User.Email, d)
}

func (s *Server) userDetail(ctx context.Context, viewer *account.User, id int64) (
	*userDetail, error) {
	u, err := s.Accounts.ByID(ctx, id)
	if err != nil {
		return nil, errNoAccount
	}
	d := &userDetail{User: u, Locked: u.LockedUntil > s.Now().UnixMilli(),
		Self: u.ID == viewer.ID, Roles: role.All()}
	acts := !d.Self && viewer.Role.Manages(u.Role)
	d.CanManage = acts && viewer.Role.Can(role.ManageUsers)
	d.CanCredit = acts && viewer.Role.Can(role.ManageCredits)
	d.CanGrant = acts && viewer.Role.Can(role.GrantAdmin)

	if d.Plans, err = s.Credits.Plans(ctx); err != nil {
		return nil, err
	}
	for i := range d.Plans {
		if u.PlanID != nil && d.Plans[i].ID == *u.PlanID {
			d.Plan = &d.Plans[i]
		}
	}
	if d.Sessions, err = s.Sessions.List(ctx, id); err != nil {
		return nil, err
	}
	if d.History, err = s.Credits.History(ctx, id, 100); err != nil {
		return nil, err
	}
	if d.Events, _, err = s.Audit.List(ctx, audit.Filter{UserID: id, Limit: 50}); err != nil {
		return nil, err
	}
	d.Images, err = s.Gallery.List(ctx, id, gallery.Filter{}, 1, 12)
	return d, err
}

func (s *Server) showNewUserPage(w http.ResponseWriter, r *http.Request) {
	plans, err := s.Credits.Plans(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "admin_user_new", "New account", map[string]any{
		"Plans": plans, "Roles": grantable(state(r).user.Role), "Form": map[string]string{},
	})
}

// grantable lists the roles a holder of r may give.
func grantable(r role.Role) []role.Role {
	var out []role.Role
	for _, x := range role.All() {
		if r.Grants(x) {
			out = append(out, x)
		}
	}
	return out
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) {
	if err := readForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	in := account.NewUser{Email: r.PostFormValue("email"), Password: r.PostFormValue("password"),
		Username: r.PostFormValue("username"), Role: role.Role(r.PostFormValue("role")),
		Plan: r.PostFormValue("plan")}
	u, err := s.Admin.CreateUser(r.Context(), actor(r), in)
	if err != nil {
		fe := fault.As(err)
		if fe == nil || fe.Kind != fault.Invalid {
			s.fail(w, r, err)
			return
		}
		plans, _ := s.Credits.Plans(r.Context())
		s.render(w, r, http.StatusBadRequest, "admin_user_new", "New account", map[string]any{
			"Plans": plans, "Roles": grantable(state(r).user.Role), "Error": fe.Message,
			"Form": map[string]string{"email": in.Email, "username": in.Username,
				"role": string(in.Role), "plan": in.Plan},
		})
		return
	}
	s.done(w, r, "/admin/users/"+strconv.FormatInt(u.ID, 10), "admin_user_created")
}

// userAction runs one action on the account of the path and returns to its page.
func (s *Server) userAction(flash string,
	act func(r *http.Request, a admin.Actor, id int64) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := readForm(r); err != nil {
			s.fail(w, r, err)
			return
		}
		id, err := pathID(r, errNoAccount)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if err := act(r, actor(r), id); err != nil {
			s.fail(w, r, err)
			return
		}
		to := "/admin/users/" + strconv.FormatInt(id, 10)
		if flash == "admin_deleted" {
			to = "/admin/users"
		}
		s.done(w, r, to, flash)
	}
}

func (s *Server) changeUserRole(r *http.Request, a admin.Actor, id int64) error {
	return s.Admin.ChangeRole(r.Context(), a, id, role.Role(r.PostFormValue("role")))
}

func (s *Server) approveUser(r *http.Request, a admin.Actor, id int64) error {
	return s.Admin.Approve(r.Context(), a, id)
}

func (s *Server) deactivateUser(r *http.Request, a admin.Actor, id int64) error {
	return s.Admin.Deactivate(r.Context(), a, id)
}

func (s *Server) reactivateUser(r *http.Request, a admin.Actor, id int64) error {
	return s.Admin.Reactivate(r.Context(), a, id)
}

func (s *Server) unlockUser(r *http.Request, a admin.Actor, id int64) error {
	return s.Admin.Unlock(r.Context(), a, id)
}

func (s *Server) revokeUserSessions(r *http.Request, a admin.Actor, id int64) error {
	_, err := s.Admin.RevokeSessions(r.Context(), a, id)
	return err
}

func (s *Server) deleteUser(r *http.Request, a admin.Actor, id int64) error {
	if r.PostFormValue("confirm") != "delete" {
		return fault.Field("confirm", "Type delete in the box to confirm the deletion.")
	}
	return s.Admin.Delete(r.Context(), a, id)
}

func (s *Server) changeUserCredits(r *http.Request, a admin.Actor, id int64) error {
	amount, err := parseAmount(r.PostFormValue("amount"), "amount")
	if err != nil {
		return err
	}
	_, err = s.Admin.ChangeCredits(r.Context(), a, id, r.PostFormValue("action"), amount,
		r.PostFormValue("reason"))
	return err
}

func (s *Server) assignUserPlan(r *http.Request, a admin.Actor, id int64) error {
	return s.Admin.AssignPlan(r.Context(), a, id, r.PostFormValue("plan"))
}

func (s *Server) bulkApprove(w http.ResponseWriter, r *http.Request) {
	if err := readForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	var ids []int64
	for _, v := range r.PostForm["ids"] {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil && id > 0 {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		s.fail(w, r, fault.Field("ids", "Tick at least one account to approve."))
		return
	}
	_, skipped := s.Admin.BulkApprove(r.Context(), actor(r), ids)
	if len(skipped) > 0 {
		s.Log.Info("bulk approval skipped accounts", "request_id", state(r).id,
			"skipped", len(skipped))
	}
	s.done(w, r, "/admin/users?status=pending", "admin_bulk_approved")
}
