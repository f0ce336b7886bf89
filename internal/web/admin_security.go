package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/audit"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/guard"
	"github.com/sketchmaker/sketchmaker/internal/role"
)

// The administrators' security pages: blocked addresses, the allow-list and the rate
// limits. Reading needs role.Monitor; changing needs role.ManageSecurity. Every endpoint
// that changes something takes JSON or, from the pages' forms, a form, after which it sends
// the browser back to the page.

// blockView is a blocked address as pages and JSON show it.
type blockView struct {
	IP          string    `json:"ip"`
	Until       time.Time `json:"until"`
	SecondsLeft int64     `json:"seconds_left"`

	// Unblock is the path that lifts the block; an IPv6 /64 needs its slash escaped.
	Unblock string `json:"-"`
}

// limitView is a rate limit as pages and JSON show it.
type limitView struct {
	Name       string `json:"name"`
	Help       string `json:"help"`
	Rate       string `json:"rate"`
	Default    string `json:"default"`
	Overridden bool   `json:"overridden"`
}

func (s *Server) blockViews(r *http.Request) ([]blockView, error) {
	blocks, err := s.Guard.Blocks(r.Context())
	if err != nil {
		return nil, err
	}
	now := s.Now()
	out := make([]blockView, 0, len(blocks))
	for _, b := range blocks {
		out = append(out, blockView{IP: b.IP, Until: b.Until.UTC(),
			SecondsLeft: int64(b.Until.Sub(now).Round(time.Second) / time.Second),
			Unblock:     "/admin/api/blocks/" + url.PathEscape(b.IP) + "/unblock"})
	}
	return out, nil
}

func (s *Server) limitViews() []limitView {
	var out []limitView
	for _, l := range s.Guard.Limits() {
		out = append(out, limitView{Name: l.Name, Help: l.Help, Rate: l.Rate.String(),
			Default: l.Default.String(), Overridden: l.Overridden})
	}
	return out
}

func (s *Server) showSecurityBlocksPage(w http.ResponseWriter, r *http.Request) {
	blocks, err := s.blockViews(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "admin_security_blocks", "Blocked addresses", map[string]any{
		"Blocks": blocks, "AllowList": guard.FormatAllowList(s.Guard.AllowList()),
		"Limits": s.limitViews(), "Enabled": s.Guard.Enabled(),
		"CanManage": state(r).user.Role.Can(role.ManageSecurity),
	})
}

func (s *Server) listBlocksAPI(w http.ResponseWriter, r *http.Request) {
	blocks, err := s.blockViews(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"blocks": blocks,
		"allow_list": allowListStrings(s.Guard)})
}

func (s *Server) unblockAPI(w http.ResponseWriter, r *http.Request) {
	formPost := fromForm(r)
	ip := r.PathValue("ip")
	if err := s.Guard.Unblock(r.Context(), ip); err != nil {
		s.fail(w, r, err)
		return
	}
	s.audit(r, audit.Event{Type: audit.IPUnblocked, UserID: state(r).user.ID,
		Details: map[string]any{"blocked_ip": ip}})
	s.changed(w, r, formPost, "/admin/security/blocks", map[string]any{"success": true})
}

func (s *Server) allowListAPI(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"allow_list": allowListStrings(s.Guard)})
}

func allowListStrings(g *guard.Guard) []string {
	text := guard.FormatAllowList(g.AllowList())
	if text == "" {
		return []string{}
	}
	return strings.Split(text, "\n")
}

// saveAllowListAPI replaces the allow-list: JSON {"allow": ["203.0.113.7", "10.0.0.0/8"]}
// or the form field allow with one entry per line.
func (s *Server) saveAllowListAPI(w http.ResponseWriter, r *http.Request) {
	formPost := fromForm(r)
	var text string
	if formPost {
		if _, ok := r.PostForm["allow"]; !ok {
			s.fail(w, r, fault.Field("allow", "Send the allow-list in the field allow."))
			return
		}
		text = r.PostFormValue("allow")
	} else {
		var body struct {
			Allow *[]string `json:"allow"`
		}
		if err := decodeJSON(r, &body); err != nil {
			s.fail(w, r, err)
			return
		}
		if body.Allow == nil {
			s.fail(w, r, fault.Field("allow", "Send the allow-list as {\"allow\": [...]}; "+
				"an empty list clears it."))
			return
		}
		text = strings.Join(*body.Allow, "\n")
	}

	ch, err := s.Guard.SetAllowList(r.Context(), text, state(r).user.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.auditChange(r, ch.Setting, ch.Old, ch.New)
	s.changed(w, r, formPost, "/admin/security/blocks",
		map[string]any{"allow_list": allowListStrings(s.Guard)})
}

func (s *Server) limitsAPI(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"enabled": s.Guard.Enabled(),
		"limits": s.limitViews()})
}

// saveLimitAPI changes one rate, JSON {"name": "api_calls", "rate": "500 per hour"} (an
// empty rate restores the default), or the master switch, JSON {"enabled": false}. The
// page's forms send the same fields.
func (s *Server) saveLimitAPI(w http.ResponseWriter, r *http.Request) {
	formPost := fromForm(r)
	var body struct {
		Name    string  `json:"name"`
		Rate    *string `json:"rate"`
		Enabled *bool   `json:"enabled"`
	}
	if formPost {
		body.Name = r.PostFormValue("name")
		if _, ok := r.PostForm["rate"]; ok {
			v := r.PostFormValue("rate")
			body.Rate = &v
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
	var ch guard.Change
	var err error
	switch {
	case body.Enabled != nil:
		ch, err = s.Guard.SetEnabled(r.Context(), *body.Enabled, uid)
	case body.Rate != nil:
		ch, err = s.Guard.SetRate(r.Context(), body.Name, *body.Rate, uid)
	default:
		err = fault.Field("rate", "Send {\"name\": ..., \"rate\": \"20 per minute\"} or "+
			"{\"enabled\": true|false}.")
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.auditChange(r, ch.Setting, ch.Old, ch.New)
	s.changed(w, r, formPost, "/admin/security/blocks",
		map[string]any{"enabled": s.Guard.Enabled(), "limits": s.limitViews()})
}

// fromForm reports whether r came from one of the pages' forms; its errors are then shown
// as a page rather than as JSON.
func fromForm(r *http.Request) bool {
	if !isForm(r) {
		return false
	}
	state(r).api = false
	return true
}

// changed answers a successful change: back to the page for a form, JSON otherwise.
func (s *Server) changed(w http.ResponseWriter, r *http.Request, formPost bool, page string,
	body any) {
	if formPost {
		http.Redirect(w, r, page, http.StatusSeeOther)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// auditChange records a changed setting.
func (s *Server) auditChange(r *http.Request, setting, old, value string) {
	s.audit(r, audit.Event{Type: audit.SettingChanged, UserID: state(r).user.ID,
		Details: map[string]any{"setting": setting, "old": old, "new": value}})
}
