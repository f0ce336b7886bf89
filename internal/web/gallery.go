package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/audit"
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

// galleryItemsKept bounds the encoded gallery API entries kept in memory: a few megabytes
// (an entry is about 400 bytes; a 2,000-character prompt makes it 2.5 KB).
const galleryItemsKept = 4096

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
	out, err := s.listing(r, false, f, pageNo, size)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pg := out.page

	// The pager's links keep a page size that was asked for; the default stays implicit.
	perPage := 0
	if size != galleryPageSize {
		perPage = size
	}
	s.render(w, r, http.StatusOK, "gallery", "Gallery", map[string]any{
		"Page": pg, "Query": f.Search, "Prev": pageNo - 1,
		"Next": nextPage(pageNo, pg.Pages()), "PerPage": perPage, "Tiles": out.tiles,
	})
}

// galleryKey names a gallery listing as answered, the page's tiles or the API's body, for
// one owner under one gallery version (gallery.ListSeen), so that a listing seen before is
// answered again without reading or writing anything while the owner's images stay as
// they were.
type galleryKey struct {
	api             bool
	userID, version int64
	filter          gallery.Filter
	page, limit     int
}

// rendered is a listing as answered: the page for the gallery page's pager, with its
// tiles, or the API's body.
type rendered struct {
	page  *gallery.Page
	tiles template.HTML
	body  []byte
}

// Bounds of s.renders: listings kept, and the size of one that may be kept, so the cache
// stays under 20 MB whatever the prompts. A page of fifty short prompts is about 16 KB.
const (
	renderedKept = 256
	renderedMax  = 64 << 10
)

// listing returns page pageNo of the signed-in user's gallery, limit to a page, rendered
// for the API or the gallery page. Searches, rarely repeated, are not kept.
func (s *Server) listing(r *http.Request, api bool, f gallery.Filter, pageNo, limit int) (
	*rendered, error) {
	u := state(r).user
	key := galleryKey{api: api, userID: u.ID, version: u.GalleryVersion, filter: f,
		page: pageNo, limit: limit}
	if out, ok := s.renders.Get(key); ok {
		return out, nil
	}
	pg, err := s.Gallery.ListSeen(r.Context(), u.ID, u.GalleryVersion, f, pageNo, limit)
	if err != nil {
		return nil, err
	}

	out := &rendered{page: pg}
	size := 0
	if api {
		out.body = s.galleryJSON(pg)
		size = len(out.body)
	} else {
		out.tiles = tiles(pg.Images)
		size = len(out.tiles)
	}
	if strings.TrimSpace(f.Search) == "" && size <= renderedMax {
		s.renders.Add(key, out)
	}
	return out, nil
}

// tiles writes the gallery's grid of links. It is built here rather than by ranging in the
// template because html/template's escapers, called through reflection, cost about 12 µs a
// tile, most of the page's time (issue 8). The only values are the image id, which has the
// form [a-z0-9-] (gallery.validID) and is escaped anyway, and the prompt, escaped for
// HTML; both sit in double-quoted attributes or text, where html.EscapeString suffices.
func tiles(images []gallery.Image) template.HTML {
	var b strings.Builder
	b.Grow(len(images) * 320)
	for i := range images {
		id := html.EscapeString(url.PathEscape(images[i].ID))
		prompt := html.EscapeString(images[i].Prompt)
		b.WriteString(`  <a class="tile" href="/gallery/`)
		b.WriteString(id)
		b.WriteString(`">` + "\n" + `    <img src="/images/`)
		b.WriteString(id)
		b.WriteString(`/thumb" alt="`)
		b.WriteString(prompt)
		b.WriteString(`" loading="lazy" width="256">` + "\n" + `    <span>`)
		b.WriteString(prompt)
		b.WriteString("</span>\n  </a>\n")
	}
	return template.HTML(b.String())
}

func nextPage(cur, pages int) int {
	if cur >= pages {
		return 0
	}
	return cur + 1
}

func (s *Server) showImagePage(w http.ResponseWriter, r *http.Request) {
	im, err := s.image(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	share, err := s.imageShare(r, im)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "image", "Image", map[string]any{
		"Image": im, "EngineLabel": engineLabel(im.Engine), "Formats": []string{
			"png", "jpeg", "webp"}, "Share": share,
	})
}

func (s *Server) deleteImage(w http.ResponseWriter, r *http.Request) {
	if err := s.removeImage(r); err != nil {
		s.fail(w, r, err)
		return
	}
	setFlash(w, "deleted")
	http.Redirect(w, r, "/gallery", http.StatusSeeOther)
}

func (s *Server) deleteImageAPI(w http.ResponseWriter, r *http.Request) {
	if err := s.removeImage(r); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true})
}

// removeImage deletes the caller's image of the path; a share link it had ends with it,
// and the audit trail says so.
func (s *Server) removeImage(r *http.Request) error {
	uid, id := state(r).user.ID, r.PathValue("id")
	shared, err := s.Gallery.Remove(r.Context(), uid, id)
	if err != nil {
		return err
	}
	if shared {
		s.audit(r, audit.Event{Type: audit.ImageUnshared, UserID: uid,
			Details: map[string]any{"image_id": id, "reason": "image_deleted"}})
	}
	return nil
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
	out, err := s.listing(r, true, f, pageNo, limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}

	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	writeBody(w, http.StatusOK, out.body)
}

// galleryJSON writes the answer of GET /api/gallery: {"images": [...], "pagination": {...}}.
// Each image's entry is encoded once and kept (s.items): an image's fields never change
// after it is stored, so a kept entry stays exact while the image exists, and a deleted
// image is no longer listed. Encoding fifty entries was a third of the API's time (issue 8).
func (s *Server) galleryJSON(pg *gallery.Page) []byte {
	b := bytes.NewBuffer(make([]byte, 0, 64+len(pg.Images)*400))
	b.WriteString(`{"images":[`)
	for i := range pg.Images {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(s.galleryItemJSON(&pg.Images[i]))
	}
	b.WriteString(`],"pagination":`)
	p, _ := json.Marshal(pagination{Page: pg.Page, PerPage: pg.Limit, Total: pg.Total,
		Pages: pg.Pages(), HasNext: pg.Page < pg.Pages(), HasPrev: pg.Page > 1})
	b.Write(p)
	b.WriteString("}\n")
	return b.Bytes()
}

// galleryItemJSON returns im's encoded entry, from s.items when it was encoded before.
func (s *Server) galleryItemJSON(im *gallery.Image) []byte {
	key := strconv.FormatInt(im.UserID, 10) + "/" + im.ID
	if b, ok := s.items.Get(key); ok {
		return b
	}
	b, _ := json.Marshal(newGalleryItem(im)) // strings and numbers only: cannot fail
	s.items.Add(key, b)
	return b
}

type galleryItem struct {
	ID           string `json:"id"`
	Prompt       string `json:"prompt"`
	Model        string `json:"model"`
	Style        string `json:"art_style"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	Seed         int64  `json:"seed"`
	Format       string `json:"format"`
	Engine       string `json:"engine"`
	EngineLabel  string `json:"engine_label"`
	CreatedAt    string `json:"created_at"`
	URL          string `json:"url"`
	ThumbnailURL string `json:"thumbnail_url"`
}

func newGalleryItem(im *gallery.Image) galleryItem {
	return galleryItem{ID: im.ID, Prompt: im.Prompt, Model: im.Model, Style: im.Style,
		Width: im.Width, Height: im.Height, Seed: im.Seed, Format: im.Format,
		Engine: im.Engine, EngineLabel: engineLabel(im.Engine),
		CreatedAt:    im.Created().Format(time.RFC3339),
		URL:          "/download/" + im.ID + "/" + im.Format,
		ThumbnailURL: "/images/" + im.ID + "/thumb",
	}
}

type pagination struct {
	Page    int  `json:"page"`
	PerPage int  `json:"per_page"`
	Total   int  `json:"total"`
	Pages   int  `json:"pages"`
	HasNext bool `json:"has_next"`
	HasPrev bool `json:"has_prev"`
}

// image returns the signed-in user's image named in the path, or gallery.ErrNotFound.
func (s *Server) image(r *http.Request) (*gallery.Image, error) {
	u := state(r).user
	return s.Gallery.GetSeen(r.Context(), u.ID, u.GalleryVersion, r.PathValue("id"))
}

func (s *Server) serveThumb(w http.ResponseWriter, r *http.Request) {
	im, err := s.image(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := s.Gallery.OpenThumb(r.Context(), im)
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
	im, err := s.image(r)
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
