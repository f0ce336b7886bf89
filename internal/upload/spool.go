package upload

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/media"
)

// What a received file is, from its first bytes.
const (
	kindImage   = "image"
	kindArchive = "archive"
)

// errRead marks a failure to read what the client sent, as opposed to a refusal.
var errRead = errors.New("read upload")

// zipMagic are the first bytes of a ZIP archive: a local file header, or the end record of
// an empty archive.
var zipMagic = [][]byte{[]byte("PK\x03\x04"), []byte("PK\x05\x06")}

// spool recognises what r holds from its first bytes, refusing anything but an image or a
// ZIP archive before reading further, then copies it to a new file in dir, refusing it as
// soon as it passes the size limit. It returns the kind and the file's path. A failure to
// read r wraps errRead.
func (s *Service) spool(dir, name string, r io.Reader) (string, string, error) {
	head := make([]byte, media.SniffLen)
	n, err := io.ReadFull(r, head)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return "", "", fmt.Errorf("%w: %w", errRead, err)
	}
	head = head[:n]
	kind, err := sniffKind(head, name)
	if err != nil {
		return "", "", err
	}

	f, err := os.CreateTemp(dir, "file-*")
	if err != nil {
		return "", "", fmt.Errorf("create spool file: %w", err)
	}
	defer f.Close()
	limit := s.opts.Limits.MaxBytes
	written, err := io.Copy(f, io.MultiReader(bytes.NewReader(head),
		io.LimitReader(readerOnly{r}, limit+1-int64(n))))
	if err != nil {
		if errors.Is(err, errBudget) {
			return "", "", err
		}
		return "", "", fmt.Errorf("%w: %w", errRead, err)
	}
	if written > limit {
		return "", "", tooLarge(name, limit)
	}
	return kind, f.Name(), nil
}

// readerOnly hides everything but Read, so that io.Copy cannot take a shortcut around the
// limit through WriterTo.
type readerOnly struct{ r io.Reader }

func (r readerOnly) Read(p []byte) (int, error) { return r.r.Read(p) }

// sniffKind decides from the first bytes whether a file is an image or an archive, and
// refuses everything else, and archives whose name claims another type.
func sniffKind(head []byte, name string) (string, error) {
	for _, m := range zipMagic {
		if bytes.HasPrefix(head, m) {
			ext := strings.ToLower(path.Ext(name))
			if ext != "" && ext != ".zip" {
				return "", fault.New(fault.Invalid, fmt.Sprintf("%s was refused: the name "+
					"ends in %s but the file is a ZIP archive; rename it to end in .zip.",
					label(name), clip(ext, 12)))
			}
			return kindArchive, nil
		}
	}
	if _, err := media.Sniff(head); err != nil {
		return "", refusal(label(name), err)
	}
	return kindImage, nil
}

// tooLarge refuses a file over the size limit.
func tooLarge(name string, limit int64) error {
	return fault.New(fault.TooLarge, fmt.Sprintf("%s was refused: it is larger than %s. "+
		"Upload a smaller file.", label(name), sizeText(limit)))
}

// refusal turns a media refusal into a fault that names the file. The media error itself
// is not kept in the chain, only its kind and cause, so that its shorter message does not
// replace this one.
func refusal(name string, err error) error {
	var me *media.Error
	if !errors.As(err, &me) {
		return err
	}
	kind := fault.Invalid
	switch me.Status {
	case media.StatusTooLarge:
		kind = fault.TooLarge
	case media.StatusUnsupported:
		kind = fault.Unsupported
	case media.StatusInternal:
		return fmt.Errorf("clean upload: %w", me.Err)
	}
	return fault.Wrap(kind, fmt.Sprintf("%s was refused: %s.", name, me.Message), me.Err)
}

// sizeText writes a byte count as a person reads it.
func sizeText(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MB", n>>20)
	}
	if n >= 1<<10 && n%(1<<10) == 0 {
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// clip cuts s to at most n bytes of valid UTF-8.
func clip(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "")
}
