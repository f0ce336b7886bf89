package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/url"
	"path"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Pinger is a Store that can tell whether it answers, for the readiness probe.
type Pinger interface {
	Ping(ctx context.Context) error
}

// S3Options configure an S3 store.
type S3Options struct {
	// Endpoint is the store's scheme and host, such as https://s3.eu-west-1.amazonaws.com.
	Endpoint        string
	Bucket          string
	Region          string
	AccessKeyID     string
	SecretAccessKey string
	// Prefix is put, with a slash, before every key; empty for none.
	Prefix string
	// PathStyle is "true" (bucket in the path), "false" (bucket in the host name) or
	// anything else to let the client decide from the host.
	PathStyle string
}

const (
	// partSize is the size of the parts of a multipart upload, and the most Put holds in
	// memory before it starts one: a smaller file goes in one request of a known size.
	// With S3's 10,000 parts it allows files of 80 GB.
	partSize = 8 << 20

	// startTimeout bounds the bucket check at start; pingTimeout the readiness probe's.
	startTimeout = 10 * time.Second
	pingTimeout  = 3 * time.Second
)

// S3 is a Store in a bucket of an S3-compatible object store (Amazon S3, MinIO, Garage,
// Cloudflare R2, ...), so that many instances share the same files.
type S3 struct {
	client   minio.Core
	endpoint string
	bucket   string
	prefix   string
}

// NewS3 returns a Store in o's bucket after checking, within a few seconds, that the bucket
// exists and that the credentials open it: a mistake stops the start rather than the first
// upload. Errors name the setting to correct and never carry the secret key.
func NewS3(ctx context.Context, o S3Options) (*S3, error) {
	u, err := url.Parse(o.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("S3 endpoint must be an http or https URL")
	}
	lookup := minio.BucketLookupAuto
	switch o.PathStyle {
	case "true":
		lookup = minio.BucketLookupPath
	case "false":
		lookup = minio.BucketLookupDNS
	}
	c, err := minio.New(u.Host, &minio.Options{
		Creds:        credentials.NewStaticV4(o.AccessKeyID, o.SecretAccessKey, ""),
		Secure:       u.Scheme == "https",
		Region:       o.Region,
		BucketLookup: lookup,
		MaxRetries:   3,
	})
	if err != nil {
		return nil, fmt.Errorf("S3 client for %s: %w", o.Endpoint, err)
	}

	s := &S3{client: minio.Core{Client: c}, endpoint: o.Endpoint, bucket: o.Bucket,
		prefix: o.Prefix}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Ping checks that the bucket still answers, within a few seconds.
func (s *S3) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	return s.check(ctx)
}

// check asks for the bucket (one HEAD request) and explains what went wrong. The check needs
// s3:ListBucket, which S3 also needs to answer "no such key" rather than "access denied"
// for a missing file.
func (s *S3) check(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err == nil && ok {
		return nil
	}
	if err == nil {
		return fmt.Errorf("S3 bucket %q does not exist at %s: create it, or correct "+
			"S3_BUCKET or S3_REGION (or S3_ENDPOINT, if that address is not an S3 server)",
			s.bucket, s.endpoint)
	}
	if code := refused(err); code != "" {
		return fmt.Errorf("S3 at %s refused access to bucket %q (%s): check "+
			"S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, S3_REGION and that the key may list "+
			"the bucket", s.endpoint, s.bucket, code)
	}
	return fmt.Errorf("S3 bucket %q at %s did not answer: %w", s.bucket, s.endpoint, err)
}

// refused returns the S3 error code of a refusal of the credentials, or "".
func refused(err error) string {
	var r minio.ErrorResponse
	if !errors.As(err, &r) || (r.StatusCode != 401 && r.StatusCode != 403) {
		return ""
	}
	if r.Code == "" {
		return "AccessDenied"
	}
	return r.Code
}

// notFound reports whether err is S3's answer for a missing object.
func notFound(err error) bool {
	var r minio.ErrorResponse
	return errors.As(err, &r) && r.Code == minio.NoSuchKey
}

// name returns the object name of key.
func (s *S3) name(key string) (string, error) {
	if !validKey(key) {
		return "", fmt.Errorf("invalid blob key %q", key)
	}
	if s.prefix == "" {
		return key, nil
	}
	return s.prefix + "/" + key, nil
}

// contentType is the type of a key's extension, so the object store labels files properly.
func contentType(key string) string {
	if t := mime.TypeByExtension(path.Ext(key)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// Put stores r under key. Files up to partSize go up in one request of a known size; larger
// ones are streamed as a multipart upload, one part in memory at a time. Either way the
// object appears whole or not at all.
func (s *S3) Put(ctx context.Context, key string, r io.Reader) error {
	name, err := s.name(key)
	if err != nil {
		return err
	}
	r = contextReader{ctx, r}
	opts := minio.PutObjectOptions{ContentType: contentType(key), PartSize: partSize}

	var head bytes.Buffer
	n, err := io.CopyN(&head, r, partSize)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read blob: %w", err)
	}
	if errors.Is(err, io.EOF) {
		// minio-go sends an empty body over http as chunked data of unknown length,
		// which S3 refuses; unsigned, it goes with a length of 0.
		opts.DisableContentSha256 = n == 0
		_, err = s.client.Client.PutObject(ctx, s.bucket, name,
			bytes.NewReader(head.Bytes()), n, opts)
	} else {
		_, err = s.client.Client.PutObject(ctx, s.bucket, name,
			io.MultiReader(&head, r), -1, opts)
	}
	if err != nil {
		return fmt.Errorf("store blob in S3: %w", err)
	}
	return nil
}

// Open starts reading the object under key (one GET) and returns it with its size. The
// file reads with ctx, which must last as long as the file is read.
func (s *S3) Open(ctx context.Context, key string) (File, int64, error) {
	name, err := s.name(key)
	if err != nil {
		return nil, 0, err
	}
	body, info, _, err := s.client.GetObject(ctx, s.bucket, name, minio.GetObjectOptions{})
	if notFound(err) {
		return nil, 0, ErrNotFound
	}
	if err != nil {
		return nil, 0, fmt.Errorf("open blob in S3: %w", err)
	}
	f := &s3File{ctx: ctx, s: s, name: name, etag: info.ETag, size: info.Size, body: body}
	return f, info.Size, nil
}

// Delete removes the object under key; a missing object is not an error.
func (s *S3) Delete(ctx context.Context, key string) error {
	name, err := s.name(key)
	if err != nil {
		return err
	}
	err = s.client.RemoveObject(ctx, s.bucket, name, minio.RemoveObjectOptions{})
	if err != nil && !notFound(err) {
		return fmt.Errorf("delete blob in S3: %w", err)
	}
	return nil
}

// s3File is an object read from any offset. It keeps the open response while reads follow
// one another, and after a seek elsewhere asks for the rest of the object from there, on
// condition that it is still the same object (If-Match on its ETag).
type s3File struct {
	ctx  context.Context
	s    *S3
	name string
	etag string
	size int64
	off  int64 // where the next Read starts

	body    io.ReadCloser // the open response, nil when none
	bodyOff int64         // where body's next byte is in the object
	closed  bool
}

// Read reads from the current offset.
func (f *s3File) Read(p []byte) (int, error) {
	if f.closed {
		return 0, fs.ErrClosed
	}
	if f.off >= f.size {
		return 0, io.EOF
	}
	// The open response may hold data already received; a request that has ended stops
	// here rather than when the connection notices.
	if err := f.ctx.Err(); err != nil {
		return 0, err
	}
	if f.body == nil || f.bodyOff != f.off {
		if err := f.reopen(); err != nil {
			return 0, err
		}
	}

	n, err := f.body.Read(p)
	f.off += int64(n)
	f.bodyOff += int64(n)
	if errors.Is(err, io.EOF) && f.off < f.size {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// reopen replaces the response with one that starts at the current offset.
func (f *s3File) reopen() error {
	f.closeBody()
	var opts minio.GetObjectOptions
	if f.off > 0 { // SetRange(0, 0) would ask for the first byte only
		if err := opts.SetRange(f.off, 0); err != nil {
			return fmt.Errorf("read blob in S3: %w", err)
		}
	}
	if f.etag != "" {
		if err := opts.SetMatchETag(f.etag); err != nil {
			return fmt.Errorf("read blob in S3: %w", err)
		}
	}
	body, _, _, err := f.s.client.GetObject(f.ctx, f.s.bucket, f.name, opts)
	if err != nil {
		return fmt.Errorf("read blob in S3 from offset %d: %w", f.off, err)
	}
	f.body, f.bodyOff = body, f.off
	return nil
}

// Seek sets the offset of the next Read; it costs no request.
func (f *s3File) Seek(offset int64, whence int) (int64, error) {
	if f.closed {
		return 0, fs.ErrClosed
	}
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += f.off
	case io.SeekEnd:
		offset += f.size
	default:
		return 0, errors.New("seek blob: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("seek blob: negative position")
	}
	f.off = offset
	return offset, nil
}

// Close ends the open response.
func (f *s3File) Close() error {
	if f.closed {
		return fs.ErrClosed
	}
	f.closed = true
	f.closeBody()
	return nil
}

func (f *s3File) closeBody() {
	if f.body != nil {
		f.body.Close()
		f.body = nil
	}
}
