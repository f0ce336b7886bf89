package upload

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/media"
)

// ArchiveLimits bound what one ZIP archive may hold.
type ArchiveLimits struct {
	MaxEntries int   // entries of every kind, folders included; default 100
	MaxImages  int   // image entries; default 20
	MaxTotal   int64 // bytes unpacked, over all entries; default 500 MB
}

// Default archive limits.
const (
	DefaultMaxEntries = 100
	DefaultMaxImages  = 20
	DefaultMaxTotal   = 500 << 20
)

func (l ArchiveLimits) withDefaults() ArchiveLimits {
	if l.MaxEntries <= 0 {
		l.MaxEntries = DefaultMaxEntries
	}
	if l.MaxImages <= 0 {
		l.MaxImages = DefaultMaxImages
	}
	if l.MaxTotal <= 0 {
		l.MaxTotal = DefaultMaxTotal
	}
	return l
}

// errBudget stops reading an archive whose entries unpack to more than its limit.
var errBudget = errors.New("archive unpacks to more than its limit")

// acceptArchive unpacks the spooled archive at path entry by entry. Every entry's name and
// type are checked, and the declared sizes added up, before anything is unpacked; the bytes
// actually unpacked are counted again while streaming, since a header can lie. Entries are
// never written under their own names: each is spooled to a fresh temporary file in dir
// and goes through the image pipeline. One refused entry refuses the whole archive, and
// what was already stored of it is deleted.
func (s *Service) acceptArchive(ctx context.Context, userID int64, name, dir,
	path string) (*Accepted, error) {
	zr, err := zip.OpenReader(path)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, fault.Wrap(fault.Invalid, fmt.Sprintf("%s is not a readable ZIP "+
			"archive. Create it again and upload the new file.", label(name)), err)
	}
	defer zr.Close()

	entries, err := s.opts.Archive.check(label(name), zr.File)
	if err != nil {
		return nil, err
	}

	acc := &Accepted{Batch: newID()}
	budget := &budgetReader{left: s.opts.Archive.MaxTotal}
	for _, f := range entries {
		u, err := s.acceptEntry(ctx, userID, acc.Batch, label(name), dir, f, budget)
		if err != nil {
			derr := s.Discard(context.WithoutCancel(ctx), userID, ids(acc.Uploads))
			if derr != nil {
				s.opts.Log.Error("partial archive not discarded", "error", derr)
			}
			return nil, err
		}
		acc.Uploads = append(acc.Uploads, u)
	}
	return acc, nil
}

// check refuses an archive with too many entries, an entry whose name is absolute or
// climbs out with "..", a link or other special file, an encrypted entry, or declared sizes
// over the limit. It returns the entries to unpack: regular files, without folders and the
// hidden files that archivers add (__MACOSX, .DS_Store).
func (l ArchiveLimits) check(name string, files []*zip.File) ([]*zip.File, error) {
	if len(files) > l.MaxEntries {
		return nil, fault.New(fault.Invalid, fmt.Sprintf("%s holds %d entries; at most %d "+
			"are accepted. Put only the images in the archive.", name, len(files),
			l.MaxEntries))
	}

	var out []*zip.File
	var declared uint64
	for _, f := range files {
		skip, err := checkEntry(name, f)
		if err != nil {
			return nil, err
		}
		if skip {
			continue
		}
		declared += f.UncompressedSize64
		if declared > uint64(l.MaxTotal) {
			return nil, fault.New(fault.TooLarge, fmt.Sprintf("%s unpacks to more than %s; "+
				"upload fewer or smaller images.", name, sizeText(l.MaxTotal)))
		}
		out = append(out, f)
	}

	if len(out) == 0 {
		return nil, fault.New(fault.Invalid, fmt.Sprintf("%s holds no images. Put PNG, "+
			"JPEG or WebP images in the archive.", name))
	}
	if len(out) > l.MaxImages {
		return nil, fault.New(fault.Invalid, fmt.Sprintf("%s holds %d files; at most %d "+
			"images are accepted from one archive.", name, len(out), l.MaxImages))
	}
	return out, nil
}

// checkEntry refuses a dangerous entry and reports whether a harmless one is to be skipped.
func checkEntry(archive string, f *zip.File) (skip bool, err error) {
	refuse := func(why string) (bool, error) {
		return false, fault.New(fault.Invalid, fmt.Sprintf("%s was refused: the entry %s %s.",
			archive, quote(f.Name), why))
	}
	if why := unsafeName(f.Name); why != "" {
		return refuse(why)
	}

	mode := f.Mode()
	switch {
	case mode&fs.ModeSymlink != 0:
		return refuse("is a symbolic link; links are not accepted")
	case mode.IsDir():
		return true, nil
	case !mode.IsRegular():
		return refuse("is not a regular file")
	case f.Flags&0x1 != 0:
		return refuse("is encrypted; upload an archive without a password")
	}
	return hidden(f.Name), nil
}

// unsafeName says why an entry name may not be unpacked, or returns "" when it may. Both
// slashes count as separators, whatever system made the archive.
func unsafeName(name string) string {
	n := strings.ReplaceAll(name, `\`, "/")
	switch {
	case n == "" || strings.ContainsRune(n, 0):
		return "has no usable name"
	case strings.HasPrefix(n, "/") || len(n) >= 2 && n[1] == ':':
		return "has an absolute path; only relative paths are accepted"
	}
	for _, seg := range strings.Split(n, "/") {
		if seg == ".." {
			return "points outside the archive with “..”"
		}
	}
	return ""
}

// hidden reports whether an entry is one of the hidden files archivers add.
func hidden(name string) bool {
	n := strings.ReplaceAll(name, `\`, "/")
	if strings.HasPrefix(n, "__MACOSX/") {
		return true
	}
	base := path.Base(n)
	return strings.HasPrefix(base, ".") || strings.EqualFold(base, "Thumbs.db") ||
		strings.EqualFold(base, "desktop.ini")
}

// acceptEntry spools one entry under the per-file limit and the archive's budget, then
// stores it as an image.
func (s *Service) acceptEntry(ctx context.Context, userID int64, batch, archive, dir string,
	f *zip.File, budget *budgetReader) (*Upload, error) {
	entry := media.DisplayName(strings.ReplaceAll(f.Name, `\`, "/"))
	msgName := fmt.Sprintf("%s in %s", label(entry), archive)
	rc, err := f.Open()
	if err != nil {
		return nil, fault.Wrap(fault.Invalid, fmt.Sprintf("%s cannot be unpacked; create the "+
			"archive again with ordinary compression.", msgName), err)
	}
	defer rc.Close()

	budget.r = rc
	kind, spooled, err := s.spool(dir, entry, budget)
	switch {
	case errors.Is(err, errBudget):
		return nil, fault.Wrap(fault.TooLarge, fmt.Sprintf("%s unpacks to more than %s; "+
			"upload fewer or smaller images.", archive, sizeText(s.opts.Archive.MaxTotal)), err)
	case errors.Is(err, errRead):
		return nil, fault.Wrap(fault.Invalid, fmt.Sprintf("%s is damaged and cannot be "+
			"unpacked; create the archive again.", msgName), err)
	case err != nil:
		return nil, renamed(err, entry, msgName)
	case kind == kindArchive:
		return nil, fault.New(fault.Invalid, fmt.Sprintf("%s is itself an archive; archives "+
			"inside archives are not accepted.", msgName))
	}
	defer os.Remove(spooled)
	return s.store(ctx, userID, batch, entry, msgName, spooled)
}

// renamed rewrites a refusal that named an entry by itself so that it also names the
// archive.
func renamed(err error, entry, msgName string) error {
	fe := fault.As(err)
	if fe == nil {
		return err
	}
	out := *fe
	out.Message = strings.Replace(fe.Message, label(entry), msgName, 1)
	return &out
}

// budgetReader reads an entry while counting what the whole archive has unpacked.
type budgetReader struct {
	r    io.Reader
	left int64
}

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// The budget is spent: an entry that ends here is fine, one more byte is not.
		var one [1]byte
		n, err := b.r.Read(one[:])
		if n > 0 {
			return 0, errBudget
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}
