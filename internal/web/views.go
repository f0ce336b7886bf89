package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/account"
	"github.com/sketchmaker/sketchmaker/internal/credit"
	"github.com/sketchmaker/sketchmaker/internal/role"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// views holds one parsed template set per page and the content hashes of static files.
type views struct {
	pages  map[string]*template.Template
	hashes map[string]string
}

func loadViews() (*views, error) {
	v := &views{pages: map[string]*template.Template{}, hashes: map[string]string{}}
	if err := v.hashStatic(); err != nil {
		return nil, err
	}

	funcs := template.FuncMap{
		"asset":   v.asset,
		"credits": func(m int64) string { return credit.Milli(m).String() },
		"date": func(ms int64) string {
			if ms == 0 {
				return "never"
			}
			return time.UnixMilli(ms).UTC().Format("2 Jan 2006 15:04 UTC")
		},
		"isAdmin": func(u *account.User) bool { return u != nil && u.Role.Can(role.ViewUsers) },
		"add":     func(a, b int) int { return a + b },
		// price writes a plan's price, kept in cents, in its currency: 1900 is "19.00".
		"price": func(cents int) string {
			return strconv.Itoa(cents/100) + "." + fmt.Sprintf("%02d", cents%100)
		},
		"under": func(path, prefix string) bool {
			return path == prefix || strings.HasPrefix(path, prefix+"/")
		},
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	partials, err := fs.Glob(templateFS, "templates/_*.html")
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		base := path.Base(name)
		if base == "layout.html" || strings.HasPrefix(base, "_") {
			continue
		}
		// Files named _*.html hold partials every page may use, such as the admin menu.
		t := template.New("layout.html").Funcs(funcs)
		for _, file := range append([]string{"templates/layout.html", name}, partials...) {
			if err := v.parse(t, file); err != nil {
				return nil, fmt.Errorf("parse %s: %w", base, err)
			}
		}
		v.pages[strings.TrimSuffix(base, ".html")] = t
	}
	return v, nil
}

// assetCall is a template's {{asset "name"}} with a constant name.
var assetCall = regexp.MustCompile(`\{\{\s*asset\s+"([A-Za-z0-9._-]+)"\s*\}\}`)

// parse adds file to t as a template named by its base name. Each {{asset "name"}} is
// replaced by the asset's URL before parsing: the URLs are fixed once the server starts,
// and every call in the layout cost each page a reflective call and its escapers (issue 8).
// The URL still lands in the template as text, where html/template checks its context.
func (v *views) parse(t *template.Template, file string) error {
	b, err := templateFS.ReadFile(file)
	if err != nil {
		return err
	}
	text := assetCall.ReplaceAllStringFunc(string(b), func(call string) string {
		return v.asset(assetCall.FindStringSubmatch(call)[1])
	})
	if name := path.Base(file); name != t.Name() {
		t = t.New(name)
	}
	_, err = t.Parse(text)
	return err
}

// hashStatic computes a short content hash per static file for cache-busting URLs.
func (v *views) hashStatic() error {
	return fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		v.hashes[path.Base(p)] = hex.EncodeToString(sum[:6])
		return nil
	})
}

// asset returns the URL of a static file, with its content hash so caches never go stale.
func (v *views) asset(name string) string {
	return "/static/" + name + "?v=" + v.hashes[name]
}

// page is what every template receives.
type page struct {
	Title string
	User  *account.User
	CSRF  string
	Path  string
	Flash string
	Data  any

	// Alerts are the open security alerts shown above admin pages, or nil.
	Alerts *alertBanner
}

// render writes the named page with status.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name,
	title string, data any) {
	t, ok := s.views.pages[name]
	if !ok {
		s.Log.Error("no such template", "template", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	p := page{Title: title, User: state(r).user, CSRF: s.csrfToken(r), Path: r.URL.Path,
		Data: data, Alerts: s.banner(r)}
	if c, err := r.Cookie("sketchmaker_flash"); err == nil {
		p.Flash = flashMessages[c.Value]
		http.SetCookie(w, &http.Cookie{Name: "sketchmaker_flash", Path: "/", MaxAge: -1})
	}

	buf := pageBuffers.Get().(*bytes.Buffer)
	defer putPageBuffer(buf)
	buf.Reset()
	if err := t.Execute(buf, p); err != nil {
		s.Log.Error("template failed", "template", name, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	writeBody(w, status, buf.Bytes())
}

// pageBuffers hold rendered pages until they are written. A gallery page is about 20 KB,
// which a new buffer reached by doubling ten times: the largest share of a page's garbage.
var pageBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// putPageBuffer gives buf back unless an unusual page grew it past a megabyte.
func putPageBuffer(buf *bytes.Buffer) {
	if buf.Cap() <= 1<<20 {
		pageBuffers.Put(buf)
	}
}

// writeBody writes a whole answer whose length is known. Saying the length spares a
// chunked answer's framing and the write of its final empty chunk, one system call in
// three for a gallery page (issue 8).
func writeBody(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// flashMessages are the notices a redirect can carry; the cookie holds only the key, so
// no text from a request is ever shown back.
var flashMessages = map[string]string{
	"deleted":    "The image was deleted.",
	"registered": "Welcome to SketchMaker! Your account is ready.",
	"signed_out": "You are signed out.",
	"setup_done": "Your superadmin account is ready.",
}

func setFlash(w http.ResponseWriter, key string) {
	http.SetCookie(w, &http.Cookie{Name: "sketchmaker_flash", Value: key, Path: "/",
		MaxAge: 60, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// renderError writes the product's error page.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.render(w, r, status, "error", http.StatusText(status), map[string]any{
		"Status": status, "Message": msg, "RequestID": state(r).id,
	})
}

// serveStatic serves the embedded CSS, JavaScript and images.
func (s *Server) serveStatic(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	b, err := staticFS.ReadFile("static/" + name)
	if err != nil || strings.Contains(name, "/") {
		s.notFound(w, r)
		return
	}
	if r.URL.Query().Get("v") == s.views.hashes[name] {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "public, max-age=300")
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
}
