package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/apptest"
)

// TestBytesThatAreNotTextAreRefused sends NUL bytes and invalid UTF-8 in paths, queries
// and forms, which PostgreSQL cannot even compare: each gets a 400 that says why, on both
// databases, and nothing is stored.
func TestBytesThatAreNotTextAreRefused(t *testing.T) {
	for _, pg := range []bool{false, true} {
		name := map[bool]string{false: "sqlite", true: "postgres"}[pg]
		t.Run(name, func(t *testing.T) {
			app := apptest.NewWith(t, apptest.Options{Postgres: pg})
			c := signedIn(t, app, "bytes@example.com", 5)
			anon := app.Client(t)
			token := c.CSRF()

			for _, req := range []struct {
				who          *apptest.Client
				method, path string
				form         string
			}{
				{c, http.MethodPost, "/settings/api-tokens/%00/revoke", ""},
				{c, http.MethodPost, "/settings/sessions/%ff/revoke", ""},
				{c, http.MethodPost, "/settings/identities/%ed%a0%80/unlink", ""},
				{c, http.MethodGet, "/api/gallery?search=%00", ""},
				{c, http.MethodGet, "/api/gallery?model=%ff", ""},
				{c, http.MethodGet, "/gallery?q=%c3%28", ""},
				{c, http.MethodPost, "/settings/profile", "username=a%ffb"},
				{anon, http.MethodPost, "/register",
					"email=zz%40example.com&password=Passw0rd%21long&username=a%00b"},
			} {
				body := req.form
				tok := token
				if req.who == anon {
					tok = anon.CSRF()
				}
				if body != "" {
					body += "&csrf_token=" + tok
				} else if req.method == http.MethodPost {
					body = "csrf_token=" + tok
				}
				r, _ := http.NewRequest(req.method, app.URL+req.path, strings.NewReader(body))
				if req.method == http.MethodPost {
					r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				}
				r.Header.Set("Accept", "application/json")
				res := req.who.Do(r)
				if res.StatusCode != http.StatusBadRequest ||
					!strings.Contains(string(res.Body), "not valid UTF-8") {
					t.Errorf("%s %s %q: %d %s", req.method, req.path, req.form,
						res.StatusCode, res.Body)
				}
			}
			var users int
			if err := app.DB.GetContext(t.Context(), &users, "SELECT COUNT(*) FROM users"); err != nil ||
				users != 1 {
				t.Fatalf("%d users after the refused registration (%v)", users, err)
			}
		})
	}
}
