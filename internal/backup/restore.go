package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"filippo.io/age"

	"github.com/sketchmaker/sketchmaker/internal/fault"
)

// Errors of a restore that the target refuses.
var (
	ErrDataExists = fault.New(fault.Conflict, "the data directory already holds a database "+
		"or stored files; pass --force to set them aside (renamed, not deleted) and restore")
	ErrInUse = fault.New(fault.Conflict, "a running SketchMaker holds the database; stop "+
		"the server first, then restore")
)

// Result says what a restore did.
type Result struct {
	Manifest *Manifest

	// Aside lists where the database, files folder and secret-key file that the restore
	// replaced were moved; it is empty when there were none.
	Aside []string
}

// Restore checks the archive at path, opened with ids, and puts its database, files and
// secret-key file in place of l's. Nothing is written before the whole archive has been
// checked. Existing data is refused unless force is set, and then renamed with a
// ".replaced-<time>" suffix. It refuses while a server holds the database. The caller
// migrates the restored database.
func Restore(ctx context.Context, path string, ids []age.Identity, l Layout, force bool,
	now time.Time) (*Result, error) {
	if err := checkTarget(l, force); err != nil {
		return nil, err
	}
	a, err := openArchive(path, ids)
	if err != nil {
		return nil, err
	}
	defer a.Close()

	m, err := a.verify(ctx)
	if err != nil {
		return nil, err
	}
	st, err := a.stage(ctx, m, l)
	if err != nil {
		return nil, err
	}
	defer st.cleanup()

	// A server may have started during the minutes the checks can take.
	if err := checkTarget(l, force); err != nil {
		return nil, err
	}
	aside, err := st.swap(l, asideSuffix(l, now))
	if err != nil {
		return nil, fault.Wrap(fault.Internal, "the restored data could not be moved into "+
			"place; the data directory was left as it was", err)
	}
	return &Result{Manifest: m, Aside: aside}, nil
}

// asideSuffix names the data a restore sets aside after the time, with a counter when
// an earlier restore of the same second took that name.
func asideSuffix(l Layout, now time.Time) string {
	base := ".replaced-" + now.UTC().Format("20060102T150405Z")
	suffix := base
	for i := 2; i < 1000; i++ {
		taken := false
		for _, p := range []string{l.Database, l.Files, l.Secret} {
			if _, err := os.Lstat(p + suffix); err == nil {
				taken = true
			}
		}
		if !taken {
			break
		}
		suffix = fmt.Sprintf("%s-%d", base, i)
	}
	return suffix
}

// checkTarget refuses a database a server holds, and existing data without force.
func checkTarget(l Layout, force bool) error {
	busy, err := inUse(l.Database)
	if err != nil {
		return fmt.Errorf("check whether the database is in use: %w", err)
	}
	if busy {
		return ErrInUse
	}
	has, err := hasData(l)
	if err != nil {
		return err
	}
	if has && !force {
		return ErrDataExists
	}
	return nil
}

// hasData reports whether l holds a database or any stored file.
func hasData(l Layout) (bool, error) {
	if _, err := os.Lstat(l.Database); err == nil {
		return true, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("look for the database: %w", err)
	}
	names, err := readDirNames(l.Files)
	return len(names) > 0, err
}

// readDirNames returns up to one name in dir; a missing dir has none.
func readDirNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look for stored files: %w", err)
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return names, err
}

// staged is an unpacked archive waiting to be moved into place.
type staged struct {
	dir      string // holds files/ and secret_key, beside the files folder
	database string // the snapshot, beside the configured database
	secret   bool
}

// cleanup removes whatever of the staging is still there.
func (s *staged) cleanup() {
	os.RemoveAll(s.dir)
	os.Remove(s.database)
}

// stage unpacks the archive a second time, into a private staging folder beside the files
// folder and a temporary file beside the database, writing only the entries of m, each
// checked again against m. Every path is opened through an os.Root, which cannot reach
// outside the staging folder whatever the name.
func (a *archive) stage(ctx context.Context, m *Manifest, l Layout) (*staged, error) {
	st, err := newStaging(l)
	if err != nil {
		return nil, err
	}
	st.secret = m.SecretFile
	if err := a.unpack(ctx, m, st); err != nil {
		st.cleanup()
		return nil, err
	}
	return st, nil
}

// newStaging creates the staging folder and the database's temporary file.
func newStaging(l Layout) (*staged, error) {
	for _, dir := range []string{filepath.Dir(l.Files), filepath.Dir(l.Database)} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
	}
	dir, err := os.MkdirTemp(filepath.Dir(l.Files), ".restore-")
	if err != nil {
		return nil, fmt.Errorf("create staging folder: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(l.Database), ".restore-*.db")
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("create staging database: %w", err)
	}
	f.Close()
	if err := os.Mkdir(filepath.Join(dir, "files"), 0o700); err != nil {
		os.RemoveAll(dir)
		os.Remove(f.Name())
		return nil, fmt.Errorf("create staging files folder: %w", err)
	}
	return &staged{dir: dir, database: f.Name()}, nil
}

// unpack writes every entry of the archive into st.
func (a *archive) unpack(ctx context.Context, m *Manifest, st *staged) error {
	root, err := os.OpenRoot(st.dir)
	if err != nil {
		return fmt.Errorf("open staging folder: %w", err)
	}
	defer root.Close()
	want := make(map[string]Entry, len(m.Entries))
	for _, e := range m.Entries {
		want[e.Path] = e
	}

	put := func(name string, size int64, r io.Reader) error {
		if e, ok := want[name]; !ok || e.Size != size {
			return refused("entry %q changed since it was checked", clipName(name))
		}
		if name == databaseName {
			return writeFile(st.database, os.O_WRONLY|os.O_TRUNC, r)
		}
		return writeInRoot(root, name, r)
	}
	r, err := a.plaintext()
	if err != nil {
		return err
	}
	_, got, err := readEntries(ctx, r, put)
	if err != nil {
		return err
	}
	if err := matchEntries(m.Entries, got); err != nil {
		return err
	}
	return checkSQLite(st.database)
}

// writeInRoot creates the file name, which must not exist, inside root.
func writeInRoot(root *os.Root, name string, r io.Reader) error {
	if err := root.MkdirAll(filepath.Dir(filepath.FromSlash(name)), 0o700); err != nil {
		return fmt.Errorf("create staging folder: %w", err)
	}
	f, err := root.OpenFile(filepath.FromSlash(name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create staged file: %w", err)
	}
	return copyClose(f, r)
}

// writeFile writes r into the existing file at path.
func writeFile(path string, flag int, r io.Reader) error {
	f, err := os.OpenFile(path, flag, 0o600)
	if err != nil {
		return fmt.Errorf("open staged database: %w", err)
	}
	return copyClose(f, r)
}

// copyClose copies r into f, flushes it to disk and closes it.
func copyClose(f *os.File, r io.Reader) error {
	_, err := io.Copy(f, r)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write staged file: %w", err)
	}
	return nil
}

// checkSQLite refuses a database file without SQLite's header.
func checkSQLite(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open staged database: %w", err)
	}
	defer f.Close()
	head := make([]byte, 16)
	if _, err := io.ReadFull(f, head); err != nil || string(head) != "SQLite format 3\x00" {
		return refused("its database is not an SQLite file")
	}
	return nil
}

// swap sets aside what the restore replaces, renaming it with suffix, then moves the
// staged data into place. When a step fails, it moves everything back.
func (s *staged) swap(l Layout, suffix string) (aside []string, err error) {
	var mv mover
	defer func() {
		if err != nil {
			mv.undo()
		}
	}()

	// The database's journal files go with it, renamed so that SQLite still finds them.
	for _, ext := range []string{"", "-wal", "-shm", "-journal"} {
		moved, err := mv.aside(l.Database+ext, l.Database+suffix+ext)
		if err != nil {
			return nil, err
		}
		if moved && ext == "" {
			aside = append(aside, l.Database+suffix)
		}
	}
	if moved, err := mv.asideDir(l.Files, l.Files+suffix); err != nil {
		return nil, err
	} else if moved {
		aside = append(aside, l.Files+suffix)
	}
	if s.secret {
		if moved, err := mv.aside(l.Secret, l.Secret+suffix); err != nil {
			return nil, err
		} else if moved {
			aside = append(aside, l.Secret+suffix)
		}
	}

	if err := s.moveIn(&mv, l); err != nil {
		return nil, err
	}
	return aside, nil
}

// moveIn moves the staged database, files and secret-key file to their places.
func (s *staged) moveIn(mv *mover, l Layout) error {
	if err := mv.rename(s.database, l.Database); err != nil {
		return err
	}
	if err := mv.rename(filepath.Join(s.dir, "files"), l.Files); err != nil {
		return err
	}
	if s.secret {
		return mv.rename(filepath.Join(s.dir, secretName), l.Secret)
	}
	return nil
}

// mover renames files and remembers how to undo it.
type mover struct {
	done [][2]string
}

// rename moves from to to, refusing to replace anything at to.
func (m *mover) rename(from, to string) error {
	if _, err := os.Lstat(to); err == nil {
		return fmt.Errorf("%s exists already", to)
	}
	if err := os.Rename(from, to); err != nil {
		return err
	}
	m.done = append(m.done, [2]string{from, to})
	return nil
}

// aside renames from to to when from exists, and reports whether it did.
func (m *mover) aside(from, to string) (bool, error) {
	if _, err := os.Lstat(from); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return true, m.rename(from, to)
}

// asideDir is aside for a folder, except that an empty folder is simply removed.
func (m *mover) asideDir(from, to string) (bool, error) {
	names, err := readDirNames(from)
	if err != nil {
		return false, err
	}
	if len(names) == 0 {
		if err := os.Remove(from); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return false, err
		}
		return false, nil
	}
	return m.aside(from, to)
}

// undo moves everything back, newest first.
func (m *mover) undo() {
	for i := len(m.done) - 1; i >= 0; i-- {
		_ = os.Rename(m.done[i][1], m.done[i][0])
	}
	m.done = nil
}
