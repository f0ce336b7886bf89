package admin

import (
	"context"
	"strconv"
	"strings"

	"github.com/sketchmaker/sketchmaker/internal/account"
	"github.com/sketchmaker/sketchmaker/internal/audit"
	"github.com/sketchmaker/sketchmaker/internal/report"
	"github.com/sketchmaker/sketchmaker/internal/schedule"
	"github.com/sketchmaker/sketchmaker/internal/vault"
)

// Status is what the admin dashboard and GET /admin/api/status show.
type Status struct {
	Users      account.Counts
	Usage      report.Summary
	Providers  []vault.Provider
	Tasks      []schedule.Task
	OpenAlerts int
	Warnings   []Warning
}

// Warning is something an administrator should fix, with where to fix it.
type Warning struct {
	Code    string // stable name for scripts, such as "no_provider"
	Message string
	Link    string // a page of the admin panel
}

// Status gathers the dashboard's figures and warnings.
func (s *Service) Status(ctx context.Context) (*Status, error) {
	st := &Status{}
	var err error
	today := report.StartOfDay(s.Now()).UnixMilli()
	if st.Users, err = s.Accounts.Count(ctx, today); err != nil {
		return nil, err
	}
	if st.Usage, err = s.Reports.Summary(ctx); err != nil {
		return nil, err
	}
	if st.Providers, err = s.Vault.Providers(ctx); err != nil {
		return nil, err
	}
	if s.Board != nil {
		st.Tasks = s.Board.Tasks()
	}
	if s.OpenAlerts != nil {
		if st.OpenAlerts, err = s.OpenAlerts(ctx); err != nil {
			return nil, err
		}
	}

	st.Warnings = s.warnings(ctx, st)
	return st, nil
}

// warnings lists what needs an administrator's attention.
func (s *Service) warnings(ctx context.Context, st *Status) []Warning {
	var out []Warning
	add := func(code, msg, link string) {
		out = append(out, Warning{Code: code, Message: msg, Link: link})
	}

	if st.OpenAlerts > 0 {
		add("security_alerts", strconv.Itoa(st.OpenAlerts)+" security alert(s) wait to be "+
			"acknowledged.", "/admin/security/alerts")
	}
	hosted := false
	for _, p := range st.Providers {
		if p.ID != vault.Builtin && p.Enabled && p.Configured() &&
			strings.Contains(p.Kind, "image") {
			hosted = true
		}
		if p.Enabled && p.CheckStatus == vault.CheckFailed {
			add("provider_failing", p.Name+" failed its last connection test: "+
				p.CheckMessage, "/admin/providers")
		}
	}
	if !hosted {
		add("no_provider", "No image provider is configured besides the built-in offline "+
			"engine, so people get sketches, not diffusion images.", "/admin/providers")
	}
	if !s.Vault.CanSeal() {
		add("no_encryption_key", "API_KEY_ENCRYPTION_KEY is not set, so provider keys and "+
			"the SMTP password cannot be saved.", "/admin/providers")
	}
	if !s.mailConfigured(ctx) {
		add("mail_not_configured", "Mail is not configured: messages wait in the outbox "+
			"instead of being sent.", "/admin/settings/email")
	}
	if st.Users.Pending > 0 {
		add("pending_accounts", strconv.Itoa(st.Users.Pending)+" account(s) wait for "+
			"approval.", "/admin/users?status=pending")
	}
	for _, t := range st.Tasks {
		if t.Failed {
			add("task_failed", "The scheduled task "+t.Name+" failed on its last run; "+
				"see the server log.", "/admin")
		}
	}
	return out
}

// mailConfigured reports whether an SMTP server is set.
func (s *Service) mailConfigured(ctx context.Context) bool {
	if s.Mailer == nil {
		return false
	}
	cfg, err := s.Mailer.PublicConfig(ctx)
	return err == nil && cfg.Host != ""
}

// NoteAccess records admin_access once per session: the first admin page or admin API
// call of a session is audited with its route, later ones are not, so the trail shows who
// entered the admin panel and when without one row per page view. The memory of seen
// sessions belongs to this instance and holds at most maxSeen sessions.
func (s *Service) NoteAccess(ctx context.Context, a Actor, sessionHash, route string) {
	s.mu.Lock()
	first := !s.seen[sessionHash]
	if first {
		if len(s.seen) >= maxSeen {
			clear(s.seen)
		}
		s.seen[sessionHash] = true
	}
	s.mu.Unlock()

	if first {
		s.record(ctx, a, audit.AdminAccess, a.User.ID, map[string]any{"route": route,
			"role": string(a.User.Role)})
	}
}

// maxSeen bounds the memory of sessions whose admin access is audited.
const maxSeen = 10000
