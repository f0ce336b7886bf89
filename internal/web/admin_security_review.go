package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/audit"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/moderation"
	"github.com/sketchmaker/sketchmaker/internal/role"
)

// The review queue of prompts refused by the content policy, and the policy's term list.
// Reviewing needs role.Monitor; editing the terms or the switch needs role.ManageSecurity.

// flagView is a flagged prompt as pages and JSON show it.
type flagView struct {
	ID         int64      `json:"id"`
	CreatedAt  time.Time  `json:"created_at"`
	UserID     int64      `json:"user_id"`
	IP         string     `json:"ip_address"`
	Prompt     string     `json:"prompt"`
	Term       string     `json:"term"`
	Status     string     `json:"status"`
	ReviewedAt *time.Time `json:"reviewed_at"`
	ReviewedBy int64      `json:"reviewed_by"`
}

func viewFlag(f moderation.Flag) flagView {
	v := flagView{ID: f.ID, CreatedAt: f.CreatedAt, UserID: f.UserID, IP: f.IP,
		Prompt: f.Prompt, Term: f.Term, Status: f.Status, ReviewedBy: f.ReviewedBy}
	if !f.ReviewedAt.IsZero() {
		v.ReviewedAt = &f.ReviewedAt
	}
	return v
}

// reviewPageSize is how many flagged prompts a page shows.
const reviewPageSize = 50

// readFlagFilter reads ?status=&user=&page= into a filter; the status defaults to pending
// ("all" lists every status).
func readFlagFilter(r *http.Request) (moderation.FlagFilter, int, error) {
	q := r.URL.Query()
	f := moderation.FlagFilter{Status: q.Get("status"), Limit: reviewPageSize}
	switch f.Status {
	case "":
		f.Status = moderation.Pending
	case "all":
		f.Status = ""
	}
	if v := q.Get("user"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return f, 0, fault.Field("user", "The user is a user id, a whole number.")
		}
		f.UserID = id
	}
	page := pageNumber(q.Get("page"))
	f.Offset = (page - 1) * reviewPageSize
	return f, page, nil
}

// pageNumber reads a page number, 1 when missing or bad.
func pageNumber(v string) int {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 100_000 {
		return 1
	}
	return n
}

func (s *Server) flagViews(r *http.Request) ([]flagView, int, int, error) {
	f, page, err := readFlagFilter(r)
	if err != nil {
		return nil, 0, 0, err
	}
	flags, total, err := s.Moderation.Flags(r.Context(), f)
	if err != nil {
		return nil, 0, 0, err
	}
	out := make([]flagView, len(flags))
	for i, fl := range flags {
		out[i] = viewFlag(fl)
	}
	return out, total, page, nil
}

func (s *Server) showSecurityReviewPage(w http.ResponseWriter, r *http.Request) {
	flags, total, page, err := s.flagViews(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	terms, custom := s.Moderation.Terms()
	s.render(w, r, http.StatusOK, "admin_security_review", "Review queue", map[string]any{
		"Flags": flags, "Total": total, "Page": page, "Status": r.URL.Query().Get("status"),
		"More": page*reviewPageSize < total, "Terms": strings.Join(terms, "\n"),
		"Custom": custom, "Enabled": s.Moderation.Enabled(),
		"CanManage": state(r).user.Role.Can(role.ManageSecurity),
	})
}

func (s *Server) reviewAPI(w http.ResponseWriter, r *http.Request) {
	flags, total, page, err := s.flagViews(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"flags": flags, "total": total, "page": page})
}

// decideReviewAPI records a decision on a flagged prompt: JSON {"decision": "approve"} (the
// prompt breaks the policy) or {"decision": "dismiss"} (a false alarm), or the same field
// from the page's form.
func (s *Server) decideReviewAPI(w http.ResponseWriter, r *http.Request) {
	formPost := fromForm(r)
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.fail(w, r, moderation.ErrNoFlag)
		return
	}
	var body struct {
		Decision string `json:"decision"`
	}
	if formPost {
		body.Decision = r.PostFormValue("decision")
	} else if err := decodeJSON(r, &body); err != nil {
		s.fail(w, r, err)
		return
	}

	decision := map[string]string{"approve": moderation.Approved,
		"approved": moderation.Approved, "dismiss": moderation.Dismissed,
		"dismissed": moderation.Dismissed}[body.Decision]
	f, err := s.Moderation.Decide(r.Context(), id, decision, state(r).user.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.audit(r, audit.Event{Type: audit.ContentReviewed, UserID: state(r).user.ID,
		Details: map[string]any{"flag_id": f.ID, "decision": f.Status,
			"flagged_user_id": f.UserID}})
	s.changed(w, r, formPost, "/admin/security/review", map[string]any{"flag": viewFlag(f)})
}

func (s *Server) moderationAPI(w http.ResponseWriter, r *http.Request) {
	terms, custom := s.Moderation.Terms()
	writeJSON(w, http.StatusOK, map[string]any{"enabled": s.Moderation.Enabled(),
		"terms": terms, "custom": custom})
}

// saveModerationAPI replaces the term list, JSON {"terms": ["a", "b"]} or the form field
// terms with one term per line (an empty list restores the defaults), or switches the
// filter, {"enabled": false}.
func (s *Server) saveModerationAPI(w http.ResponseWriter, r *http.Request) {
	formPost := fromForm(r)
	var body struct {
		Terms   *[]string `json:"terms"`
		Enabled *bool     `json:"enabled"`
	}
	if formPost {
		if _, ok := r.PostForm["terms"]; ok {
			terms := strings.Split(r.PostFormValue("terms"), "\n")
			body.Terms = &terms
		}
		if v := r.PostFormValue("enabled"); v != "" {
			on := v == "true"
			body.Enabled = &on
		}
	} else if err := decodeJSON(r, &body); err != nil {
		s.fail(w, r, err)
		return
	}

	uid := state(r).user.ID
	var ch moderation.Change
	var err error
	switch {
	case body.Enabled != nil:
		ch, err = s.Moderation.SetEnabled(r.Context(), *body.Enabled, uid)
	case body.Terms != nil:
		ch, err = s.Moderation.SetTerms(r.Context(), strings.Join(*body.Terms, "\n"), uid)
	default:
		err = fault.Field("terms", "Send {\"terms\": [...]} or {\"enabled\": true|false}.")
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.auditChange(r, ch.Setting, ch.Old, ch.New)
	terms, custom := s.Moderation.Terms()
	s.changed(w, r, formPost, "/admin/security/review", map[string]any{
		"enabled": s.Moderation.Enabled(), "terms": terms, "custom": custom})
}
