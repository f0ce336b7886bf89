// Package signin configures how people sign in, with a password and with OpenID Connect
// providers (Google built in, others such as Keycloak, Authentik or Microsoft added by
// the superadmin), and runs the OpenID Connect authorization code flow: state, nonce and
// PKCE, and an ID token verified for issuer, audience, expiry and signature, with only
// verified email addresses accepted. Accounts are the account package's business; this
// package says who the provider vouches for.
package signin

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/secret"
	"github.com/sketchmaker/sketchmaker/internal/setting"
)

// Google is the slug of the built-in provider.
const Google = "google"

// GoogleIssuer is Google's OpenID Connect issuer.
const GoogleIssuer = "https://accounts.google.com"

// The settings keys with which the superadmin overrides the sign-in variables of the
// environment; the switches are the ones the security package's settings page saves. The
// client secret is stored sealed with the key ring.
const (
	SettingRegularEnabled = "signin.password_enabled"
	SettingGoogleEnabled  = "signin.google_enabled"
	SettingGoogleClientID = "signin.google_client_id"
	SettingGoogleSecret   = "signin.google_client_secret"
	SettingGoogleIssuer   = "signin.google_issuer_url"
)

// Defaults are the sign-in settings of the environment.
type Defaults struct {
	RegularEnabled     bool
	GoogleEnabled      bool
	GoogleClientID     string
	GoogleClientSecret string
	GoogleIssuer       string
}

// Options configure the service.
type Options struct {
	DB       *database.DB
	Settings *setting.Store
	Keys     *secret.KeyRing // nil: client secrets come only from the environment
	Defaults Defaults
	// HTTP returns ctx carrying the HTTP client for calls to providers (see
	// oidc.ClientContext); nil uses Go's default client.
	HTTP func(ctx context.Context) context.Context
	Log  *slog.Logger
	Now  func() time.Time
}

// Service answers which sign-in methods work and runs provider sign-ins.
type Service struct {
	o Options

	mu        sync.Mutex
	discovery map[string]cached // by issuer
}

type cached struct {
	p       *oidc.Provider
	fetched time.Time
}

// discoveryTTL is how long a provider's discovery document is reused.
const discoveryTTL = time.Hour

// New returns the sign-in service.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.HTTP == nil {
		o.HTTP = func(ctx context.Context) context.Context { return ctx }
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Defaults.GoogleIssuer == "" {
		o.Defaults.GoogleIssuer = GoogleIssuer
	}
	return &Service{o: o, discovery: map[string]cached{}}
}

// Provider is one OpenID Connect provider.
type Provider struct {
	Slug        string
	Name        string
	Issuer      string
	ClientID    string
	Enabled     bool
	Builtin     bool   // Google, configured by the environment and settings
	SecretSet   bool   // a client secret is configured
	SecretLast4 string // its end, for display
	secret      string
}

// Usable reports whether people can sign in with p now.
func (p Provider) Usable() bool {
	return p.Enabled && p.Issuer != "" && p.ClientID != "" && p.secret != ""
}

// Methods are the ways to sign in that work now.
type Methods struct {
	Password  bool
	Providers []Provider // usable providers, for the buttons on /login
}

// Methods returns the sign-in methods in force. Password sign-in stays on whenever no
// provider is usable, so that nobody can lock everyone out.
func (s *Service) Methods(ctx context.Context) (Methods, error) {
	all, err := s.Providers(ctx)
	if err != nil {
		return Methods{Password: true}, err
	}
	var m Methods
	for _, p := range all {
		if p.Usable() {
			m.Providers = append(m.Providers, p)
		}
	}
	m.Password, err = s.o.Settings.Bool(ctx, SettingRegularEnabled, s.o.Defaults.RegularEnabled)
	if err != nil || len(m.Providers) == 0 {
		m.Password = true
	}
	return m, err
}

// SaveMethods switches password and Google sign-in, refusing a choice that leaves no
// usable method. It returns the settings that changed, for the audit log.
func (s *Service) SaveMethods(ctx context.Context, password, google bool, actorID int64) (
	[]string, error) {
	all, err := s.Providers(ctx)
	if err != nil {
		return nil, err
	}
	usable := password
	for _, p := range all {
		if p.Slug == Google {
			p.Enabled = google
		}
		usable = usable || p.Usable()
	}
	if !usable {
		return nil, fault.New(fault.Conflict, "At least one sign-in method must stay on: "+
			"keep password sign-in, or configure a provider first.")
	}

	var changed []string
	for key, v := range map[string]bool{SettingRegularEnabled: password,
		SettingGoogleEnabled: google} {
		old, err := s.o.Settings.Set(ctx, key, fmt.Sprint(v), actorID)
		if err != nil {
			return changed, err
		}
		if old != fmt.Sprint(v) {
			changed = append(changed, key)
		}
	}
	return changed, nil
}

var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

// ValidSlug reports whether s can name a provider in its URLs.
func ValidSlug(s string) bool { return slugRE.MatchString(s) }

// checkIssuer accepts an https URL, or http for a provider on this machine (tests and
// local development).
func checkIssuer(issuer string) error {
	u, err := url.Parse(issuer)
	bad := fault.Field("issuer_url", "The issuer must be an https URL such as "+
		"https://accounts.google.com or https://sso.example/realms/studio.")
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return bad
	}
	if u.Scheme == "https" {
		return nil
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	if u.Scheme == "http" && (host == "localhost" || ip != nil && ip.IsLoopback()) {
		return nil
	}
	return bad
}

// normalizeIssuer trims spaces and a trailing slash, which issuers never carry in tokens.
func normalizeIssuer(issuer string) string {
	return strings.TrimRight(strings.TrimSpace(issuer), "/")
}
