package providertest

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/outbound/outboundtest"
)

// StartFAL starts a fake FAL outside a test, for the benchmark program, which has no
// testing.TB. Its certificate is httptest's own, valid for 127.0.0.1. Stop it with Close.
func StartFAL(delay time.Duration) (*FAL, error) {
	png, err := picturePNG()
	if err != nil {
		return nil, fmt.Errorf("draw fake result: %w", err)
	}
	f := &FAL{Key: "fal-bench-key", Delay: delay, started: map[string]time.Time{},
		counts: map[string]int{}, png: png}

	// FAL's queue API speaks HTTP/2, so every poll of a busy server shares a few
	// connections instead of opening one each.
	srv := httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE",
		Bytes: srv.Certificate().Raw})
	u, _ := url.Parse(srv.URL)
	f.Server = &outboundtest.Server{Server: srv, Pool: pool, CertPEM: certPEM, HostPort: u.Host}
	return f, nil
}

// EnvIn is Env for callers without a testing.TB: it writes the certificate into dir.
func (f *FAL) EnvIn(dir string) (map[string]string, error) {
	path := filepath.Join(dir, "fal-ca.pem")
	if err := os.WriteFile(path, f.CertPEM, 0o600); err != nil {
		return nil, fmt.Errorf("write fake FAL certificate: %w", err)
	}
	return map[string]string{
		"FAL_KEY": f.Key, "FAL_BASE_URL": f.URL, "PROVIDER_CA_FILE": path,
		"FAL_RESULT_HOSTS": "127.0.0.1",
	}, nil
}
