package web

import (
	"net/http"

	"github.com/sketchmaker/sketchmaker/internal/moderation"
)

// screenPrompt checks a prompt against the content policy before anything is reserved or
// stored; a refusal names the term to change and keeps the prompt for review.
func (s *Server) screenPrompt(r *http.Request, prompt string) error {
	if s.Moderation == nil {
		return nil
	}
	st := state(r)
	o := moderation.Origin{IP: st.ip, UserAgent: r.UserAgent()}
	if st.user != nil {
		o.UserID = st.user.ID
	}
	return s.Moderation.Screen(r.Context(), o, prompt)
}
