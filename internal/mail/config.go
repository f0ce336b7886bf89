package mail

import (
	"context"
	"fmt"
	"net"
	"strings"

	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/secret"
)

// passwordAD binds the sealed SMTP password to its settings key.
const passwordAD = "setting:" + KeyPassword

// Config returns the effective SMTP settings: the environment's, overridden by every value
// an administrator saved.
func (s *Sender) Config(ctx context.Context) (Settings, error) {
	cfg := s.o.Defaults
	if s.o.Settings == nil {
		return cfg, nil
	}
	for _, key := range []string{KeyHost, KeyPort, KeyUsername, KeyFrom, KeyTLS, KeyPassword} {
		v, ok, err := s.o.Settings.Get(ctx, key)
		if err != nil {
			return cfg, err
		}
		if !ok {
			continue
		}
		if err := s.apply(&cfg, key, v); err != nil {
			return cfg, err
		}
	}
	if cfg.From == "" {
		cfg.From = "SketchMaker <no-reply@" + fromDomain(s.o.SiteURL, cfg.Host) + ">"
	}
	return cfg, nil
}

func (s *Sender) apply(cfg *Settings, key, v string) error {
	switch key {
	case KeyHost:
		cfg.Host = v
	case KeyPort:
		p, err := ParsePort(v)
		if err != nil {
			return fmt.Errorf("setting %s: %w", key, err)
		}
		cfg.Port = p
	case KeyUsername:
		cfg.Username = v
	case KeyFrom:
		cfg.From = v
	case KeyTLS:
		cfg.TLS = v
	case KeyPassword:
		if v == "" {
			cfg.Password = ""
			return nil
		}
		pw, err := s.o.Keys.Open(v, passwordAD)
		if err != nil {
			return fmt.Errorf("open the saved SMTP password: %w", err)
		}
		cfg.Password = string(pw)
	}
	return nil
}

// fromDomain picks a domain for the default sender: the site's host, else the SMTP host.
func fromDomain(siteURL, smtpHost string) string {
	host := strings.TrimPrefix(strings.TrimPrefix(siteURL, "https://"), "http://")
	if i := strings.IndexAny(host, ":/"); i >= 0 {
		host = host[:i]
	}
	if host == "" || host == "localhost" || net.ParseIP(host) != nil {
		host = smtpHost
	}
	if host == "" || net.ParseIP(host) != nil {
		host = "localhost"
	}
	return host
}

// Public is the SMTP configuration as an administrator may see it: the password only as
// whether it is set and its last characters.
type Public struct {
	Settings
	PasswordSet   bool
	PasswordLast4 string
}

// PublicConfig returns the effective settings without the password.
func (s *Sender) PublicConfig(ctx context.Context) (Public, error) {
	cfg, err := s.Config(ctx)
	p := Public{Settings: cfg, PasswordSet: cfg.Password != "",
		PasswordLast4: secret.Last4(cfg.Password)}
	p.Password = ""
	return p, err
}

// SaveConfig stores settings that override the environment. An empty Password keeps the
// saved one; use ClearPassword to remove it. The password is sealed with the key ring, so
// saving one needs API_KEY_ENCRYPTION_KEY. It returns the names of the settings that
// changed, for the audit log.
func (s *Sender) SaveConfig(ctx context.Context, in Settings, actorID int64) ([]string, error) {
	if in.Port == 0 {
		in.Port = 587
	}
	if in.TLS == "" {
		in.TLS = TLSStartTLS
	}
	in.Host, in.From = strings.TrimSpace(in.Host), strings.TrimSpace(in.From)
	check := in
	if check.From == "" {
		check.From = "x@example.com"
	}
	if err := check.Validate(); err != nil {
		return nil, err
	}

	vals := map[string]string{KeyHost: in.Host, KeyPort: fmt.Sprint(in.Port),
		KeyUsername: in.Username, KeyFrom: in.From, KeyTLS: in.TLS}
	if in.Password != "" {
		if s.o.Keys == nil {
			return nil, fault.Field("smtp_password", "Set API_KEY_ENCRYPTION_KEY before "+
				"saving an SMTP password: it is stored encrypted with that key.")
		}
		sealed, err := s.o.Keys.Seal([]byte(in.Password), passwordAD)
		if err != nil {
			return nil, fmt.Errorf("seal the SMTP password: %w", err)
		}
		vals[KeyPassword] = sealed
	}

	var changed []string
	for _, key := range []string{KeyHost, KeyPort, KeyUsername, KeyFrom, KeyTLS, KeyPassword} {
		v, ok := vals[key]
		if !ok {
			continue
		}
		old, err := s.o.Settings.Set(ctx, key, v, actorID)
		if err != nil {
			return changed, err
		}
		if old != v {
			changed = append(changed, key)
		}
	}
	s.notify()
	return changed, nil
}

// ClearPassword removes a saved SMTP password, so that the environment's applies again.
func (s *Sender) ClearPassword(ctx context.Context) error {
	return s.o.Settings.Delete(ctx, KeyPassword)
}
