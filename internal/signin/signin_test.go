package signin_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
	"github.com/sketchmaker/sketchmaker/internal/secret"
	"github.com/sketchmaker/sketchmaker/internal/setting"
	"github.com/sketchmaker/sketchmaker/internal/signin"
)

const redirect = "https://studio.example/auth/google/callback"

// startProvider runs a real OpenID Connect provider in process (discovery, JWKS, token
// endpoint) for the test.
func startProvider(t *testing.T) *mockoidc.MockOIDC {
	t.Helper()
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return m
}

func newService(t *testing.T, db *database.DB, m *mockoidc.MockOIDC) *signin.Service {
	t.Helper()
	keys, err := secret.ParseKeyRing(secret.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	return signin.New(signin.Options{
		DB: db, Settings: setting.New(db, time.Now), Keys: keys,
		Defaults: signin.Defaults{RegularEnabled: true, GoogleEnabled: true,
			GoogleClientID: m.ClientID, GoogleClientSecret: m.ClientSecret,
			GoogleIssuer: m.Issuer()},
	})
}

// authorize follows the authorization URL like a browser would and returns the code and
// state the provider sends back to the redirect URL.
func authorize(t *testing.T, authURL string) (code, state string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	res, err := c.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil || res.StatusCode != http.StatusFound {
		t.Fatalf("authorize: %d %v", res.StatusCode, err)
	}
	return loc.Query().Get("code"), loc.Query().Get("state")
}

// twisted is a provider user whose ID token is altered by twist.
type twisted struct {
	*mockoidc.MockUser
	twist func(*mockoidc.IDTokenClaims)
}

func (u twisted) Claims(scopes []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	u.twist(base)
	return u.MockUser.Claims(scopes, base)
}

func TestSignInFlow(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		m := startProvider(t)
		s := newService(t, db, m)

		authURL, state, err := s.Begin(ctx, signin.Google, redirect, "/gallery")
		if err != nil {
			t.Fatal(err)
		}
		q, _ := url.Parse(authURL)
		for _, k := range []string{"state", "nonce", "code_challenge"} {
			if q.Query().Get(k) == "" {
				t.Errorf("authorization URL lacks %s: %s", k, authURL)
			}
		}
		if q.Query().Get("code_challenge_method") != "S256" {
			t.Error("PKCE is not S256")
		}

		code, back := authorize(t, authURL)
		c, err := s.Finish(ctx, signin.Google, redirect, state, back, code)
		if err != nil {
			t.Fatalf("finish: %v", err)
		}
		if c.Email != "jane.doe@example.com" || c.Subject != "1234567890" ||
			c.Next != "/gallery" || c.Provider != signin.Google {
			t.Fatalf("claims %+v", c)
		}
	})
}

func TestRefusals(t *testing.T) {
	ctx := context.Background()
	m := startProvider(t)
	s := newService(t, dbtest.SQLite(t), m)

	cases := []struct {
		name   string
		reason string
		setup  func()
		finish func(state, back, code string) error
	}{
		{"wrong state", "state_mismatch", nil, func(state, back, code string) error {
			_, err := s.Finish(ctx, signin.Google, redirect, state, back+"x", code)
			return err
		}},
		{"state from another browser", "state_mismatch", nil,
			func(state, back, code string) error {
				_, err := s.Finish(ctx, signin.Google, redirect, "someone-else", back, code)
				return err
			}},
		{"wrong nonce", "nonce_mismatch", func() {
			m.QueueUser(twisted{mockoidc.DefaultUser(), func(c *mockoidc.IDTokenClaims) {
				c.Nonce = "a-nonce-of-another-flow"
			}})
		}, nil},
		{"wrong audience", "id_token_invalid", func() {
			m.QueueUser(twisted{mockoidc.DefaultUser(), func(c *mockoidc.IDTokenClaims) {
				c.Audience = jwt.ClaimStrings{"another-client"}
			}})
		}, nil},
		{"wrong issuer", "id_token_invalid", func() {
			m.QueueUser(twisted{mockoidc.DefaultUser(), func(c *mockoidc.IDTokenClaims) {
				c.Issuer = "https://evil.example"
			}})
		}, nil},
		{"expired token", "id_token_expired", func() {
			m.QueueUser(twisted{mockoidc.DefaultUser(), func(c *mockoidc.IDTokenClaims) {
				c.IssuedAt = jwt.NewNumericDate(time.Now().Add(-2 * time.Hour))
				c.NotBefore = c.IssuedAt
				c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Hour))
			}})
		}, nil},
		{"unverified email", "email_unverified", func() {
			u := mockoidc.DefaultUser()
			u.EmailVerified = false
			m.QueueUser(u)
		}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.setup != nil {
				c.setup()
			}
			authURL, state, err := s.Begin(ctx, signin.Google, redirect, "")
			if err != nil {
				t.Fatal(err)
			}
			code, back := authorize(t, authURL)
			if c.finish == nil {
				_, err = s.Finish(ctx, signin.Google, redirect, state, back, code)
			} else {
				err = c.finish(state, back, code)
			}
			if got := signin.ReasonOf(err); got != c.reason {
				t.Fatalf("reason %q, want %q (%v)", got, c.reason, err)
			}
		})
	}
}

func TestReplays(t *testing.T) {
	ctx := context.Background()
	m := startProvider(t)
	s := newService(t, dbtest.SQLite(t), m)

	authURL, state, _ := s.Begin(ctx, signin.Google, redirect, "")
	code, back := authorize(t, authURL)
	if _, err := s.Finish(ctx, signin.Google, redirect, state, back, code); err != nil {
		t.Fatal(err)
	}
	// The same answer again finds no open flow.
	_, err := s.Finish(ctx, signin.Google, redirect, state, back, code)
	if signin.ReasonOf(err) != "state_unknown" {
		t.Fatalf("replayed answer: %v", err)
	}
	// The same code under a fresh flow is refused by the provider.
	_, state2, _ := s.Begin(ctx, signin.Google, redirect, "")
	_, err = s.Finish(ctx, signin.Google, redirect, state2, state2, code)
	if signin.ReasonOf(err) != "code_exchange_failed" {
		t.Fatalf("replayed code: %v", err)
	}
}

func TestAddedProvidersAndMethods(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		m := startProvider(t)
		s := newService(t, db, m)

		err := s.SaveProvider(ctx, signin.ProviderInput{Slug: "keycloak", Name: "Keycloak",
			Issuer: m.Issuer() + "/", ClientID: m.ClientID, ClientSecret: m.ClientSecret,
			Enabled: true}, 1)
		if err != nil {
			t.Fatal(err)
		}
		var stored string
		_ = db.GetContext(ctx, &stored, `SELECT client_secret FROM oidc_providers`)
		if strings.Contains(stored, m.ClientSecret) {
			t.Fatal("a client secret is stored in clear text")
		}
		methods, err := s.Methods(ctx)
		if err != nil || !methods.Password || len(methods.Providers) != 2 ||
			methods.Providers[1].Slug != "keycloak" {
			t.Fatalf("methods %+v %v", methods, err)
		}

		authURL, state, err := s.Begin(ctx, "keycloak", redirect, "")
		if err != nil {
			t.Fatal(err)
		}
		code, back := authorize(t, authURL)
		if c, err := s.Finish(ctx, "keycloak", redirect, state, back, code); err != nil ||
			c.Provider != "keycloak" {
			t.Fatalf("keycloak sign-in: %+v %v", c, err)
		}

		// A flow started for one provider cannot finish at another.
		authURL, state, _ = s.Begin(ctx, "keycloak", redirect, "")
		code, back = authorize(t, authURL)
		if _, err := s.Finish(ctx, signin.Google, redirect, state, back,
			code); signin.ReasonOf(err) != "state_mismatch" {
			t.Fatalf("cross-provider answer: %v", err)
		}

		// Password sign-in may go when providers remain, never all methods at once.
		if _, err := s.SaveMethods(ctx, false, true, 1); err != nil {
			t.Fatal(err)
		}
		if m2, _ := s.Methods(ctx); m2.Password {
			t.Fatal("password sign-in still on")
		}
		if err := s.DeleteProvider(ctx, "keycloak"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SaveMethods(ctx, false, false, 1); err == nil {
			t.Fatal("switched off every sign-in method")
		}
	})
}

func TestPasswordStaysOnWhenNoProviderWorks(t *testing.T) {
	ctx := context.Background()
	db := dbtest.SQLite(t)
	s := signin.New(signin.Options{DB: db, Settings: setting.New(db, time.Now),
		Defaults: signin.Defaults{RegularEnabled: false, GoogleEnabled: true}})
	m, err := s.Methods(ctx)
	if err != nil || !m.Password || len(m.Providers) != 0 {
		t.Fatalf("methods without a client id: %+v %v", m, err)
	}
	if _, _, err := s.Begin(ctx, signin.Google, redirect, ""); err == nil {
		t.Fatal("began a sign-in with an unconfigured provider")
	}
}

func TestProviderInputIsChecked(t *testing.T) {
	ctx := context.Background()
	m := startProvider(t)
	s := newService(t, dbtest.SQLite(t), m)
	good := signin.ProviderInput{Slug: "authentik", Name: "Authentik",
		Issuer: "https://sso.example/application/o/studio", ClientID: "id", Enabled: true}
	bad := map[string]func(*signin.ProviderInput){
		"slug":        func(p *signin.ProviderInput) { p.Slug = "Bad Slug" },
		"plain http":  func(p *signin.ProviderInput) { p.Issuer = "http://sso.example" },
		"no scheme":   func(p *signin.ProviderInput) { p.Issuer = "sso.example" },
		"javascript":  func(p *signin.ProviderInput) { p.Issuer = "javascript:alert(1)" },
		"credentials": func(p *signin.ProviderInput) { p.Issuer = "https://u:p@sso.example" },
		"no name":     func(p *signin.ProviderInput) { p.Name = "" },
		"no client":   func(p *signin.ProviderInput) { p.ClientID = "" },
	}
	for name, change := range bad {
		in := good
		change(&in)
		if err := s.SaveProvider(ctx, in, 1); err == nil {
			t.Errorf("%s: accepted %+v", name, in)
		}
	}
	if err := s.SaveProvider(ctx, good, 1); err != nil {
		t.Fatalf("good input: %v", err)
	}
}

func FuzzValidSlug(f *testing.F) {
	for _, s := range []string{"google", "key-cloak", "", "../x", "A"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if signin.ValidSlug(s) && (strings.ContainsAny(s, "/.?#%") || len(s) > 32) {
			t.Fatalf("ValidSlug(%q) = true", s)
		}
	})
}
