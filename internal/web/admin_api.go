package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/report"
)

// adminStatusAPI answers GET /admin/api/status: the dashboard's figures and warnings.
func (s *Server) adminStatusAPI(w http.ResponseWriter, r *http.Request) {
	st, err := s.Admin.Status(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	database := "ok"
	if err := s.Ready(r.Context()); err != nil {
		database = "unavailable"
	}

	providers := make([]map[string]any, 0, len(st.Providers))
	for _, p := range st.Providers {
		providers = append(providers, providerView(p))
	}
	tasks := make([]map[string]any, 0, len(st.Tasks))
	for _, t := range st.Tasks {
		tasks = append(tasks, map[string]any{"name": t.Name, "runs": t.Runs,
			"failed": t.Failed, "last_run": timeOrNil(t.LastRun),
			"next_run": t.Next(s.Admin.Board.Start()).UTC().Format(time.RFC3339)})
	}
	warnings := make([]map[string]string, 0, len(st.Warnings))
	for _, wn := range st.Warnings {
		warnings = append(warnings, map[string]string{"code": wn.Code, "message": wn.Message,
			"link": wn.Link})
	}
	u, use := st.Users, st.Usage
	writeJSON(w, http.StatusOK, map[string]any{
		"status": "ok", "database": database, "timestamp": s.Now().UTC().Format(time.RFC3339),
		"users": map[string]int{"total": u.Total, "active": u.Active, "pending": u.Pending,
			"disabled": u.Disabled, "admins": u.Admins, "superadmins": u.Superadmins,
			"locked": u.Locked, "new_today": u.NewToday},
		"images": map[string]int{"today": use.ImagesToday, "this_month": use.ImagesMonth},
		"credits": map[string]float64{"used_today": creditsOf(use.CreditsToday),
			"used_this_month": creditsOf(use.CreditsMonth)},
		"jobs": map[string]int{"queued": use.JobsQueued, "running": use.JobsRunning,
			"failed_today": use.FailedToday},
		"providers": providers, "scheduled_tasks": tasks, "open_alerts": st.OpenAlerts,
		"warnings": warnings,
	})
}

func timeOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

// adminUsersAPI answers GET /admin/api/users with the filters of the user list (q, role,
// status, plan) and page and limit.
func (s *Server) adminUsersAPI(w http.ResponseWriter, r *http.Request) {
	plans, err := s.Credits.Plans(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q, _ := s.userQuery(r, plans)
	if l := r.URL.Query().Get("limit"); l != "" {
		q.Limit = atoiDefault(l, 0)
		if q.Limit < 1 || q.Limit > 100 {
			s.fail(w, r, fault.Field("limit", "limit must be from 1 to 100."))
			return
		}
	}
	pg, err := s.Accounts.Search(r.Context(), q)
	if err != nil {
		s.fail(w, r, err)
		return
	}

	users := make([]map[string]any, 0, len(pg.Users))
	for _, u := range s.userRows(pg.Users, plans) {
		users = append(users, map[string]any{
			"id": u.ID, "email": u.Email, "username": u.Username, "role": string(u.Role),
			"status": u.Status, "plan": u.PlanName, "credits": creditsOf(u.Credits),
			"email_verified": u.EmailVerified, "locked": u.Locked,
			"created_at": isoTime(u.CreatedAt), "last_login_at": isoTime(u.LastLoginAt),
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": users, "pagination": map[string]any{
		"page": pg.Page, "limit": pg.Limit, "total": pg.Total, "pages": pg.Pages(),
		"has_next": pg.Page < pg.Pages(), "has_prev": pg.Page > 1,
	}})
}

// creditsBody is the body of POST /admin/api/users/{id}/credits. The amount may be a
// number or a string such as "2.5".
type creditsBody struct {
	Action string          `json:"action"`
	Amount json.RawMessage `json:"amount"`
	Reason string          `json:"reason"`
}

func (s *Server) adminCreditsAPI(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, errNoAccount)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var body creditsBody
	if err := decodeJSON(r, &body); err != nil {
		s.fail(w, r, err)
		return
	}
	amount, err := parseAmount(strings.Trim(strings.TrimSpace(string(body.Amount)), `"`),
		"amount")
	if err != nil {
		s.fail(w, r, err)
		return
	}

	balance, err := s.Admin.ChangeCredits(r.Context(), actor(r), id, body.Action, amount,
		body.Reason)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "user_id": id,
		"action": body.Action, "amount": creditsOf(amount), "credits": creditsOf(balance)})
}

func (s *Server) adminPlanAPI(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, errNoAccount)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var body struct {
		Plan string `json:"plan"`
	}
	if err := decodeJSON(r, &body); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.Admin.AssignPlan(r.Context(), actor(r), id, body.Plan); err != nil {
		s.fail(w, r, err)
		return
	}
	balance, err := s.Credits.Balance(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "user_id": id,
		"plan": body.Plan, "credits": creditsOf(balance)})
}

// adminMetricsAPI answers GET /admin/api/metrics with the reports of the last days (7, 30
// or 90).
func (s *Server) adminMetricsAPI(w http.ResponseWriter, r *http.Request) {
	d, err := s.reportData(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sum, err := s.Reports.Summary(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}

	daily := make([]map[string]any, 0, len(d.Daily))
	for _, day := range d.Daily {
		daily = append(daily, map[string]any{"date": day.Day.Format("2006-01-02"),
			"credits_used": creditsOf(day.Credits), "images": day.Images})
	}
	top := make([]map[string]any, 0, len(d.Top))
	for _, u := range d.Top {
		top = append(top, map[string]any{"user_id": u.UserID, "email": u.Email,
			"credits_used": creditsOf(u.Credits), "jobs": u.Jobs})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"days": d.Days, "since": d.Since.Format("2006-01-02"), "daily": daily,
		"by_model": sharesJSON(d.Models), "by_feature": sharesJSON(d.Features),
		"top_users": top,
		"today": map[string]any{"images": sum.ImagesToday,
			"credits_used": creditsOf(sum.CreditsToday)},
		"this_month": map[string]any{"images": sum.ImagesMonth,
			"credits_used": creditsOf(sum.CreditsMonth)},
		"jobs": map[string]int{"queued": sum.JobsQueued, "running": sum.JobsRunning,
			"failed_today": sum.FailedToday},
	})
}

func sharesJSON(shares []report.Share) []map[string]any {
	out := make([]map[string]any, 0, len(shares))
	for _, sh := range shares {
		out = append(out, map[string]any{"name": sh.Label,
			"credits_used": creditsOf(sh.Credits), "jobs": sh.Jobs})
	}
	return out
}
