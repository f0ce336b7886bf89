package backup

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"filippo.io/age"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/fault"
)

// ErrWrongKey is returned when neither the passphrase nor any identity opens an archive.
var ErrWrongKey = fault.New(fault.Unauthorized, "the passphrase or identity does not open "+
	"this backup; nothing was restored")

// damaged is the error of an archive that does not decrypt, decompress or parse.
func damaged(err error) error {
	return fault.Wrap(fault.Invalid, "the backup file is damaged, changed or not a "+
		"SketchMaker backup; nothing was restored", err)
}

// refused is the error of an archive that decrypts but breaks the layout's rules.
func refused(format string, args ...any) error {
	return fault.New(fault.Invalid, "the backup was refused and nothing was restored: "+
		fmt.Sprintf(format, args...))
}

// archive is an open archive file and the file key its header gave up, so that each pass
// decrypts it without running scrypt again.
type archive struct {
	f   *os.File
	key []byte
}

// OpenError says why the named file at path (the backup, an identity or recipients file)
// could not be opened, in words a person can act on.
func OpenError(what, path string, err error) error {
	why := "it cannot be read"
	switch {
	case errors.Is(err, fs.ErrNotExist):
		why = "it does not exist"
	case errors.Is(err, fs.ErrPermission):
		why = "permission was denied"
	}
	return fault.Wrap(fault.Invalid, fmt.Sprintf("the %s %q cannot be opened: %s", what,
		path, why), err)
}

// openArchive opens the archive at path and unwraps its file key with ids.
func openArchive(path string, ids []age.Identity) (*archive, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, OpenError("backup file", path, err)
	}
	hdr, err := age.ExtractHeader(bufio.NewReader(f))
	if err != nil {
		f.Close()
		return nil, damaged(err)
	}
	key, err := age.DecryptHeader(hdr, ids...)
	if err != nil {
		f.Close()
		var none *age.NoIdentityMatchError
		if errors.As(err, &none) || errors.Is(err, age.ErrIncorrectIdentity) {
			return nil, fault.Wrap(ErrWrongKey.Kind, ErrWrongKey.Message, err)
		}
		return nil, damaged(err)
	}
	return &archive{f: f, key: key}, nil
}

// Close closes the archive file.
func (a *archive) Close() error { return a.f.Close() }

// plaintext decrypts the archive from its start, and decompresses it when it is gzip.
func (a *archive) plaintext() (io.Reader, error) {
	if _, err := a.f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("rewind backup: %w", err)
	}
	r, err := age.Decrypt(bufio.NewReaderSize(a.f, 1<<20), age.NewInjectedFileKeyIdentity(a.key))
	if err != nil {
		return nil, damaged(err)
	}

	br := bufio.NewReader(r)
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, damaged(err)
		}
		return gz, nil
	}
	return br, nil
}

// verify reads the whole archive, writing nothing, and returns its manifest once every
// entry is known to fit the layout and to match the manifest's size and hash.
func (a *archive) verify(ctx context.Context) (*Manifest, error) {
	r, err := a.plaintext()
	if err != nil {
		return nil, err
	}
	m, got, err := readEntries(ctx, r, nil)
	if err != nil {
		return nil, err
	}
	if err := checkManifest(m); err != nil {
		return nil, err
	}
	if err := matchEntries(m.Entries, got); err != nil {
		return nil, err
	}
	return m, nil
}

// putFunc receives an entry's content. readEntries has checked its header already.
type putFunc func(name string, size int64, r io.Reader) error

// readEntries reads every tar entry of r, checks its header, hashes its content and hands
// it to put (or discards it when put is nil), then reads the manifest, which must come
// last, and the end of the stream, so that the whole ciphertext is authenticated.
func readEntries(ctx context.Context, r io.Reader, put putFunc) (*Manifest, []Entry,
	error) {
	tr := tar.NewReader(r)
	seen := map[string]bool{}
	var m *Manifest
	var got []Entry
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, damaged(err)
		}
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}

		if m != nil {
			return nil, nil, refused("an entry follows the manifest")
		}
		if err := checkHeader(hdr, seen); err != nil {
			return nil, nil, err
		}
		if hdr.Name == manifestName {
			if m, err = readManifest(tr); err != nil {
				return nil, nil, err
			}
			continue
		}
		e, err := readEntry(tr, hdr, put)
		if err != nil {
			return nil, nil, err
		}
		got = append(got, e)
	}

	if m == nil {
		return nil, nil, refused("it has no manifest")
	}
	return m, got, drain(r)
}

// checkHeader refuses anything but a regular file with a name of the layout, seen once,
// with a plausible size.
func checkHeader(h *tar.Header, seen map[string]bool) error {
	name := clipName(h.Name)
	switch {
	case h.Typeflag != tar.TypeReg:
		return refused("entry %q is not a regular file (type %q)", name, h.Typeflag)
	case h.Name != manifestName && !validEntry(h.Name):
		return refused("entry %q is outside the backup's layout", name)
	case seen[h.Name]:
		return refused("entry %q appears twice", name)
	case h.Size < 0 || h.Size > maxEntry:
		return refused("entry %q claims an impossible size (%d bytes)", name, h.Size)
	case h.Name == manifestName && h.Size > maxManifest:
		return refused("the manifest claims %d bytes; the limit is %d", h.Size, maxManifest)
	}
	seen[h.Name] = true
	return nil
}

// clipName cuts a hostile name for an error message.
func clipName(s string) string {
	if len(s) > 120 {
		return s[:120] + "..."
	}
	return s
}

// readManifest decodes the manifest entry.
func readManifest(r io.Reader) (*Manifest, error) {
	body, err := io.ReadAll(io.LimitReader(r, maxManifest+1))
	if err != nil {
		return nil, damaged(err)
	}
	var m Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, refused("its manifest is not valid JSON")
	}
	return &m, nil
}

// source records the first error of the archive stream, to tell a damaged archive from a
// failing disk when put fails.
type source struct {
	r   io.Reader
	n   int64
	err error
}

func (s *source) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.n += int64(n)
	if err != nil && !errors.Is(err, io.EOF) && s.err == nil {
		s.err = err
	}
	return n, err
}

// readEntry hashes the content of the entry h while put consumes it.
func readEntry(tr io.Reader, h *tar.Header, put putFunc) (Entry, error) {
	sum := sha256.New()
	src := &source{r: io.TeeReader(tr, sum)}
	var err error
	if put == nil {
		_, err = io.Copy(io.Discard, src)
	} else {
		err = put(h.Name, h.Size, src)
	}

	if src.err != nil {
		return Entry{}, damaged(src.err)
	}
	if err != nil {
		return Entry{}, err
	}
	if src.n != h.Size {
		return Entry{}, damaged(fmt.Errorf("entry %s: read %d of %d bytes", h.Name, src.n,
			h.Size))
	}
	return Entry{Path: h.Name, Size: src.n, SHA256: hex.EncodeToString(sum.Sum(nil))}, nil
}

// drain reads the stream to its end, which authenticates the last chunk of the
// ciphertext, accepting only the zero padding a tar writer may leave.
func drain(r io.Reader) error {
	buf := make([]byte, 32<<10)
	var total int64
	for {
		n, err := r.Read(buf)
		total += int64(n)
		if total > maxTrailing || !allZero(buf[:n]) {
			return refused("data follows the end of the archive")
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return damaged(err)
		}
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// checkManifest refuses a manifest of another format or dialect, or whose entries break
// the layout or disagree with its counts.
func checkManifest(m *Manifest) error {
	switch {
	case m.Format > FormatVersion:
		return refused("it was made by a newer SketchMaker (format %d; this one reads %d): "+
			"restore it with that version", m.Format, FormatVersion)
	case m.Format < 1:
		return refused("its manifest has no format version")
	case m.Dialect != string(database.SQLite):
		return refused("it holds a %q database; only SQLite backups can be restored",
			clipName(m.Dialect))
	}

	var c Manifest
	seen := map[string]bool{}
	for _, e := range m.Entries {
		if err := checkEntry(e, seen); err != nil {
			return err
		}
		c.count(e)
	}
	if !seen[databaseName] {
		return refused("it holds no database")
	}
	if c.Files != m.Files || c.FileBytes != m.FileBytes ||
		c.DatabaseBytes != m.DatabaseBytes || c.SecretFile != m.SecretFile {
		return refused("its manifest's counts do not match its entries")
	}
	return nil
}

// checkEntry checks one manifest entry.
func checkEntry(e Entry, seen map[string]bool) error {
	name := clipName(e.Path)
	switch {
	case !validEntry(e.Path):
		return refused("the manifest names %q, outside the backup's layout", name)
	case seen[e.Path]:
		return refused("the manifest names %q twice", name)
	case e.Size < 0 || e.Size > maxEntry:
		return refused("the manifest claims an impossible size for %q", name)
	case !validHash(e.SHA256):
		return refused("the manifest has no valid SHA-256 for %q", name)
	}
	seen[e.Path] = true
	return nil
}

// count adds e to the counts of c.
func (c *Manifest) count(e Entry) {
	switch e.Path {
	case databaseName:
		c.DatabaseBytes = e.Size
	case secretName:
		c.SecretFile = true
	default:
		c.Files++
		c.FileBytes += e.Size
	}
}

// matchEntries refuses entries read that differ from the manifest's, in content or order.
func matchEntries(want, got []Entry) error {
	for i := range max(len(want), len(got)) {
		switch {
		case i >= len(got):
			return refused("entry %q of the manifest is missing", clipName(want[i].Path))
		case i >= len(want):
			return refused("entry %q is not in the manifest", clipName(got[i].Path))
		case got[i].Path != want[i].Path:
			return refused("entry %q is not where the manifest lists it",
				clipName(got[i].Path))
		case got[i] != want[i]:
			return refused("entry %q does not match the manifest's size and SHA-256",
				clipName(got[i].Path))
		}
	}
	return nil
}
