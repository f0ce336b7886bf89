// Package outboundtest helps tests stand in for providers: an HTTPS test server whose
// certificate names the provider's real hosts, and a resolver that sends those names to it,
// so that the real outbound policy (HTTPS, allowed hosts, address checks) is exercised.
package outboundtest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is an HTTPS test server with its own certificate authority.
type Server struct {
	*httptest.Server
	Pool    *x509.CertPool
	CertPEM []byte
	// HostPort is the server's 127.0.0.1:port.
	HostPort string
}

// NewTLSServer starts an HTTPS server for h whose certificate is valid for 127.0.0.1 and
// every name in dnsNames (wildcards such as "*.fal.media" allowed).
func NewTLSServer(t testing.TB, h http.Handler, dnsNames ...string) *Server {
	t.Helper()
	certPEM, cert := makeCert(t, dnsNames)
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	u, _ := url.Parse(srv.URL)
	return &Server{Server: srv, Pool: pool, CertPEM: certPEM, HostPort: u.Host}
}

// WriteCA writes the server's certificate as a PEM file in a temporary directory and
// returns its path, for configuration that names a CA file.
func (s *Server) WriteCA(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, s.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Port returns the server's port.
func (s *Server) Port() string {
	_, port, _ := net.SplitHostPort(s.HostPort)
	return port
}

// makeCert returns a self-signed certificate for 127.0.0.1, ::1 and dnsNames.
func makeCert(t testing.TB, dnsNames []string) ([]byte, tls.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "outboundtest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              dnsNames,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return certPEM, cert
}

// Resolver answers host names from a table, like a DNS server the test controls. It
// counts lookups so tests can tell that a refused name was never dialled twice.
type Resolver struct {
	mu      sync.Mutex
	table   map[string][]netip.Addr
	Lookups int
}

// NewResolver returns a resolver answering names from pairs "name=ip,ip".
func NewResolver(pairs ...string) *Resolver {
	r := &Resolver{table: map[string][]netip.Addr{}}
	for _, p := range pairs {
		name, ips, _ := strings.Cut(p, "=")
		for _, ip := range strings.Split(ips, ",") {
			r.table[name] = append(r.table[name], netip.MustParseAddr(ip))
		}
	}
	return r
}

// LookupNetIP answers host from the table.
func (r *Resolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Lookups++
	ips, ok := r.table[strings.ToLower(host)]
	if !ok {
		return nil, fmt.Errorf("no such host %s", host)
	}
	return ips, nil
}
