package web

import (
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/sketchmaker/sketchmaker/internal/fault"
)

// errNotText refuses a request whose path, query or form carries a NUL byte or bytes
// that are not UTF-8. No field of SketchMaker takes such bytes, and PostgreSQL refuses to
// store or even compare them, which turned them into server errors deep in a handler.
var errNotText = fault.New(fault.Invalid, "The request holds a NUL byte or bytes that are "+
	"not valid UTF-8 text. Send text encoded as UTF-8.")

// checkText refuses requests with text no field can take (errNotText) before any session
// lookup or handler sees them. A urlencoded form body is parsed here, within the body
// limit already set; JSON bodies are checked when they are decoded, and multipart bodies
// (uploads) by the upload pipeline, which cleans file names.
func (s *Server) checkText(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isText(r.URL.Path) || r.URL.RawQuery != "" && !valuesAreText(r.URL.Query()) {
			s.fail(w, r, errNotText)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && isURLEncoded(r) {
			if err := r.ParseForm(); err != nil {
				s.fail(w, r, fault.Wrap(fault.Invalid, "The form could not be read.", err))
				return
			}
			if !valuesAreText(r.PostForm) {
				s.fail(w, r, errNotText)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func isURLEncoded(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/x-www-form-urlencoded"
}

// isText reports whether s is UTF-8 without NUL bytes.
func isText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

func valuesAreText(v url.Values) bool {
	for k, vs := range v {
		if !isText(k) {
			return false
		}
		for _, x := range vs {
			if !isText(x) {
				return false
			}
		}
	}
	return true
}
