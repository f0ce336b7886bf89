package signin

import (
	"net/url"
	"testing"
)

func FuzzCheckIssuer(f *testing.F) {
	for _, s := range []string{"https://accounts.google.com", "http://127.0.0.1:5556/dex",
		"http://evil.example", "javascript:alert(1)", "https://a@b", "//x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if checkIssuer(s) != nil {
			return
		}
		u, err := url.Parse(s)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") ||
			u.User != nil {
			t.Fatalf("accepted issuer %q", s)
		}
	})
}
