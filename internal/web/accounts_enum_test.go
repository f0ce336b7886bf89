package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/role"
)

// Enumeration: the sign-in, password reset and registration forms answer an address with
// an account exactly as they answer one without: same status, same body (once the CSRF
// token, which differs on every page, is masked, and the typed address replaced), same
// headers apart from Date and X-Request-ID, and the same cookies apart from their random
// values.

var acctMaskRE = regexp.MustCompile(`(name="csrf-token" content="|name="csrf_token" value=")[^"]+`)

// acctAnswer is what an answer reveals, with the values that differ by design removed.
type acctAnswer struct {
	Status   int
	Location string
	Body     string
	Header   http.Header
	Cookies  []string
}

func acctAnswerOf(res *http.Response, body []byte, typed string) acctAnswer {
	a := acctAnswer{Status: res.StatusCode, Location: res.Header.Get("Location")}
	a.Body = acctMaskRE.ReplaceAllString(string(body), "${1}MASKED")
	if typed != "" {
		a.Body = strings.ReplaceAll(a.Body, typed, "TYPED")
	}
	a.Header = res.Header.Clone()
	for _, h := range []string{"Date", "X-Request-Id", "Set-Cookie"} {
		a.Header.Del(h)
	}
	for _, c := range res.Cookies() {
		a.Cookies = append(a.Cookies, fmt.Sprintf("%s path=%s max-age=%d httponly=%v "+
			"secure=%v samesite=%v empty=%v", c.Name, c.Path, c.MaxAge, c.HttpOnly, c.Secure,
			c.SameSite, c.Value == ""))
	}
	sort.Strings(a.Cookies)
	return a
}

func acctSame(t *testing.T, what string, known, unknown acctAnswer) {
	t.Helper()
	if known.Status != unknown.Status || known.Location != unknown.Location {
		t.Errorf("%s: status %d %q for a known address, %d %q for an unknown one", what,
			known.Status, known.Location, unknown.Status, unknown.Location)
	}
	if known.Body != unknown.Body {
		t.Errorf("%s: bodies differ:\nknown:   %.600s\nunknown: %.600s", what, known.Body,
			unknown.Body)
	}
	if !reflect.DeepEqual(known.Header, unknown.Header) {
		t.Errorf("%s: headers differ:\nknown:   %v\nunknown: %v", what, known.Header,
			unknown.Header)
	}
	if !reflect.DeepEqual(known.Cookies, unknown.Cookies) {
		t.Errorf("%s: cookies differ:\nknown:   %v\nunknown: %v", what, known.Cookies,
			unknown.Cookies)
	}
}

// The two addresses have the same length, so that echoing what was typed changes nothing
// but the address itself.
const (
	acctKnown   = "kate@example.com"
	acctUnknown = "zack@example.com"
)

func TestAccountsEnumeration(t *testing.T) {
	app := newMailApp(t, map[string]string{"REQUIRE_EMAIL_VERIFICATION": "true"})
	acctUser(t, app.App, acctKnown, role.User)

	each := func(what string, do func(c *clientT, email string) (*http.Response, []byte, string)) {
		answers := map[string]acctAnswer{}
		for _, email := range []string{acctKnown, acctUnknown} {
			c := app.Client(t)
			res, body, typed := do(c, email)
			answers[email] = acctAnswerOf(res, body, typed)
		}
		acctSame(t, what, answers[acctKnown], answers[acctUnknown])
	}

	each("POST /login", func(c *clientT, email string) (*http.Response, []byte, string) {
		res := c.PostForm("/login", url.Values{"email": {email}, "password": {"not the one 1"}})
		return res.Response, res.Body, email
	})
	each("POST /forgot-password", func(c *clientT, email string) (*http.Response, []byte, string) {
		res := c.PostForm("/forgot-password", url.Values{"email": {email}})
		return res.Response, res.Body, email
	})
	each("GET /reset-password", func(c *clientT, email string) (*http.Response, []byte, string) {
		c.PostForm("/forgot-password", url.Values{"email": {email}})
		res := c.Get("/reset-password")
		return res.Response, res.Body, ""
	})
	each("POST /reset-password", func(c *clientT, email string) (*http.Response, []byte, string) {
		c.PostForm("/forgot-password", url.Values{"email": {email}})
		res := c.PostForm("/reset-password", url.Values{"code": {acctWrongCode(app, email)},
			"password": {acctNewPassword}})
		return res.Response, res.Body, ""
	})
	n := 0
	each("POST /register", func(c *clientT, email string) (*http.Response, []byte, string) {
		if email == acctUnknown {
			n++
			email = fmt.Sprintf("new%02d@example.com", n)
		}
		res := c.PostForm("/register", url.Values{"email": {email}, "password": {goodPassword}})
		return res.Response, res.Body, ""
	})

	// The owner of the known address learns that someone tried to register it.
	app.SMTP.Wait(t, acctKnown, "tried to register")
}

// acctWrongCode returns a code that is not the one last mailed to email.
func acctWrongCode(app *mailApp, email string) string {
	for _, m := range app.SMTP.Messages() {
		if m.Code() == "000000" {
			return "111111"
		}
	}
	return "000000"
}

// BenchmarkAccountsEnumerationTiming measures, for each form, how long an answer takes for
// an address with an account and for one without, alternating the two, and reports both
// and their ratio (1.0 is equal time; the design asks for 0.8 to 1.2). It measures; it
// asserts nothing.
func BenchmarkAccountsEnumerationTiming(b *testing.B) {
	app := newMailApp(b, map[string]string{"REQUIRE_EMAIL_VERIFICATION": "true"})
	acctUser(b, app.App, acctKnown, role.User)
	serial := 0

	forms := []struct {
		name string
		do   func(c *clientT, email, token string)
	}{
		{"login", func(c *clientT, email, token string) {
			c.PostForm("/login", url.Values{"email": {email}, "password": {"not the one 1"},
				"csrf_token": {token}})
		}},
		{"forgot-password", func(c *clientT, email, token string) {
			c.PostForm("/forgot-password", url.Values{"email": {email},
				"csrf_token": {token}})
		}},
		{"reset-password", func(c *clientT, email, token string) {
			c.PostForm("/reset-password", url.Values{"code": {"000000"},
				"password": {acctNewPassword}, "csrf_token": {token}})
		}},
		{"register", func(c *clientT, email, token string) {
			if email == acctUnknown {
				serial++
				email = fmt.Sprintf("bench%06d@example.com", serial)
			}
			c.PostForm("/register", url.Values{"email": {email}, "password": {goodPassword},
				"csrf_token": {token}})
		}},
	}
	for _, f := range forms {
		b.Run(f.name, func(b *testing.B) {
			clients := map[string]*clientT{acctKnown: app.Client(b), acctUnknown: app.Client(b)}
			for email, c := range clients {
				if f.name == "reset-password" {
					c.PostForm("/forgot-password", url.Values{"email": {email}})
				}
			}
			// The CSRF token is fetched outside the measured time; a token is valid for
			// many forms.
			tokens := map[string]string{}
			for email, c := range clients {
				tokens[email] = c.CSRF()
			}
			spent := map[string]time.Duration{}
			b.ResetTimer()
			order := [2][]string{{acctKnown, acctUnknown}, {acctUnknown, acctKnown}}
			for i := 0; i < b.N; i++ {
				// Alternate which goes first, so that neither gains from the order.
				for _, email := range order[i%2] {
					start := time.Now()
					f.do(clients[email], email, tokens[email])
					spent[email] += time.Since(start)
				}
			}
			known := float64(spent[acctKnown].Nanoseconds()) / float64(b.N)
			unknown := float64(spent[acctUnknown].Nanoseconds()) / float64(b.N)
			b.ReportMetric(known/1e6, "known-ms/op")
			b.ReportMetric(unknown/1e6, "unknown-ms/op")
			b.ReportMetric(known/unknown, "known/unknown")
		})
	}
}
