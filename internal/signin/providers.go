package signin

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/secret"
)

// ErrNoProvider answers a provider that does not exist or is switched off.
var ErrNoProvider = fault.New(fault.NotFound, "This sign-in method is not available.")

// Providers returns every provider, usable or not: Google first, then the added ones.
func (s *Service) Providers(ctx context.Context) ([]Provider, error) {
	g, err := s.google(ctx)
	if err != nil {
		return nil, err
	}
	out := []Provider{g}

	var rows []struct {
		Slug     string `db:"slug"`
		Name     string `db:"name"`
		Issuer   string `db:"issuer_url"`
		ClientID string `db:"client_id"`
		Secret   string `db:"client_secret"`
		Enabled  bool   `db:"enabled"`
	}
	q := `SELECT slug, name, issuer_url, client_id, client_secret, enabled
		FROM oidc_providers ORDER BY name, slug`
	if err := s.o.DB.SelectContext(ctx, &rows, q); err != nil {
		return nil, fmt.Errorf("list providers: %w", err)
	}
	for _, r := range rows {
		p := Provider{Slug: r.Slug, Name: r.Name, Issuer: r.Issuer, ClientID: r.ClientID,
			Enabled: r.Enabled}
		if r.Secret != "" {
			sec, err := s.o.Keys.Open(r.Secret, secretAD(r.Slug))
			if err != nil {
				return nil, fmt.Errorf("open client secret of %s: %w", r.Slug, err)
			}
			p.setSecret(string(sec))
		}
		out = append(out, p)
	}
	return out, nil
}

// Provider returns the usable provider slug, or ErrNoProvider.
func (s *Service) Provider(ctx context.Context, slug string) (Provider, error) {
	all, err := s.Providers(ctx)
	if err != nil {
		return Provider{}, err
	}
	for _, p := range all {
		if p.Slug == slug && p.Usable() {
			return p, nil
		}
	}
	return Provider{}, ErrNoProvider
}

func (p *Provider) setSecret(sec string) {
	p.secret, p.SecretSet, p.SecretLast4 = sec, sec != "", secret.Last4(sec)
}

// google returns the built-in provider: the environment overridden by settings.
func (s *Service) google(ctx context.Context) (Provider, error) {
	d := s.o.Defaults
	p := Provider{Slug: Google, Name: "Google", Builtin: true}
	var err error
	st := s.o.Settings
	if p.Enabled, err = st.Bool(ctx, SettingGoogleEnabled, d.GoogleEnabled); err != nil {
		return p, err
	}
	if p.ClientID, err = st.String(ctx, SettingGoogleClientID, d.GoogleClientID); err != nil {
		return p, err
	}
	if p.Issuer, err = st.String(ctx, SettingGoogleIssuer, d.GoogleIssuer); err != nil {
		return p, err
	}
	p.Issuer = normalizeIssuer(p.Issuer)

	sealed, ok, err := st.Get(ctx, SettingGoogleSecret)
	if err != nil {
		return p, err
	}
	sec := d.GoogleClientSecret
	if ok && sealed != "" {
		b, err := s.o.Keys.Open(sealed, secretAD(Google))
		if err != nil {
			return p, fmt.Errorf("open the Google client secret: %w", err)
		}
		sec = string(b)
	}
	p.setSecret(sec)
	return p, nil
}

// ProviderInput is what the superadmin sets for a provider. An empty ClientSecret keeps
// the saved one.
type ProviderInput struct {
	Slug         string
	Name         string
	Issuer       string
	ClientID     string
	ClientSecret string
	Enabled      bool
}

// SaveProvider creates or changes a provider. For Google it saves settings that override
// the environment; other providers are rows of their own. Client secrets are sealed with
// the key ring, so saving one needs API_KEY_ENCRYPTION_KEY.
func (s *Service) SaveProvider(ctx context.Context, in ProviderInput, actorID int64) error {
	in.Issuer = normalizeIssuer(in.Issuer)
	in.Name, in.ClientID = strings.TrimSpace(in.Name), strings.TrimSpace(in.ClientID)
	if err := checkInput(in); err != nil {
		return err
	}
	sealed := ""
	if in.ClientSecret != "" {
		if s.o.Keys == nil {
			return fault.Field("client_secret", "Set API_KEY_ENCRYPTION_KEY before saving "+
				"a client secret: it is stored encrypted with that key.")
		}
		var err error
		if sealed, err = s.o.Keys.Seal([]byte(in.ClientSecret), secretAD(in.Slug)); err != nil {
			return fmt.Errorf("seal client secret: %w", err)
		}
	}
	s.forget(in.Issuer)
	if in.Slug == Google {
		return s.saveGoogle(ctx, in, sealed, actorID)
	}
	return s.saveRow(ctx, in, sealed, actorID)
}

func checkInput(in ProviderInput) error {
	if !ValidSlug(in.Slug) {
		return fault.Field("slug", "The short name must be 1 to 32 lowercase letters, "+
			"digits or dashes, such as keycloak.")
	}
	if in.Name == "" || utf8.RuneCountInString(in.Name) > 40 {
		return fault.Field("name", "Give the provider a name of 1 to 40 characters; it "+
			"appears on its sign-in button.")
	}
	if in.ClientID == "" || len(in.ClientID) > 256 {
		return fault.Field("client_id", "Enter the client id the provider gave you.")
	}
	return checkIssuer(in.Issuer)
}

func (s *Service) saveGoogle(ctx context.Context, in ProviderInput, sealed string,
	actorID int64) error {
	vals := map[string]string{SettingGoogleClientID: in.ClientID,
		SettingGoogleIssuer: in.Issuer, SettingGoogleEnabled: fmt.Sprint(in.Enabled)}
	if sealed != "" {
		vals[SettingGoogleSecret] = sealed
	}
	for k, v := range vals {
		if _, err := s.o.Settings.Set(ctx, k, v, actorID); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) saveRow(ctx context.Context, in ProviderInput, sealed string,
	actorID int64) error {
	now := s.o.Now().UnixMilli()
	q := s.o.DB.Rebind(`INSERT INTO oidc_providers (slug, name, issuer_url, client_id,
		client_secret, enabled, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (slug) DO UPDATE SET name = excluded.name,
		issuer_url = excluded.issuer_url, client_id = excluded.client_id,
		client_secret = CASE WHEN excluded.client_secret = ''
			THEN oidc_providers.client_secret ELSE excluded.client_secret END,
		enabled = excluded.enabled, updated_at = excluded.updated_at,
		updated_by = excluded.updated_by`)
	_, err := s.o.DB.ExecContext(ctx, q, in.Slug, in.Name, in.Issuer, in.ClientID, sealed,
		in.Enabled, now, actorID)
	if err != nil {
		return fmt.Errorf("save provider: %w", err)
	}
	return nil
}

// DeleteProvider removes an added provider; Google can only be switched off.
func (s *Service) DeleteProvider(ctx context.Context, slug string) error {
	if slug == Google {
		return fault.New(fault.Invalid, "Google is built in: switch it off instead.")
	}
	q := s.o.DB.Rebind(`DELETE FROM oidc_providers WHERE slug = ?`)
	res, err := s.o.DB.ExecContext(ctx, q, slug)
	if err != nil {
		return fmt.Errorf("delete provider: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNoProvider
	}
	return nil
}

// secretAD binds a sealed client secret to its provider.
func secretAD(slug string) string { return "oidc:" + slug }
