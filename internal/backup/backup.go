// Package backup writes and restores encrypted archives of a SketchMaker instance that
// runs on the embedded SQLite database and local files.
//
// An archive is an age-encrypted tar stream, gzip-compressed unless told otherwise. It
// holds a consistent snapshot of the database (made with VACUUM INTO, which works while the
// server runs), every stored file, the data directory's generated secret-key file when
// there is one, and last a manifest naming every entry with its size and SHA-256.
// API_KEY_ENCRYPTION_KEY is never written: it lives in the environment and must be kept
// apart from the backups, so that a stolen archive does not open the provider keys.
//
// A restore reads the archive twice. The first pass decrypts it and checks every header,
// name, size and hash against the manifest, writing nothing. Only then does the second pass
// unpack it into a staging folder, checking every hash again, and move the result into
// place, setting aside whatever it replaces instead of deleting it.
package backup

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/sketchmaker/sketchmaker/internal/fault"
)

// FormatVersion is the version of the archive layout that this code writes and reads.
const FormatVersion = 1

// Entry names inside an archive. Stored files go under filesPrefix with their blob key.
const (
	manifestName = "manifest.json"
	databaseName = "database/sketchmaker.db"
	secretName   = "secret_key"
	filesPrefix  = "files/"
)

// Limits that keep a hostile archive from exhausting memory or disk before it is refused.
const (
	maxManifest = 64 << 20  // bytes of manifest JSON
	maxEntry    = 256 << 30 // bytes of one entry
	maxKey      = 200       // bytes of a stored file's key, as blob allows
	maxTrailing = 1 << 20   // zero bytes accepted after the end of the tar stream
)

// MinPassphrase is the fewest characters a backup passphrase may have.
const MinPassphrase = 12

// WorkFactor is the scrypt work factor (log2 of N) of passphrase-encrypted archives:
// about a second and 256 MB on a modern machine. Restores accept no more than it, so that
// a hostile archive cannot ask for gigabytes of memory.
const WorkFactor = 18

// Layout names where an instance keeps its data on local disk.
type Layout struct {
	Database string // the SQLite database file
	Files    string // the folder of stored files, blob.Disk's root
	Secret   string // the generated secret-key file, backed up when it exists
	Work     string // a private folder for temporary files, such as the snapshot
}

// Manifest describes an archive. It is its last entry.
type Manifest struct {
	Format  int       `json:"format"`
	MadeBy  string    `json:"made_by"`
	Created time.Time `json:"created"`
	Dialect string    `json:"dialect"`

	// Files and FileBytes count the stored files; DatabaseBytes is the snapshot's size.
	Files         int   `json:"files"`
	FileBytes     int64 `json:"file_bytes"`
	DatabaseBytes int64 `json:"database_bytes"`

	// SecretFile says whether the data directory's generated secret-key file is inside.
	SecretFile bool `json:"secret_file"`

	Entries []Entry `json:"entries"`
}

// Entry is one file of an archive, as the manifest lists it.
type Entry struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// PassphraseRecipient returns the age recipient that encrypts to passphrase, refusing one
// shorter than MinPassphrase. workFactor 0 means WorkFactor; tests use less.
func PassphraseRecipient(passphrase string, workFactor int) (age.Recipient, error) {
	if n := len([]rune(passphrase)); n < MinPassphrase {
		return nil, fault.New(fault.Invalid, fmt.Sprintf("the passphrase has %d characters; "+
			"a backup needs at least %d", n, MinPassphrase))
	}
	r, err := age.NewScryptRecipient(passphrase)
	if err != nil {
		return nil, fault.Wrap(fault.Invalid, "the passphrase cannot be used", err)
	}
	if workFactor == 0 {
		workFactor = WorkFactor
	}
	r.SetWorkFactor(workFactor)
	return r, nil
}

// PassphraseIdentity returns the age identity that opens archives encrypted to passphrase.
func PassphraseIdentity(passphrase string) (age.Identity, error) {
	id, err := age.NewScryptIdentity(passphrase)
	if err != nil {
		return nil, fault.Wrap(fault.Invalid, "type the backup's passphrase on standard "+
			"input", err)
	}
	id.SetMaxWorkFactor(WorkFactor)
	return id, nil
}

// validEntry reports whether name is an entry this package writes, other than the
// manifest: the database, the secret-key file, or a stored file under a valid key.
func validEntry(name string) bool {
	switch name {
	case databaseName, secretName:
		return true
	}
	key, ok := strings.CutPrefix(name, filesPrefix)
	return ok && validKey(key)
}

// keyChars are the characters of a key that blob.NewKey can make.
var keyChars = regexp.MustCompile(`^[a-z0-9._/-]+$`)

// validKey reports whether key is one SketchMaker could have stored: lowercase letters,
// digits, dots, dashes, underscores and slashes, with no empty, "." or ".." segment. Such a
// key can only name a file below the files folder.
func validKey(key string) bool {
	if len(key) > maxKey || !keyChars.MatchString(key) {
		return false
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// validHash reports whether s is a lowercase hex SHA-256.
func validHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}
