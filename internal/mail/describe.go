package mail

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strconv"
	"strings"

	gomail "github.com/wneessen/go-mail"
)

// Describe says in a few safe words why a delivery failed, for an administrator: it names
// the step that failed and the server's reply code, never the server's text or a secret.
func Describe(err error) string {
	var se *gomail.SendError
	if errors.As(err, &se) {
		if code := se.ErrorCode(); code != 0 {
			return "the SMTP server refused the message (reply " + strconv.Itoa(code) + ")"
		}
		return "the SMTP server refused the message"
	}

	var cve *tls.CertificateVerificationError
	var uae x509.UnknownAuthorityError
	var hne x509.HostnameError
	var ne net.Error
	text := strings.ToLower(err.Error())
	switch {
	case errors.As(err, &cve) || errors.As(err, &uae) || errors.As(err, &hne):
		return "the SMTP server's TLS certificate is not trusted for this host name"
	case strings.Contains(text, "starttls"):
		return "the SMTP server does not offer STARTTLS; choose tls or another port"
	case strings.Contains(text, "tls"):
		return "the TLS handshake with the SMTP server failed; check the port and TLS mode"
	case strings.Contains(text, "auth"):
		return "the SMTP server refused the user name or password"
	case errors.As(err, &ne) && ne.Timeout():
		return "the SMTP server did not answer in time"
	case strings.Contains(text, "dial") || strings.Contains(text, "connect"):
		return "could not connect to the SMTP server; check the host and port"
	}
	return "the SMTP conversation failed"
}

// permanent reports whether the server refused a message for good (a 5xx reply), so that
// retrying is pointless.
func permanent(err error) bool {
	var se *gomail.SendError
	return errors.As(err, &se) && se.ErrorCode() >= 500
}
