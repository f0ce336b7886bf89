//go:build linux

package backup

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// fOFDGetLK is Linux's F_OFD_GETLK. Unlike F_GETLK, it also reports the locks of this
// process, so that a server running in the same process (as in the tests) is seen.
const fOFDGetLK = 36

// shmDMS is the byte of a WAL database's -shm file on which every process with the
// database open holds a shared lock (UNIX_SHM_DMS in SQLite's os_unix.c).
const shmDMS = 128

// inUse reports whether some process has the SQLite database at path open, by asking
// whether a write lock on the -shm file's DMS byte would conflict with anyone's lock.
func inUse(path string) (bool, error) {
	f, err := os.Open(path + "-shm")
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()

	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: io.SeekStart, Start: shmDMS, Len: 1}
	if err := syscall.FcntlFlock(f.Fd(), fOFDGetLK, &lk); err != nil {
		return false, err
	}
	return lk.Type != syscall.F_UNLCK, nil
}
