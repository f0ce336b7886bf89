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
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/fault"
)

// Options control how an archive is written.
type Options struct {
	// Recipients are whom the archive is encrypted to: age public keys, or the one
	// recipient of PassphraseRecipient.
	Recipients []age.Recipient

	// NoGzip leaves the tar stream uncompressed, for instances whose images (already
	// compressed) make up nearly all of the size.
	NoGzip bool

	// MadeBy names the SketchMaker build, for the manifest.
	MadeBy string

	// Now reads the clock; time.Now when nil.
	Now func() time.Time
}

// ErrExists is returned when the output file exists and overwriting was not asked for.
var ErrExists = fault.New(fault.Conflict, "the output file exists already; choose another "+
	"name or pass --force to replace it")

// WriteFile writes an archive of db and l to out. It writes to a temporary file beside out,
// with mode 0600, and renames it into place once complete, so that out is never half
// written. Without force it refuses to replace an existing out.
func WriteFile(ctx context.Context, db *database.DB, l Layout, out string, force bool,
	o Options) (*Manifest, error) {
	if err := checkOut(l, out, force); err != nil {
		return nil, err
	}

	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-*")
	if err != nil {
		return nil, fault.Wrap(fault.Invalid, "the backup file cannot be created there", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("restrict backup file: %w", err)
	}

	m, err := writeSynced(ctx, db, l, tmp, o)
	if err != nil {
		return nil, err
	}
	if err := place(tmp.Name(), out, force); err != nil {
		return nil, err
	}
	return m, nil
}

// checkOut refuses an existing out without force; an out inside the files folder, which
// the archive would then contain; and an out that is the database, one of its companion
// files or the secret-key file, which --force would otherwise overwrite under a running
// server. Links are resolved first, so neither can be reached through one.
func checkOut(l Layout, out string, force bool) error {
	if _, err := os.Lstat(out); err == nil && !force {
		return ErrExists
	}
	realOut, err := resolved(out)
	if err != nil {
		return fmt.Errorf("backup path: %w", err)
	}
	if realFiles, err := resolved(l.Files); err == nil {
		if rel, err := filepath.Rel(realFiles, realOut); err == nil && filepath.IsLocal(rel) {
			return fault.New(fault.Invalid, "the backup file cannot be written inside the "+
				"data directory's files folder")
		}
	}
	for _, p := range []string{l.Database, l.Database + "-wal", l.Database + "-shm",
		l.Database + "-journal", l.Secret} {
		if rp, err := resolved(p); err == nil && rp == realOut {
			return fault.New(fault.Invalid, "the backup file cannot replace the database or "+
				"the secret-key file: choose a path outside the data directory")
		}
	}
	return nil
}

// resolved returns the absolute path of p with the links of its folder resolved, and of
// p itself when it exists.
func resolved(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		return r, nil
	}
	dir, err := filepath.EvalSymlinks(filepath.Dir(abs))
	if err != nil {
		return abs, nil // the folder does not exist: nothing can be reached through it
	}
	return filepath.Join(dir, filepath.Base(abs)), nil
}

// writeSynced writes the archive to f, flushes it to disk and closes f.
func writeSynced(ctx context.Context, db *database.DB, l Layout, f *os.File,
	o Options) (*Manifest, error) {
	bw := bufio.NewWriterSize(f, 1<<20)
	m, err := Write(ctx, db, l, bw, o)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil && fault.As(err) == nil {
		err = fault.Wrap(fault.Internal, "the backup could not be written", err)
	}
	return m, err
}

// place moves the finished tmp to out. Without force a hard link makes the move fail
// rather than replace a file that appeared meanwhile.
func place(tmp, out string, force bool) error {
	if force {
		if err := os.Rename(tmp, out); err != nil {
			return fmt.Errorf("move backup into place: %w", err)
		}
		return nil
	}
	err := os.Link(tmp, out)
	if errors.Is(err, fs.ErrExist) {
		return ErrExists
	}
	if err != nil {
		// Some file systems have no hard links; the window for a race is tiny.
		if _, serr := os.Lstat(out); serr == nil {
			return ErrExists
		}
		if err := os.Rename(tmp, out); err != nil {
			return fmt.Errorf("move backup into place: %w", err)
		}
	}
	return nil
}

// Write writes an encrypted archive of db and l to w and returns its manifest. The
// database is snapshotted first; stored files added afterwards are included and are
// harmless, files deleted during the backup are missing from it.
func Write(ctx context.Context, db *database.DB, l Layout, w io.Writer,
	o Options) (*Manifest, error) {
	if db.Dialect != database.SQLite {
		return nil, fault.New(fault.Invalid, "only the SQLite database can be backed up")
	}
	if len(o.Recipients) == 0 {
		return nil, errors.New("backup: no recipients")
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}

	snap, cleanup, err := snapshot(ctx, db, l.Work)
	if err != nil {
		return nil, err
	}
	defer cleanup()

	aw, err := age.Encrypt(w, o.Recipients...)
	if err != nil {
		return nil, fmt.Errorf("start encryption: %w", err)
	}
	aw = wrapGzip(aw, o.NoGzip)
	a := &archiveWriter{tw: tar.NewWriter(aw), now: now().UTC().Truncate(time.Second)}
	a.m = &Manifest{Format: FormatVersion, MadeBy: o.MadeBy, Created: a.now,
		Dialect: string(database.SQLite)}
	if err := a.addAll(ctx, snap, l); err != nil {
		return nil, err
	}
	if err := a.finish(aw); err != nil {
		return nil, err
	}
	return a.m, nil
}

// snapshot copies the database into a new file in a private folder under work. VACUUM
// INTO reads one consistent state, also while other connections write.
func snapshot(ctx context.Context, db *database.DB, work string) (string, func(), error) {
	if err := os.MkdirAll(work, 0o700); err != nil {
		return "", nil, fmt.Errorf("create work folder: %w", err)
	}
	dir, err := os.MkdirTemp(work, "backup-")
	if err != nil {
		return "", nil, fmt.Errorf("create snapshot folder: %w", err)
	}
	cleanup := func() { os.RemoveAll(dir) }

	path := filepath.Join(dir, "snapshot.db")
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		cleanup()
		return "", nil, fault.Wrap(fault.Internal, "the database snapshot failed", err)
	}
	return path, cleanup, nil
}

// gzipCloser compresses into an age writer and closes both in order.
type gzipCloser struct {
	*gzip.Writer
	under io.WriteCloser
}

// Close ends the gzip stream, then the encryption.
func (g gzipCloser) Close() error {
	return errors.Join(g.Writer.Close(), g.under.Close())
}

func wrapGzip(w io.WriteCloser, off bool) io.WriteCloser {
	if off {
		return w
	}
	gz, _ := gzip.NewWriterLevel(w, gzip.BestSpeed) // the level is valid
	return gzipCloser{Writer: gz, under: w}
}

// archiveWriter adds entries to the tar stream and lists them in the manifest.
type archiveWriter struct {
	tw  *tar.Writer
	now time.Time
	m   *Manifest
}

// addAll adds the snapshot, the secret-key file when it exists, and every stored file.
func (a *archiveWriter) addAll(ctx context.Context, snap string, l Layout) error {
	n, err := a.addFile(databaseName, snap)
	if err != nil {
		return err
	}
	a.m.DatabaseBytes = n

	if _, err := a.addFile(secretName, l.Secret); err == nil {
		a.m.SecretFile = true
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return a.addStored(ctx, l.Files)
}

// addStored adds every regular file under dir whose path is a valid key. It skips blob's
// temporary files, anything else (links, odd names) and files deleted while it runs. The
// folder itself may be a link, to another disk say, and is followed.
func (a *archiveWriter) addStored(ctx context.Context, dir string) error {
	dir, err := filepath.EvalSymlinks(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("find stored files: %w", err)
	}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !d.Type().IsRegular() || strings.HasPrefix(d.Name(), ".tmp-") {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || !validKey(filepath.ToSlash(rel)) {
			return nil
		}
		n, err := a.addFile(filesPrefix+filepath.ToSlash(rel), path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		a.m.Files++
		a.m.FileBytes += n
		return err
	})
	if err != nil {
		return fmt.Errorf("add stored files: %w", err)
	}
	return nil
}

// addFile copies the regular file at path into the archive as name and returns its size.
// The size is read from the open file, which a concurrent rename cannot change.
func (a *archiveWriter) addFile(name, path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("stat %s: %w", name, err)
	}
	if !st.Mode().IsRegular() {
		return 0, fmt.Errorf("%s is not a regular file", name)
	}

	h := sha256.New()
	n, err := a.add(name, st.Size(), io.TeeReader(f, h))
	if err != nil {
		return 0, err
	}
	a.m.Entries = append(a.m.Entries, Entry{Path: name, Size: n,
		SHA256: hex.EncodeToString(h.Sum(nil))})
	return n, nil
}

// add writes one tar entry of exactly size bytes read from r.
func (a *archiveWriter) add(name string, size int64, r io.Reader) (int64, error) {
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o600,
		ModTime: a.now, Format: tar.FormatPAX}
	if err := a.tw.WriteHeader(hdr); err != nil {
		return 0, fmt.Errorf("write %s header: %w", name, err)
	}
	n, err := io.CopyN(a.tw, r, size)
	if err != nil {
		return n, fmt.Errorf("copy %s (it changed while being read?): %w", name, err)
	}
	return n, nil
}

// finish writes the manifest as the last entry and closes the tar, gzip and age streams.
func (a *archiveWriter) finish(w io.Closer) error {
	body, err := json.MarshalIndent(a.m, "", " ")
	if err != nil {
		return fmt.Errorf("encode manifest: %w", err)
	}
	if _, err := a.add(manifestName, int64(len(body)), bytes.NewReader(body)); err != nil {
		return err
	}
	if err := a.tw.Close(); err != nil {
		return fmt.Errorf("end tar stream: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("end encryption: %w", err)
	}
	return nil
}
