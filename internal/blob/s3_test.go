package blob

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/blob/s3test"
)

func testOptions(srv *s3test.Server, prefix string) S3Options {
	return S3Options{Endpoint: srv.URL, Bucket: s3test.Bucket, Region: "us-east-1",
		AccessKeyID: s3test.AccessKeyID, SecretAccessKey: s3test.SecretAccessKey,
		Prefix: prefix, PathStyle: "true"}
}

func newTestS3(t *testing.T, srv *s3test.Server, prefix string) *S3 {
	t.Helper()
	s, err := NewS3(context.Background(), testOptions(srv, prefix))
	if err != nil {
		t.Fatalf("NewS3: %v", err)
	}
	return s
}

// countRequests returns how many requests since skip had method and, when query is not
// empty, that query parameter.
func countRequests(srv *s3test.Server, skip int, method, query string) int {
	n := 0
	for _, r := range srv.Requests()[skip:] {
		if _, ok := r.Query[query]; r.Method == method && (query == "" || ok) {
			n++
		}
	}
	return n
}

func TestS3KeysPrefixAndContentTypes(t *testing.T) {
	for _, prefix := range []string{"", "tenant/sketchmaker"} {
		srv := s3test.New(t)
		s := newTestS3(t, srv, prefix)
		want := map[string]string{NewKey("images", ".png"): "image/png",
			NewKey("thumbs", ".webp"): "image/webp", NewKey("images", ".jpg"): "image/jpeg",
			NewKey("trainings", ".bin"): "application/octet-stream"}
		var names []string
		for key, ctype := range want {
			put(t, s, key, []byte("data of "+key))
			name := key
			if prefix != "" {
				name = prefix + "/" + key
			}
			names = append(names, name)
			data, got := srv.Object(t, name)
			if string(data) != "data of "+key || got != ctype {
				t.Errorf("object %s holds %q as %q, want its data as %q", name, data, got, ctype)
			}
		}
		slices.Sort(names)
		if got := srv.Keys(t); !slices.Equal(got, names) {
			t.Fatalf("prefix %q: bucket holds %v, want %v", prefix, got, names)
		}

		for key := range want {
			if err := s.Delete(context.Background(), key); err != nil {
				t.Fatal(err)
			}
		}
		if got := srv.Keys(t); len(got) != 0 {
			t.Fatalf("prefix %q: after deleting everything the bucket holds %v", prefix, got)
		}
	}
}

func TestS3SmallPutIsOneRequestLargeIsMultipart(t *testing.T) {
	srv := s3test.New(t)
	s := newTestS3(t, srv, "")

	before := len(srv.Requests())
	put(t, s, NewKey("thumbs", ".webp"), make([]byte, 40<<10))
	if n := len(srv.Requests()) - before; n != 1 || countRequests(srv, before, "PUT", "") != 1 {
		t.Fatalf("a small Put made %d requests, want one PUT: %+v", n,
			srv.Requests()[before:])
	}

	before = len(srv.Requests())
	key := NewKey("uploads", ".png")
	data := bytes.Repeat([]byte("0123456789abcdef"), (partSize*5/2)/16)
	if err := s.Put(context.Background(), key, onlyReader{bytes.NewReader(data)}); err != nil {
		t.Fatal(err)
	}
	if countRequests(srv, before, "POST", "uploads") != 1 ||
		countRequests(srv, before, "PUT", "partNumber") != 3 ||
		countRequests(srv, before, "POST", "uploadId") != 1 {
		t.Fatalf("a %d-byte Put did not go up as a 3-part multipart upload: %+v", len(data),
			srv.Requests()[before:])
	}
	if got, _ := srv.Object(t, key); !bytes.Equal(got, data) {
		t.Fatalf("the multipart object holds %d bytes that differ", len(got))
	}
}

// TestS3SeeksCostNoRequest checks that the file asks S3 again only when a read does not
// continue where the previous one stopped.
func TestS3SeeksCostNoRequest(t *testing.T) {
	srv := s3test.New(t)
	s := newTestS3(t, srv, "")
	key := NewKey("images", ".png")
	data := bytes.Repeat([]byte("pixel"), 200)
	put(t, s, key, data)

	before := len(srv.Requests())
	f, _, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Seek(0, io.SeekEnd)
	f.Seek(0, io.SeekStart)
	if got, err := io.ReadAll(f); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, %v", len(got), err)
	}
	if n := countRequests(srv, before, "GET", ""); n != 1 {
		t.Fatalf("open, two seeks and a whole read made %d GETs, want 1", n)
	}

	f.Seek(500, io.SeekStart)
	got := make([]byte, 5)
	if _, err := io.ReadFull(f, got); err != nil || !bytes.Equal(got, data[500:505]) {
		t.Fatalf("read %q, %v after seeking back", got, err)
	}
	if n := countRequests(srv, before, "GET", ""); n != 2 {
		t.Fatalf("a read after seeking back made %d GETs in all, want 2", n)
	}
}

func TestS3BadKeysNeverReachTheServer(t *testing.T) {
	srv := s3test.New(t)
	s := newTestS3(t, srv, "prefix")
	before := len(srv.Requests())
	ctx := context.Background()
	for _, key := range badKeys {
		s.Put(ctx, key, strings.NewReader("x"))
		s.Open(ctx, key)
		s.Delete(ctx, key)
	}
	if got := srv.Requests()[before:]; len(got) != 0 {
		t.Fatalf("bad keys sent %d requests: %+v", len(got), got)
	}
}

func TestS3HonoursEndedContexts(t *testing.T) {
	srv := s3test.New(t)
	s := newTestS3(t, srv, "")
	key := NewKey("images", ".png")
	put(t, s, key, bytes.Repeat([]byte("x"), 1<<20))

	done, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := s.Open(done, key); !errors.Is(err, context.Canceled) {
		t.Errorf("Open with an ended context: %v", err)
	}
	if err := s.Delete(done, key); !errors.Is(err, context.Canceled) {
		t.Errorf("Delete with an ended context: %v", err)
	}
	if err := s.Ping(done); err == nil {
		t.Errorf("Ping with an ended context succeeded")
	}

	// A file reads with the context it was opened with.
	ctx, cancel := context.WithCancel(context.Background())
	f, _, err := s.Open(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cancel()
	if _, err := io.ReadAll(f); err == nil {
		t.Error("reading a file whose context ended succeeded")
	}
	f.Seek(10, io.SeekStart)
	if _, err := f.Read(make([]byte, 10)); !errors.Is(err, context.Canceled) {
		t.Errorf("a read that needs a new request after the context ended: %v", err)
	}
	if got := read(t, s, key); len(got) != 1<<20 {
		t.Fatalf("the object was harmed: %d bytes", len(got))
	}
}

func TestNewS3RefusesWhatCannotWork(t *testing.T) {
	srv := s3test.New(t)
	missing := testOptions(srv, "")
	missing.Bucket = "no-such-bucket"
	wrongKey := testOptions(srv, "")
	wrongKey.AccessKeyID = "AKIAWRONGKEY00000000"
	unreachable := testOptions(srv, "")
	unreachable.Endpoint = "http://" + closedAddress(t)

	cases := []struct {
		name string
		o    S3Options
		want []string
	}{
		{"missing bucket", missing, []string{`"no-such-bucket" does not exist`, "S3_BUCKET"}},
		{"wrong key", wrongKey, []string{"refused", "S3_ACCESS_KEY_ID",
			"S3_SECRET_ACCESS_KEY"}},
		{"unreachable", unreachable, []string{"did not answer", unreachable.Endpoint}},
	}
	for _, c := range cases {
		start := time.Now()
		s, err := NewS3(context.Background(), c.o)
		if err == nil || s != nil {
			t.Errorf("%s: NewS3 succeeded", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not say %q", c.name, err, w)
			}
		}
		if strings.Contains(err.Error(), s3test.SecretAccessKey) {
			t.Errorf("%s: the error shows the secret key: %v", c.name, err)
		}
		if took := time.Since(start); took > startTimeout+time.Second {
			t.Errorf("%s: the check took %v", c.name, took)
		}
	}
}

// closedAddress returns a loopback address where nothing listens.
func closedAddress(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestS3PingFollowsTheServer(t *testing.T) {
	srv := s3test.New(t)
	s := newTestS3(t, srv, "")
	if err := s.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	srv.Close()
	if err := s.Ping(context.Background()); err == nil {
		t.Fatal("Ping succeeded after the server stopped")
	}
}

// TestS3ServesHTTPRanges runs a file through http.ServeContent, as the download routes do.
func TestS3ServesHTTPRanges(t *testing.T) {
	s := newTestS3(t, s3test.New(t), "")
	key := NewKey("images", ".png")
	data := bytes.Repeat([]byte("0123456789"), 100)
	put(t, s, key, data)

	f, _, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Range", "bytes=995-")
	w := httptest.NewRecorder()
	http.ServeContent(w, req, "", time.Time{}, f)
	if w.Code != http.StatusPartialContent || w.Body.String() != "56789" {
		t.Fatalf("range request: status %d, body %q", w.Code, w.Body.String())
	}
}
