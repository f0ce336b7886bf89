// Package s3test runs an S3-compatible server inside the test process (gofakes3 in memory,
// served by httptest), so that blob storage is tested against the real protocol with no
// network. It refuses requests signed with another access key id, as S3 does, and decodes
// the signed chunks (aws-chunked) that minio-go sends over plain http in the parts of a
// multipart upload, which gofakes3 decodes only in a whole-object PUT.
package s3test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// The credentials and bucket every Server expects.
const (
	Bucket          = "sketchmaker-test"
	AccessKeyID     = "AKIATESTSKETCHMAKER0"
	SecretAccessKey = "test-secret-access-key-0123456789abcdef"
)

// Request is one request the server received.
type Request struct {
	Method string
	Path   string
	Query  url.Values
}

// Server is a running fake S3 endpoint holding Bucket.
type Server struct {
	URL string

	http     *httptest.Server
	backend  *s3mem.Backend
	mu       sync.Mutex
	requests []Request
}

// New starts a server with an empty Bucket, stopped when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{backend: s3mem.New()}
	if err := s.backend.CreateBucket(Bucket); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	fake := gofakes3.New(s.backend, gofakes3.WithoutVersioning())
	s.http = httptest.NewUnstartedServer(s.guard(fake.Server()))
	// gofakes3 writes a status twice for some errors, which net/http would log.
	s.http.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.http.Start()
	t.Cleanup(s.http.Close)
	s.URL = s.http.URL
	return s
}

// Close stops the server, as an outage would.
func (s *Server) Close() {
	s.http.CloseClientConnections()
	s.http.Close()
}

// Env returns the configuration that points SketchMaker at the server.
func (s *Server) Env() map[string]string {
	return map[string]string{"S3_ENDPOINT": s.URL, "S3_BUCKET": Bucket,
		"S3_ACCESS_KEY_ID": AccessKeyID, "S3_SECRET_ACCESS_KEY": SecretAccessKey,
		"S3_PATH_STYLE": "true"}
}

// guard records each request and refuses one signed with another access key id.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path,
			Query: r.URL.Query()})
		s.mu.Unlock()

		auth := r.Header.Get("Authorization")
		if !strings.Contains(auth, "Credential="+AccessKeyID+"/") {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error>`+
				`<Code>InvalidAccessKeyId</Code><Message>The AWS Access Key Id you provided `+
				`does not exist in our records.</Message></Error>`)
			return
		}
		if err := unchunkPart(r); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// unchunkPart replaces the body of an aws-chunked upload part with the data it carries.
func unchunkPart(r *http.Request) error {
	q := r.URL.Query()
	if r.Header.Get("X-Amz-Content-Sha256") != "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" ||
		q.Get("uploadId") == "" || q.Get("partNumber") == "" {
		return nil
	}
	var data bytes.Buffer
	br := bufio.NewReader(r.Body)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return err
		}
		sizeHex, _, _ := strings.Cut(strings.TrimSpace(line), ";")
		size, err := strconv.ParseInt(sizeHex, 16, 64)
		if err != nil || size < 0 {
			return fmt.Errorf("bad chunk header %q", line)
		}
		if size == 0 {
			break
		}
		if _, err := io.CopyN(&data, br, size+2); err != nil { // the data and its CRLF
			return err
		}
		data.Truncate(data.Len() - 2)
	}
	r.Body.Close()
	r.Body = io.NopCloser(&data)
	r.ContentLength = int64(data.Len())
	r.Header.Set("Content-Length", strconv.Itoa(data.Len()))
	r.Header.Del("X-Amz-Content-Sha256")
	return nil
}

// Requests returns the requests received so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Keys returns the names of the objects in Bucket, sorted.
func (s *Server) Keys(t testing.TB) []string {
	t.Helper()
	list, err := s.backend.ListBucket(Bucket, nil, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatalf("list bucket: %v", err)
	}
	var keys []string
	for _, c := range list.Contents {
		keys = append(keys, c.Key)
	}
	slices.Sort(keys)
	return keys
}

// Object returns the bytes and the content type stored under name.
func (s *Server) Object(t testing.TB, name string) ([]byte, string) {
	t.Helper()
	obj, err := s.backend.GetObject(Bucket, name, nil)
	if err != nil {
		t.Fatalf("get %s: %v", name, err)
	}
	defer obj.Contents.Close()
	b, err := io.ReadAll(obj.Contents)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return b, obj.Metadata["Content-Type"]
}
