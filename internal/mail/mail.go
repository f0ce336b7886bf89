// Package mail sends SketchMaker's email: account messages rendered from embedded
// templates (an HTML and a plain-text part each, auto-escaped), kept in a durable outbox
// table and delivered over SMTP by a background loop with retries. With no SMTP server
// configured, messages stay in the outbox, where the superadmin can read them, and the log
// says that a message was queued, never what it says.
package mail

import (
	"context"
	"fmt"
	"net"
	"net/mail"
	"strconv"
	"strings"

	"github.com/sketchmaker/sketchmaker/internal/fault"
)

// Message is one rendered email.
type Message struct {
	To       string
	Subject  string
	Text     string
	HTML     string
	Template string // the template it was rendered from, for the outbox listing
}

// The TLS modes of an SMTP connection.
const (
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS, which is required
	TLSImplicit = "tls"      // TLS from the first byte (SMTPS, usually port 465)
	TLSNone     = "none"     // no encryption: only for a relay on the same host
)

// Settings say how to reach the SMTP server. An empty Host means mail is not sent but kept
// in the outbox.
type Settings struct {
	Host     string
	Port     int
	Username string
	Password string
	From     string
	TLS      string
}

// Configured reports whether an SMTP server is set.
func (s Settings) Configured() bool { return s.Host != "" }

// Validate checks the settings and says what to fix.
func (s Settings) Validate() error {
	if s.Host == "" {
		return nil
	}
	if strings.ContainsAny(s.Host, " /:\r\n") && net.ParseIP(s.Host) == nil {
		return fault.Field("smtp_host", "The SMTP host must be a host name or an IP "+
			"address, without a scheme or port.")
	}
	if s.Port < 1 || s.Port > 65535 {
		return fault.Field("smtp_port", "The SMTP port must be a number from 1 to 65535.")
	}
	switch s.TLS {
	case TLSStartTLS, TLSImplicit:
	case TLSNone:
		if s.Username != "" && !isLoopback(s.Host) {
			return fault.Field("smtp_tls", "SMTP without TLS would send the password in "+
				"clear text; use starttls or tls, or a relay on this host.")
		}
	default:
		return fault.Field("smtp_tls", "The SMTP TLS mode must be starttls, tls or none.")
	}
	if _, err := ParseFrom(s.From); err != nil {
		return err
	}
	return nil
}

// ParseFrom checks a sender such as "SketchMaker <studio@example.com>".
func ParseFrom(from string) (*mail.Address, error) {
	a, err := mail.ParseAddress(from)
	if err != nil || strings.ContainsAny(from, "\r\n") {
		return nil, fault.Field("smtp_from", "The sender must be an address such as "+
			"studio@example.com or SketchMaker <studio@example.com>.")
	}
	return a, nil
}

// ParsePort reads a port number given as text, such as SMTP_PORT.
func ParsePort(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("%q is not a port number from 1 to 65535", s)
	}
	return n, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Transport delivers one message with the given settings.
type Transport interface {
	Deliver(ctx context.Context, s Settings, m Message) error
}
