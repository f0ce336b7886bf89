// Package blob stores files such as images under opaque keys. The embedded default (Disk)
// keeps them in a local directory; S3 keeps them in a bucket that many instances share.
// Every key is made by SketchMaker, never taken from a request.
package blob

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrNotFound is returned for a key that holds nothing.
var ErrNotFound = errors.New("blob not found")

// File is an open stored file that can be read from any offset, as http.ServeContent needs.
type File interface {
	io.ReadSeekCloser
}

// Store keeps files under keys.
type Store interface {
	// Put stores everything read from r under key, replacing what was there.
	Put(ctx context.Context, key string, r io.Reader) error
	// Open returns the file under key, or ErrNotFound. The file may go on reading with
	// ctx, which must last until the file is closed.
	Open(ctx context.Context, key string) (File, int64, error)
	// Delete removes the file under key; a missing file is not an error.
	Delete(ctx context.Context, key string) error
}

// NewKey returns a fresh random key under prefix, such as "images/ab/abcdef....png".
func NewKey(prefix, ext string) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	name := hex.EncodeToString(b)
	return prefix + "/" + name[:2] + "/" + name + ext
}

// validKey reports whether key is one SketchMaker could have made: lowercase letters,
// digits, dots, dashes, underscores and slashes, with no empty, "." or ".." segments.
func validKey(key string) bool {
	if key == "" || len(key) > 200 {
		return false
	}
	for _, r := range key {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' ||
			r == '.' || r == '-' || r == '_' || r == '/'
		if !ok {
			return false
		}
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// Disk is a Store in a local directory.
type Disk struct {
	root string
}

// NewDisk returns a Store rooted at dir, creating it with owner-only permissions.
func NewDisk(dir string) (*Disk, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create blob directory: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("blob directory: %w", err)
	}
	return &Disk{root: abs}, nil
}

func (d *Disk) path(key string) (string, error) {
	if !validKey(key) {
		return "", fmt.Errorf("invalid blob key %q", key)
	}
	return filepath.Join(d.root, filepath.FromSlash(key)), nil
}

// Put writes the file to a temporary name and renames it into place, so readers never see
// half a file.
func (d *Disk) Put(ctx context.Context, key string, r io.Reader) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("create blob folder: %w", err)
	}

	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return fmt.Errorf("create blob: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, contextReader{ctx, r}); err != nil {
		tmp.Close()
		return fmt.Errorf("write blob: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close blob: %w", err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return fmt.Errorf("store blob: %w", err)
	}
	return nil
}

// Open returns the stored file and its size.
func (d *Disk) Open(_ context.Context, key string) (File, int64, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, 0, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, ErrNotFound
	}
	if err != nil {
		return nil, 0, fmt.Errorf("open blob: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("stat blob: %w", err)
	}
	return f, st.Size(), nil
}

// Delete removes the file under key.
func (d *Disk) Delete(_ context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete blob: %w", err)
	}
	return nil
}

// contextReader stops a copy when its context ends.
type contextReader struct {
	ctx context.Context
	r   io.Reader
}

func (c contextReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
