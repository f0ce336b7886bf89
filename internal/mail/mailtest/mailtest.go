// Package mailtest runs a real SMTP server in process for tests (emersion/go-smtp), with
// plain, STARTTLS or implicit TLS connections and optional PLAIN authentication, and
// parses each received message into its subject and text and HTML parts, so that tests can
// read links and codes from the mail a user would get.
package mailtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// The connection security of a test server.
const (
	Plain    = "none"
	StartTLS = "starttls"
	Implicit = "tls"
)

// Options configure a test server.
type Options struct {
	TLS      string // Plain (default), StartTLS or Implicit
	Username string // when set, PLAIN authentication with Password is required
	Password string
}

// Received is one delivered message.
type Received struct {
	From    string
	To      []string
	Raw     []byte
	Subject string
	Text    string
	HTML    string
	Header  mail.Header
}

// Server is a running test SMTP server.
type Server struct {
	Host    string
	Port    int
	RootCAs *x509.CertPool // trusts the server's certificate

	opts     Options
	srv      *smtp.Server
	mu       sync.Mutex
	msgs     []Received
	arrived  chan struct{}
	failNext int
}

// Start runs a server until the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	if o.TLS == "" {
		o.TLS = Plain
	}
	s := &Server{opts: o, arrived: make(chan struct{}, 1000)}
	s.srv = smtp.NewServer(s)
	s.srv.Domain = "mail.test"
	s.srv.ReadTimeout, s.srv.WriteTimeout = 10*time.Second, 10*time.Second
	s.srv.MaxMessageBytes = 1 << 20

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mailtest listen: %v", err)
	}
	if o.TLS != Plain {
		cfg, pool := selfSigned(t)
		s.RootCAs = pool
		s.srv.TLSConfig = cfg
		if o.TLS == Implicit {
			ln = tls.NewListener(ln, cfg)
		}
	}
	go func() { _ = s.srv.Serve(ln) }()
	t.Cleanup(func() { _ = s.srv.Close() })

	addr := ln.Addr().(*net.TCPAddr)
	s.Host, s.Port = "127.0.0.1", addr.Port
	return s
}

// Addr returns host:port.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// FailNext makes the server refuse the next n messages with a temporary error (451).
func (s *Server) FailNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = n
}

// Messages returns every message received so far.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.msgs...)
}

// Wait returns the first message to addr whose subject contains subject, waiting up to
// ten seconds for it to arrive.
func (s *Server) Wait(t testing.TB, addr, subject string) Received {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		for _, m := range s.Messages() {
			if m.sentTo(addr) && strings.Contains(m.Subject, subject) {
				return m
			}
		}
		select {
		case <-s.arrived:
		case <-deadline:
			t.Fatalf("no message to %s with subject %q arrived; got %d others",
				addr, subject, len(s.Messages()))
			return Received{}
		}
	}
}

// Count returns how many messages went to addr.
func (s *Server) Count(addr string) int {
	n := 0
	for _, m := range s.Messages() {
		if m.sentTo(addr) {
			n++
		}
	}
	return n
}

func (m Received) sentTo(addr string) bool {
	for _, to := range m.To {
		if strings.EqualFold(to, addr) {
			return true
		}
	}
	return false
}

var (
	linkRE = regexp.MustCompile(`https?://[^\s<>"]+`)
	codeRE = regexp.MustCompile(`(?m)^\s*(\d{6})\s*$`)
)

// Link returns the first link in the text part whose path starts with prefix.
func (m Received) Link(prefix string) string {
	for _, l := range linkRE.FindAllString(m.Text, -1) {
		if i := strings.Index(l, "://"); i >= 0 {
			if j := strings.IndexByte(l[i+3:], '/'); j >= 0 &&
				strings.HasPrefix(l[i+3+j:], prefix) {
				return l
			}
		}
	}
	return ""
}

// Code returns the first six-digit code on a line of its own in the text part.
func (m Received) Code() string {
	if c := codeRE.FindStringSubmatch(m.Text); c != nil {
		return c[1]
	}
	return ""
}

// NewSession starts an SMTP session.
func (s *Server) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{srv: s, authed: s.opts.Username == ""}, nil
}

type session struct {
	srv    *Server
	authed bool
	from   string
	to     []string
}

func (ss *session) AuthMechanisms() []string {
	if ss.srv.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != ss.srv.opts.Username || pass != ss.srv.opts.Password {
			return errors.New("invalid credentials")
		}
		ss.authed = true
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if !ss.authed {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s := ss.srv
	s.mu.Lock()
	if s.failNext > 0 {
		s.failNext--
		s.mu.Unlock()
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0},
			Message: "try again later"}
	}
	m := parse(raw)
	m.From, m.To = ss.from, append([]string(nil), ss.to...)
	s.msgs = append(s.msgs, m)
	s.mu.Unlock()
	s.arrived <- struct{}{}
	return nil
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }

// parse reads a MIME message into its subject and parts; what it cannot read stays in Raw.
func parse(raw []byte) Received {
	m := Received{Raw: raw}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return m
	}
	m.Header = msg.Header
	dec := new(mime.WordDecoder)
	if subj, err := dec.DecodeHeader(msg.Header.Get("Subject")); err == nil {
		m.Subject = subj
	}
	readPart(&m, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"),
		msg.Body)
	return m
}

func readPart(m *Received, ctype, encoding string, body io.Reader) {
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		return
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err != nil {
				return
			}
			readPart(m, p.Header.Get("Content-Type"),
				p.Header.Get("Content-Transfer-Encoding"), p)
		}
	}

	var r io.Reader = body
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		r = newBase64Reader(body)
	}
	b, _ := io.ReadAll(r)
	switch mt {
	case "text/plain":
		m.Text = string(b)
	case "text/html":
		m.HTML = string(b)
	}
}

// selfSigned makes a certificate for 127.0.0.1 and localhost and a pool that trusts it.
func selfSigned(t testing.TB) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mailtest"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:        true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	cfg := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der},
		PrivateKey: key, Leaf: cert}}, MinVersion: tls.VersionTLS12}
	return cfg, pool
}
