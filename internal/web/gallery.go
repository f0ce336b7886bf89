package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/gallery"
	"github.com/sketchmaker/sketchmaker/internal/media"
)

// galleryPageSize is the number of images per gallery page unless ?per_page= asks for
// another, up to maxGalleryPageSize (the API's own limit).
const (
	galleryPageSize    = 24
	maxGalleryPageSize = 100
)

func (s *Server) showGalleryPage(w http.ResponseWriter, r *http.Request) {
	pageNo := atoiDefault(r.URL.Query().Get("page"), 1)
	if pageNo < 1 || pageNo > 100000 {
		pageNo = 1
	}
	size := atoiDefault(r.URL.Query().Get("per_page"), galleryPageSize)
	if size < 1 || size > maxGalleryPageSize {
		size = galleryPageSize
	}
	f := gallery.Filter{Search: clip(r.URL.Query().Get("q"), 200)}
	pg, err := s.Gallery.List(r.Context(), state(r).user.ID, f, pageNo, size)
	if err != nil {
		s.fail(w, r, err)
		return
	}

	// The pager's links keep a page size that was asked for; the default stays implicit.
	perPage := 0
	if size != galleryPageSize {
		perPage = size
	}
	s.render(w, r, http.StatusOK, "gallery", "Gallery", map[string]any{
		"Page": pg, "Query": f.Search, "Prev": pageNo - 1,
		"Next": nextPage(pageNo, pg.Pages()), "PerPage": perPage,
	})
}

func nextPage(cur, pages int) int {
	if cur >= pages {
		return 0
	}
	return cur + 1
}

func (s *Server) showImagePage(w http.ResponseWriter, r *http.Request) {
	im, err := s.Gallery.Get(r.Context(), state(r).user.ID, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "image", "Image", map[string]any{
		"Image": im, "EngineLabel": engineLabel(im.Engine), "Formats": []string{
			"png", "jpeg", "webp"},
	})
}

func (s *Server) deleteImage(w http.ResponseWriter, r *http.Request) {
	if err := s.Gallery.Delete(r.Context(), state(r).user.ID, r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	setFlash(w, "deleted")
	http.Redirect(w, r, "/gallery", http.StatusSeeOther)
}

func (s *Server) deleteImageAPI(w http.ResponseWriter, r *http.Request) {
	if err := s.Gallery.Delete(r.Context(), state(r).user.ID, r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true})
}

// listGalleryAPI answers GET /api/gallery with the original's pagination object.
func (s *Server) listGalleryAPI(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	pageNo, limit := atoiDefault(q.Get("page"), 1), atoiDefault(q.Get("limit"), 20)
	if pageNo < 1 || pageNo > 100000 || limit < 1 || limit > 100 {
		s.fail(w, r, fault.New(fault.Invalid, "page must be a whole number from 1 to 100000, and limit from 1 to 100."))
		return
	}
	f := gallery.Filter{Model: clip(q.Get("model"), 100), Style: clip(q.Get("style"), 40),
		Search: clip(q.Get("search"), 200)}
	pg, err := s.Gallery.List(r.Context(), state(r).user.ID, f, pageNo, limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}

	items := make([]map[string]any, 0, len(pg.Images))
	for _, im := range pg.Images {
		items = append(items, map[string]any{
			"id": im.ID, "prompt": im.Prompt, "model": im.Model, "art_style": im.Style,
			"width": im.Width, "height": im.Height, "seed": im.Seed, "format": im.Format,
			"engine": im.Engine, "engine_label": engineLabel(im.Engine),
			"created_at":    im.Created().Format(time.RFC3339),
			"url":           "/download/" + im.ID + "/" + im.Format,
			"thumbnail_url": "/images/" + im.ID + "/thumb",
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"images": items,
		"pagination": map[string]any{
			"page": pg.Page, "per_page": pg.Limit, "total": pg.Total, "pages": pg.Pages(),
			"has_next": pg.Page < pg.Pages(), "has_prev": pg.Page > 1,
		},
	})
}

func (s *Server) serveThumb(w http.ResponseWriter, r *http.Request) {
	im, err := s.Gallery.Get(r.Context(), state(r).user.ID, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, _, err := s.Gallery.Open(r.Context(), im, true)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "image/webp")
	w.Header().Set("Cache-Control", "private, max-age=86400")
	http.ServeContent(w, r, "", im.Created(), f)
}

// download serves an image in the format asked for, converting when it differs from the
// stored one. The file name is built from the id, never from the prompt.
func (s *Server) download(w http.ResponseWriter, r *http.Request) {
	im, err := s.Gallery.Get(r.Context(), state(r).user.ID, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	want, err := media.ParseFormat(r.PathValue("format"))
	if err != nil {
		s.fail(w, r, fault.New(fault.NotFound, "Images can be downloaded as png, jpeg or webp."))
		return
	}
	f, err := s.Gallery.OpenAs(r.Context(), im, want)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer f.Close()

	name := fmt.Sprintf("sketchmaker-%s%s", im.ID[:12], want.Ext())
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Content-Type", want.ContentType())
	w.Header().Set("Cache-Control", "private, no-cache")
	http.ServeContent(w, r, "", im.Created(), f)
}

func atoiDefault(s string, def int) int {
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return s[:n]
	}
	return s
}
