package config

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
)

// Accounts holds mail delivery and the sign-in and registration rules. The superadmin can
// override all but the SMTP variables in the admin panel; the SMTP settings too, in the
// email settings.
type Accounts struct {
	SMTPHost     string
	SMTPPort     int
	SMTPUsername string
	SMTPPassword string
	SMTPFrom     string
	SMTPTLS      string // starttls, tls or none

	RequireVerification bool
	RequireApproval     bool
	RequireAdmin2FA     bool

	RegularAuth        bool
	GoogleAuth         bool
	GoogleClientID     string
	GoogleClientSecret string
	GoogleIssuer       string
}

func setSMTPPort(c *Config, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 65535 {
		return errors.New("must be a port number from 1 to 65535")
	}
	c.Accounts.SMTPPort = n
	return nil
}

func setSMTPTLS(c *Config, v string) error {
	switch strings.ToLower(v) {
	case "starttls", "tls", "none":
		c.Accounts.SMTPTLS = strings.ToLower(v)
		return nil
	}
	return fmt.Errorf("must be starttls, tls or none, not %q", v)
}

func setSMTPFrom(c *Config, v string) error {
	if v != "" {
		if _, err := mail.ParseAddress(v); err != nil || strings.ContainsAny(v, "\r\n") {
			return errors.New("must be an address such as studio@example.com or " +
				"SketchMaker <studio@example.com>")
		}
	}
	c.Accounts.SMTPFrom = v
	return nil
}

func setGoogleIssuer(c *Config, v string) error {
	u, err := url.Parse(v)
	ok := err == nil && u.Host != "" && u.User == nil &&
		(u.Scheme == "https" || u.Scheme == "http" && isLoopbackHost(u.Hostname()))
	if !ok {
		return errors.New("must be an https URL such as https://accounts.google.com")
	}
	c.Accounts.GoogleIssuer = strings.TrimRight(v, "/")
	return nil
}

func isLoopbackHost(h string) bool {
	ip := net.ParseIP(h)
	return h == "localhost" || ip != nil && ip.IsLoopback()
}
