package web

import (
	"net/http"
	"strconv"
)

// The outbox pages show the superadmin the messages SketchMaker sent or holds. They need
// role.ManageSecurity, not ConfigureEmail: held messages carry reset codes and confirmation
// links, with which an administrator could take over any account, the superadmin's too.

const outboxPageSize = 50

func (s *Server) showOutboxPage(w http.ResponseWriter, r *http.Request) {
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	page = max(page, 1)
	list, total, err := s.Mail.List(r.Context(), outboxPageSize, (page-1)*outboxPageSize)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	cfg, err := s.Mail.PublicConfig(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pages := max((total+outboxPageSize-1)/outboxPageSize, 1)
	s.render(w, r, http.StatusOK, "outbox", "Outbox", map[string]any{
		"Messages": list, "Total": total, "Page": page, "Pages": pages,
		"Configured": cfg.Configured(),
	})
}

func (s *Server) showOutboxMessagePage(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.notFound(w, r)
		return
	}
	e, err := s.Mail.Get(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "outbox_message", "Outbox message", map[string]any{
		"Message": e,
	})
}
