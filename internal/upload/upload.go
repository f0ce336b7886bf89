// Package upload receives the images people send: training sets now, image-to-image and
// editing later. Every file is streamed to a private temporary folder under a hard size
// limit, recognised by its bytes, optionally scanned for malware, checked and cleaned by the
// media package (dimensions before decoding, EXIF orientation applied, re-encoded without
// metadata), and stored under random blob keys with two WebP thumbnails. A ZIP archive is
// unpacked entry by entry under limits on entries and unpacked size, each entry going through
// the same pipeline; nothing of an archive is kept unless all of it is accepted.
//
// The client's file name is kept only as cleaned display text and never becomes part of a
// path. Refusals are fault errors whose message names the file and says what to do.
package upload

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/blob"
	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/media"
)

// Sides of the two thumbnails stored with every upload.
const (
	ThumbSide   = 256
	PreviewSide = 768
)

// thumbQuality is the WebP quality of thumbnails.
const thumbQuality = 80

// Upload is an accepted image: cleaned, stored under random keys, with its thumbnails.
type Upload struct {
	ID          string `db:"id"`
	UserID      int64  `db:"user_id"`
	BatchID     string `db:"batch_id"` // shared by the images of one archive
	DisplayName string `db:"display_name"`
	Format      string `db:"format"`
	Width       int    `db:"width"`
	Height      int    `db:"height"`
	SizeBytes   int64  `db:"size_bytes"`
	BlobKey     string `db:"blob_key"`
	ThumbKey    string `db:"thumb_key"`
	PreviewKey  string `db:"preview_key"`
	CreatedAt   int64  `db:"created_at"`
}

// Accepted is what one received file became: one image, or every image of an archive.
type Accepted struct {
	Uploads []*Upload
	Batch   string // the archive's batch id; empty for a single image
}

// Scanner checks a file for malware. Scan returns nil for a clean file, an error wrapping
// ErrInfected when malware was found, and any other error when it could not decide.
type Scanner interface {
	Scan(ctx context.Context, r io.Reader) error
}

// ErrInfected is what a Scanner's verdict on malware wraps. The clamd client's
// clamd.ErrInfected is adapted to it where the service is wired.
var ErrInfected = errors.New("malware found")

// Options configure a Service.
type Options struct {
	Limits  media.Limits  // per file; a zero field takes the media default
	Archive ArchiveLimits // a zero field takes its default
	TempDir string        // where files are spooled while they are checked; created if missing

	// DecodeBudget is how many bytes of decoded pixels may be held at once by the uploads
	// being cleaned; zero takes DefaultDecodeBudget. A larger picture is cleaned alone.
	DecodeBudget int64

	Scanner  Scanner // nil: no malware scan
	FailOpen bool    // accept files while the scanner cannot be reached

	Log *slog.Logger
	Now func() time.Time
}

// Service accepts uploads and keeps their records.
type Service struct {
	db      *database.DB
	blobs   blob.Store
	opts    Options
	decodes *admission
}

// New returns an upload service. Files are decoded and re-encoded while their pixels fit
// in Options.DecodeBudget together, and at most GOMAXPROCS at once, so that a burst of
// large uploads waits on disk instead of filling memory.
func New(db *database.DB, blobs blob.Store, o Options) (*Service, error) {
	if o.TempDir == "" {
		return nil, errors.New("upload: no temporary directory configured")
	}
	if err := os.MkdirAll(o.TempDir, 0o700); err != nil {
		return nil, fmt.Errorf("create upload temporary directory: %w", err)
	}
	o.Limits = withDefaults(o.Limits)
	o.Archive = o.Archive.withDefaults()
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.DecodeBudget <= 0 {
		o.DecodeBudget = DefaultDecodeBudget
	}
	return &Service{db: db, blobs: blobs, opts: o,
		decodes: newAdmission(o.DecodeBudget, runtime.GOMAXPROCS(0), o.Log)}, nil
}

// withDefaults fills the zero fields of l with the media package's defaults.
func withDefaults(l media.Limits) media.Limits {
	d := media.DefaultLimits()
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxSide <= 0 {
		l.MaxSide = d.MaxSide
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = d.MaxPixels
	}
	return l
}

// Limits returns the per-file limits in force.
func (s *Service) Limits() media.Limits { return s.opts.Limits }

// Accept receives one file of userID: an image, or a ZIP archive of images. filename is the
// client's name for it, used only for display and for the extension check. Nothing is stored
// when the file is refused.
func (s *Service) Accept(ctx context.Context, userID int64, filename string,
	r io.Reader) (*Accepted, error) {
	name := media.DisplayName(filename)
	dir, err := os.MkdirTemp(s.opts.TempDir, "upload-")
	if err != nil {
		return nil, fmt.Errorf("create upload folder: %w", err)
	}
	defer os.RemoveAll(dir)

	kind, path, err := s.spool(dir, name, r)
	if err != nil {
		if errors.Is(err, errRead) {
			return nil, interrupted(err)
		}
		return nil, err
	}
	if err := s.scan(ctx, userID, name, path); err != nil {
		return nil, err
	}

	if kind == kindArchive {
		return s.acceptArchive(ctx, userID, name, dir, path)
	}
	u, err := s.store(ctx, userID, "", name, label(name), path)
	if err != nil {
		return nil, err
	}
	return &Accepted{Uploads: []*Upload{u}}, nil
}

// label is how messages name a file.
func label(name string) string {
	if name == "" {
		return "The file"
	}
	return name
}

// interrupted answers a request body that stopped or broke while it was read. The cause
// stays wrapped, so the web layer can still recognise its own body limit in it.
func interrupted(err error) error {
	return fault.Wrap(fault.Invalid, "The upload was interrupted before it was complete. "+
		"Please try again.", err)
}

// scan runs the malware scanner over a spooled file, when one is configured.
func (s *Service) scan(ctx context.Context, userID int64, name, path string) error {
	if s.opts.Scanner == nil {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open spooled upload: %w", err)
	}
	defer f.Close()

	err = s.opts.Scanner.Scan(ctx, f)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrInfected):
		s.opts.Log.Warn("upload refused by the malware scanner", "user_id", userID,
			"verdict", err.Error())
		return fault.Wrap(fault.Invalid, fmt.Sprintf("%s was refused: the virus scanner "+
			"found malware in it. Nothing was stored.", label(name)), err)
	case s.opts.FailOpen:
		s.opts.Log.Warn("malware scanner unavailable; accepting the upload unscanned "+
			"(CLAMAV_FAIL_OPEN)", "user_id", userID, "error", err)
		return nil
	}
	s.opts.Log.Error("malware scanner unavailable; refusing uploads", "error", err)
	return fault.Wrap(fault.Unavailable, "Uploads are paused because the virus scanner is "+
		"not answering. Try again in a few minutes; if it keeps happening, tell your "+
		"administrator.", err)
}

// newID returns a fresh random id of 32 hexadecimal digits.
func newID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return hex.EncodeToString(b)
}

// validID reports whether id could be one newID made.
func validID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
