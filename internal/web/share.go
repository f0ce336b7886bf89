package web

import (
	"net/http"

	"github.com/sketchmaker/sketchmaker/internal/audit"
	"github.com/sketchmaker/sketchmaker/internal/gallery"
	"github.com/sketchmaker/sketchmaker/internal/media"
)

// Share links. An owner opens one image to anyone holding its link, /s/{token}; the page
// shows the picture, and its prompt only when the owner chose so, never who made it. The
// link ends when the owner stops sharing, deletes the image or the account, or when the
// account is disabled.

func init() {
	flashMessages["image_shared"] = "The image is shared: anyone with the link can see it."
	flashMessages["image_unshared"] = "The image is no longer shared: its link leads nowhere."
}

// shareURL is the address of a share link, absolute when the site's address is known.
func (s *Server) shareURL(r *http.Request, token string) string {
	base := s.Config.BaseURL
	if base == "" {
		scheme := "http://"
		if state(r).secure {
			scheme = "https://"
		}
		base = scheme + r.Host
	}
	return base + "/s/" + token
}

// shareImage shares an image from its page.
func (s *Server) shareImage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	sh, err := s.Gallery.ShareImage(r.Context(), state(r).user.ID, id,
		r.PostFormValue("show_prompt") == "on")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.auditShare(r, audit.ImageShared, sh.ImageID, sh.ShowPrompt)
	setFlash(w, "image_shared")
	http.Redirect(w, r, "/gallery/"+sh.ImageID, http.StatusSeeOther)
}

// unshareImage ends an image's link from its page.
func (s *Server) unshareImage(w http.ResponseWriter, r *http.Request) {
	if _, err := s.endShare(r); err != nil {
		s.fail(w, r, err)
		return
	}
	setFlash(w, "image_unshared")
	http.Redirect(w, r, "/gallery/"+r.PathValue("id"), http.StatusSeeOther)
}

// endShare ends the link of the caller's image of the path, and reports whether it had
// one; the audit trail records the end.
func (s *Server) endShare(r *http.Request) (bool, error) {
	id := r.PathValue("id")
	ended, err := s.Gallery.Unshare(r.Context(), state(r).user.ID, id)
	if err == nil && ended {
		s.auditShare(r, audit.ImageUnshared, id, false)
	}
	return ended, err
}

// shareInput is the body of POST /api/gallery/{id}/share.
type shareInput struct {
	ShowPrompt bool `json:"show_prompt"`
}

// shareImageAPI shares an image and answers its link.
func (s *Server) shareImageAPI(w http.ResponseWriter, r *http.Request) {
	var in shareInput // no body at all takes the defaults
	if r.ContentLength != 0 || r.Header.Get("Content-Type") != "" {
		if err := decodeJSON(r, &in); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	sh, err := s.Gallery.ShareImage(r.Context(), state(r).user.ID, r.PathValue("id"),
		in.ShowPrompt)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.auditShare(r, audit.ImageShared, sh.ImageID, sh.ShowPrompt)
	writeJSON(w, http.StatusOK, map[string]any{"image_id": sh.ImageID,
		"share_url": s.shareURL(r, sh.Token), "show_prompt": sh.ShowPrompt,
		"created_at": sh.CreatedAt})
}

// unshareImageAPI ends an image's link.
func (s *Server) unshareImageAPI(w http.ResponseWriter, r *http.Request) {
	ended, err := s.endShare(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "was_shared": ended})
}

func (s *Server) auditShare(r *http.Request, event, imageID string, showPrompt bool) {
	details := map[string]any{"image_id": imageID}
	if event == audit.ImageShared {
		details["show_prompt"] = showPrompt
	}
	s.audit(r, audit.Event{Type: event, UserID: state(r).user.ID, Details: details})
}

// sharedHeaders keep a shared page and its picture out of search engines and keep the
// link out of Referer headers.
func sharedHeaders(w http.ResponseWriter) {
	w.Header().Set("X-Robots-Tag", "noindex, nofollow")
	w.Header().Set("Referrer-Policy", "no-referrer")
}

// showSharedPage shows the image a share link opens, to anyone.
func (s *Server) showSharedPage(w http.ResponseWriter, r *http.Request) {
	im, sh, err := s.Gallery.Shared(r.Context(), r.PathValue("token"))
	sharedHeaders(w)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	prompt := ""
	if sh.ShowPrompt {
		prompt = im.Prompt
	}
	s.render(w, r, http.StatusOK, "shared", "Shared image", map[string]any{
		"Token": sh.Token, "Prompt": prompt, "Model": im.Model, "Width": im.Width,
		"Height": im.Height, "Created": im.CreatedAt,
	})
}

// serveSharedImage sends the picture of a share link as it is stored.
func (s *Server) serveSharedImage(w http.ResponseWriter, r *http.Request) {
	im, _, err := s.Gallery.Shared(r.Context(), r.PathValue("token"))
	sharedHeaders(w)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	format, err := media.ParseFormat(im.Format)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, _, err := s.Gallery.Open(r.Context(), im, false)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", format.ContentType())
	// Short-lived, so that a link its owner ends stops working in caches soon.
	w.Header().Set("Cache-Control", "public, max-age=60")
	http.ServeContent(w, r, "", im.Created(), f)
}

// imageShare is the share part of an image's page: its link when shared.
func (s *Server) imageShare(r *http.Request, im *gallery.Image) (map[string]any, error) {
	sh, err := s.Gallery.ShareOf(r.Context(), im.UserID, im.ID)
	if err != nil || sh == nil {
		return nil, err
	}
	return map[string]any{"URL": s.shareURL(r, sh.Token), "ShowPrompt": sh.ShowPrompt,
		"Created": sh.CreatedAt}, nil
}
