package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// SMTP delivers messages to an SMTP server with go-mail: STARTTLS (required, never
// silently skipped), implicit TLS, or, for a relay on the same host, no TLS.
type SMTP struct {
	// RootCAs verifies the server's certificate; nil means the system's roots.
	RootCAs *x509.CertPool
	// Timeout bounds connecting and each command; zero means 20 seconds.
	Timeout time.Duration
}

// Deliver sends m through the server s describes.
func (t *SMTP) Deliver(ctx context.Context, s Settings, m Message) error {
	msg, err := build(s, m)
	if err != nil {
		return err
	}
	client, err := gomail.NewClient(s.Host, t.options(s)...)
	if err != nil {
		return fmt.Errorf("smtp client: %w", err)
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("smtp send: %w", err)
	}
	return nil
}

// options turns the settings into go-mail's client options.
func (t *SMTP) options(s Settings) []gomail.Option {
	timeout := t.Timeout
	if timeout == 0 {
		timeout = 20 * time.Second
	}
	tc := &tls.Config{ServerName: s.Host, RootCAs: t.RootCAs, MinVersion: tls.VersionTLS12}
	opts := []gomail.Option{gomail.WithPort(s.Port), gomail.WithTimeout(timeout),
		gomail.WithTLSConfig(tc)}

	switch s.TLS {
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if s.Username != "" {
		auth := gomail.SMTPAuthAutoDiscover
		if s.TLS == TLSNone {
			// Validate allows this only for a relay on a loopback address.
			auth = gomail.SMTPAuthPlainNoEnc
		}
		opts = append(opts, gomail.WithSMTPAuth(auth), gomail.WithUsername(s.Username),
			gomail.WithPassword(s.Password))
	}
	return opts
}

// build turns a rendered message into a MIME message with a text and an HTML part.
func build(s Settings, m Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	if err := msg.From(s.From); err != nil {
		return nil, fmt.Errorf("sender address: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("recipient address: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetMessageID()
	msg.SetDate()
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}
