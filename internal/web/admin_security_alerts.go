package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/alert"
	"github.com/sketchmaker/sketchmaker/internal/audit"
	"github.com/sketchmaker/sketchmaker/internal/role"
)

// Security alerts: shown as a banner on every admin page to holders of role.Monitor until
// someone acknowledges them.

// bannerSize is how many open alerts the banner lists.
const bannerSize = 5

// alertView is an alert as the banner and JSON show it.
type alertView struct {
	ID          int64     `json:"id"`
	Type        string    `json:"type"`
	Subject     string    `json:"subject"`
	Message     string    `json:"message"`
	Occurrences int       `json:"occurrences"`
	CreatedAt   time.Time `json:"created_at"`
	LastSeenAt  time.Time `json:"last_seen_at"`
}

func viewAlert(a alert.Alert) alertView {
	return alertView{ID: a.ID, Type: a.Type, Subject: a.Subject, Message: a.Message,
		Occurrences: a.Occurrences, CreatedAt: a.CreatedAt, LastSeenAt: a.LastSeenAt}
}

// alertBanner is what layout.html shows above an admin page.
type alertBanner struct {
	Open   int
	Alerts []alertView
	Next   string
}

// banner returns the open alerts for an admin page seen by a monitor, or nil.
func (s *Server) banner(r *http.Request) *alertBanner {
	u := state(r).user
	if s.Alerts == nil || u == nil || !u.Role.Can(role.Monitor) ||
		!strings.HasPrefix(r.URL.Path, "/admin") {
		return nil
	}
	open, total, err := s.Alerts.Open(r.Context(), bannerSize)
	if err != nil {
		s.Log.Error("open alerts not read", "request_id", state(r).id, "error", err)
		return nil
	}
	if total == 0 {
		return nil
	}
	b := &alertBanner{Open: total, Next: r.URL.RequestURI()}
	for _, a := range open {
		b.Alerts = append(b.Alerts, viewAlert(a))
	}
	return b
}

func (s *Server) alertsAPI(w http.ResponseWriter, r *http.Request) {
	open, total, err := s.Alerts.Open(r.Context(), 100)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	views := make([]alertView, len(open))
	for i, a := range open {
		views[i] = viewAlert(a)
	}
	writeJSON(w, http.StatusOK, map[string]any{"alerts": views, "open": total})
}

// ackAlertAPI acknowledges an open alert; the banner's form sends the page to return to
// in the field next.
func (s *Server) ackAlertAPI(w http.ResponseWriter, r *http.Request) {
	formPost := fromForm(r)
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.fail(w, r, alert.ErrNotFound)
		return
	}
	if err := s.Alerts.Ack(r.Context(), id, state(r).user.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	s.audit(r, audit.Event{Type: audit.AlertAcknowledged, UserID: state(r).user.ID,
		Details: map[string]any{"alert_id": id}})

	next := "/admin/security/blocks"
	if formPost {
		if n := localPath(r.PostFormValue("next")); n != "/dashboard" {
			next = n
		}
	}
	s.changed(w, r, formPost, next, map[string]any{"success": true})
}
