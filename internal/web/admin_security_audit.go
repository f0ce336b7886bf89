package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/audit"
	"github.com/sketchmaker/sketchmaker/internal/fault"
)

// The audit viewer: the hash-chained audit trail with filters by type, user, address and
// date, and its export as CSV or JSON. It needs role.Monitor.

// auditPageSize is how many events a page shows.
const auditPageSize = 100

// eventView is an audit event as pages and JSON show it.
type eventView struct {
	ID        int64           `json:"id"`
	Timestamp time.Time       `json:"timestamp"`
	Type      string          `json:"event_type"`
	UserID    int64           `json:"user_id"`
	IP        string          `json:"ip_address"`
	UserAgent string          `json:"user_agent"`
	Details   json.RawMessage `json:"details"`
}

// readAuditFilter reads ?type=&user=&ip=&from=&to= (dates as YYYY-MM-DD, both inclusive).
func readAuditFilter(q url.Values) (audit.Filter, error) {
	f := audit.Filter{Type: q.Get("type"), IP: q.Get("ip"), Limit: auditPageSize}
	if v := q.Get("user"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return f, fault.Field("user", "The user is a user id, a whole number.")
		}
		f.UserID = id
	}

	var err error
	if f.From, err = readDate(q.Get("from"), "from"); err != nil {
		return f, err
	}
	if f.To, err = readDate(q.Get("to"), "to"); err != nil {
		return f, err
	}
	if !f.To.IsZero() {
		f.To = f.To.Add(24 * time.Hour) // through the end of that day
	}
	return f, nil
}

// readDate reads an optional YYYY-MM-DD date in UTC.
func readDate(v, field string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse("2006-01-02", v)
	if err != nil {
		return time.Time{}, fault.Field(field, "Write the date as YYYY-MM-DD, such as "+
			"2026-05-01.")
	}
	return t, nil
}

func (s *Server) auditEvents(r *http.Request) ([]eventView, int, int, error) {
	f, err := readAuditFilter(r.URL.Query())
	if err != nil {
		return nil, 0, 0, err
	}
	page := pageNumber(r.URL.Query().Get("page"))
	f.Offset = (page - 1) * auditPageSize

	rows, total, err := s.Audit.List(r.Context(), f)
	if err != nil {
		return nil, 0, 0, err
	}
	out := make([]eventView, len(rows))
	for i, e := range rows {
		out[i] = eventView{ID: e.ID, Timestamp: e.At, Type: e.Type, UserID: e.UserID,
			IP: e.IP, UserAgent: e.UserAgent, Details: json.RawMessage(e.Details)}
		if !json.Valid(out[i].Details) {
			out[i].Details = json.RawMessage(`{}`)
		}
	}
	return out, total, page, nil
}

func (s *Server) showAuditPage(w http.ResponseWriter, r *http.Request) {
	events, total, page, err := s.auditEvents(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	q.Del("page")
	s.render(w, r, http.StatusOK, "admin_security_audit", "Audit log", map[string]any{
		"Events": events, "Total": total, "Page": page,
		"More": page*auditPageSize < total, "Types": audit.Types(),
		"Filter": map[string]string{"Type": q.Get("type"), "User": q.Get("user"),
			"IP": q.Get("ip"), "From": q.Get("from"), "To": q.Get("to")},
		"QueryString": q.Encode(),
	})
}

func (s *Server) auditAPI(w http.ResponseWriter, r *http.Request) {
	events, total, page, err := s.auditEvents(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": events, "total": total,
		"page": page})
}

// exportAuditAPI streams the events that match the filters as ?format=csv or json, oldest
// first, and audits the export itself.
func (s *Server) exportAuditAPI(w http.ResponseWriter, r *http.Request) {
	format := r.URL.Query().Get("format")
	if format != audit.FormatCSV && format != audit.FormatJSON {
		s.fail(w, r, fault.Field("format", "The format is csv or json."))
		return
	}
	f, err := readAuditFilter(r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}

	name := "sketchmaker-audit-" + s.Now().UTC().Format("20060102-150405") + "." + format
	contentType := "text/csv; charset=utf-8"
	if format == audit.FormatJSON {
		contentType = "application/json; charset=utf-8"
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")

	n, err := s.Audit.Export(r.Context(), w, format, f)
	if err != nil {
		// The status line is gone; the truncated file is all the client gets.
		s.Log.Error("audit export failed", "request_id", state(r).id, "error", err)
	}
	s.audit(r, audit.Event{Type: audit.AuditExported, UserID: state(r).user.ID,
		Details: map[string]any{"format": format, "events": n, "complete": err == nil,
			"filter_type": f.Type, "filter_user": f.UserID, "filter_ip": f.IP}})
}
