package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/sketchmaker/sketchmaker/internal/audit"
	"github.com/sketchmaker/sketchmaker/internal/backup"
	"github.com/sketchmaker/sketchmaker/internal/config"
	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/fault"
)

const backupUsage = "usage: sketchmaker backup --out FILE [--recipient age1... ...] " +
	"[--recipients-file FILE] [--no-gzip] [--force]\n" +
	"       sketchmaker restore --in FILE [--identity FILE] [--force]\n" +
	"Without a recipient or identity, the passphrase is read from standard input."

// passphraseWork is the scrypt work factor of passphrase-encrypted backups; tests lower it.
var passphraseWork = backup.WorkFactor

// usageError is an error that exits with status 2: a wrong command line, or an instance
// whose data these commands do not cover.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// backupCommand runs backup or restore and returns the exit code. It prints errors as
// Run does, but exits 2 for a usage error or an instance that is not SQLite on local disk.
func backupCommand(ctx context.Context, cfg *config.Config, log *slog.Logger, cmd string,
	args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var err error
	if cmd == "backup" {
		err = backupData(ctx, cfg, args, stdin, stdout, stderr)
	} else {
		err = restoreData(ctx, cfg, args, stdin, stdout, stderr)
	}
	if err == nil {
		return 0
	}

	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintln(stderr, "sketchmaker:", ue.msg)
		return 2
	}
	if fe := fault.As(err); fe != nil {
		if fe.Err != nil {
			log.Debug(cmd+" failed", "error", fe.Err)
		}
		fmt.Fprintln(stderr, "sketchmaker:", fe.Message)
		return 1
	}
	fmt.Fprintln(stderr, "sketchmaker:", err)
	return 1
}

// localLayout returns where the instance keeps its data, or a usage error when the data is
// not a SQLite file and a folder on this machine: a dump of PostgreSQL or a copy of a
// bucket taken beside a running instance would not be consistent with each other.
func localLayout(cfg *config.Config) (backup.Layout, error) {
	if strings.HasPrefix(cfg.DatabaseURL, "postgres") {
		return backup.Layout{}, usageError{"backup and restore cover the embedded SQLite " +
			"database and files in the data directory; this instance uses PostgreSQL " +
			"(DATABASE_URL): back the database up with pg_dump and restore it with " +
			"pg_restore, and protect the files with the object store's own versioning " +
			"or replication"}
	}
	if cfg.Storage.S3() {
		return backup.Layout{}, usageError{"backup and restore cover files in the data " +
			"directory; this instance keeps them in S3 (S3_ENDPOINT): protect the bucket " +
			"with its own versioning or replication, and the database with " +
			"pg_dump/pg_restore or a copy of the stopped SQLite file"}
	}

	db := cfg.SQLitePath()
	if cfg.DatabaseURL != "" {
		db = strings.TrimPrefix(cfg.DatabaseURL, "sqlite:")
	}
	return backup.Layout{Database: db, Files: filepath.Join(cfg.DataDir, "files"),
		Secret: filepath.Join(cfg.DataDir, "secret_key"),
		Work:   filepath.Join(cfg.DataDir, "tmp")}, nil
}

// backupFlags are the options of the backup command.
type backupFlags struct {
	out            string
	recipients     []string
	recipientsFile string
	noGzip, force  bool
}

func parseBackupFlags(args []string, stderr io.Writer) (backupFlags, error) {
	var f backupFlags
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.out, "out", "", "file to write the encrypted backup to")
	fs.Func("recipient", "age public key (age1...) to encrypt to; repeatable",
		func(v string) error { f.recipients = append(f.recipients, v); return nil })
	fs.StringVar(&f.recipientsFile, "recipients-file", "", "file of age public keys")
	fs.BoolVar(&f.noGzip, "no-gzip", false, "do not compress the archive")
	fs.BoolVar(&f.force, "force", false, "replace an existing output file")
	if err := fs.Parse(args); err != nil || f.out == "" || fs.NArg() > 0 {
		return f, usageError{backupUsage}
	}
	return f, nil
}

// backupData writes a backup of the instance, records it in the audit trail and prints a
// one-line summary.
func backupData(ctx context.Context, cfg *config.Config, args []string, stdin io.Reader,
	stdout, stderr io.Writer) error {
	f, err := parseBackupFlags(args, stderr)
	if err != nil {
		return err
	}
	l, err := localLayout(cfg)
	if err != nil {
		return err
	}
	// Refused before the passphrase is asked for; WriteFile checks again at the end.
	if _, err := os.Lstat(f.out); err == nil && !f.force {
		return backup.ErrExists
	}
	recipients, how, err := backupRecipients(f, stdin)
	if err != nil {
		return err
	}

	db, err := openExisting(ctx, l.Database)
	if err != nil {
		return err
	}
	defer db.Close()
	m, err := backup.WriteFile(ctx, db, l, f.out, f.force, backup.Options{
		Recipients: recipients, NoGzip: f.noGzip, MadeBy: versionLine()})
	if err != nil {
		return err
	}

	err = recordEvent(ctx, cfg, db, audit.Event{Type: audit.BackupMade, Details: map[string]any{
		"files": m.Files, "file_bytes": m.FileBytes, "database_bytes": m.DatabaseBytes,
		"signing_file": m.SecretFile, "encryption": how, "compressed": !f.noGzip,
		"format": m.Format}})
	if err != nil {
		return fmt.Errorf("the backup was written to %s, but recording it in the audit "+
			"log failed: %w", f.out, err)
	}
	fmt.Fprintln(stdout, backupSummary(f.out, m, how))
	return nil
}

// backupRecipients returns whom to encrypt to, and how, in words: the age public keys of
// the flags, or else a passphrase read from stdin.
func backupRecipients(f backupFlags, stdin io.Reader) ([]age.Recipient, string, error) {
	var rs []age.Recipient
	for _, s := range f.recipients {
		r, err := age.ParseRecipients(strings.NewReader(s))
		if !strings.HasPrefix(s, "age1") || len(r) != 1 || err != nil {
			return nil, "", usageError{"--recipient must be an age public key (age1...)"}
		}
		rs = append(rs, r[0])
	}
	if f.recipientsFile != "" {
		r, err := readRecipientsFile(f.recipientsFile)
		if err != nil {
			return nil, "", err
		}
		rs = append(rs, r...)
	}
	if len(rs) > 0 {
		return rs, fmt.Sprintf("%d age recipient(s)", len(rs)), nil
	}

	p, err := readPassphrase(stdin, "backup --out backup.age")
	if err != nil {
		return nil, "", err
	}
	r, err := backup.PassphraseRecipient(p, passphraseWork)
	if err != nil {
		return nil, "", err
	}
	return []age.Recipient{r}, "passphrase", nil
}

func readRecipientsFile(path string) ([]age.Recipient, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, backup.OpenError("recipients file", path, err)
	}
	defer file.Close()
	rs, err := age.ParseRecipients(file)
	if err != nil {
		return nil, fault.Wrap(fault.Invalid, "the recipients file must hold age public "+
			"keys (age1...), one a line", err)
	}
	return rs, nil
}

// readPassphrase reads one line from stdin. The passphrase never comes from the arguments,
// which other users of the machine can read in the process list.
func readPassphrase(stdin io.Reader, example string) (string, error) {
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read passphrase: %w", err)
	}
	p := strings.TrimRight(line, "\r\n")
	if p == "" {
		return "", usageError{"type the passphrase on standard input, for example: " +
			"printf '%s\\n' \"$PASSPHRASE\" | sketchmaker " + example}
	}
	return p, nil
}

// openExisting opens the SQLite database at path without creating or migrating it: a
// backup must not change the schema under a running server of another version.
func openExisting(ctx context.Context, path string) (*database.DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fault.Wrap(fault.NotFound, "there is no database at "+path+
			" to back up; check SKETCHMAKER_DATA_DIR", err)
	}
	return database.Open(ctx, path)
}

// recordEvent appends e to the audit chain of db, and its line to the data directory's
// audit.log as a running instance would.
func recordEvent(ctx context.Context, cfg *config.Config, db *database.DB,
	e audit.Event) error {
	f, err := os.OpenFile(filepath.Join(cfg.DataDir, "audit.log"),
		os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("open audit log: %w", err)
	}
	defer f.Close()
	return audit.New(db, f, nil).Record(ctx, e)
}

func backupSummary(out string, m *backup.Manifest, how string) string {
	secret := ""
	if m.SecretFile {
		secret = " and the generated secret-key file"
	}
	return fmt.Sprintf("backup written to %s: database %s, %d files (%s)%s, encrypted to "+
		"%s", out, size(m.DatabaseBytes), m.Files, size(m.FileBytes), secret, how)
}

// size writes n bytes for people.
func size(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for x := n / unit; x >= unit; x /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// restoreFlags are the options of the restore command.
type restoreFlags struct {
	in, identity string
	force        bool
}

func parseRestoreFlags(args []string, stderr io.Writer) (restoreFlags, error) {
	var f restoreFlags
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.in, "in", "", "the encrypted backup to restore")
	fs.StringVar(&f.identity, "identity", "", "age identity file (AGE-SECRET-KEY-1...)")
	fs.BoolVar(&f.force, "force", false, "set the existing database and files aside "+
		"(renamed) and restore over them")
	if err := fs.Parse(args); err != nil || f.in == "" || fs.NArg() > 0 {
		return f, usageError{backupUsage}
	}
	return f, nil
}

// restoreData restores a backup into the data directory, migrates the database, records
// the restore in the audit trail and prints a one-line summary.
func restoreData(ctx context.Context, cfg *config.Config, args []string, stdin io.Reader,
	stdout, stderr io.Writer) error {
	f, err := parseRestoreFlags(args, stderr)
	if err != nil {
		return err
	}
	l, err := localLayout(cfg)
	if err != nil {
		return err
	}
	ids, err := restoreIdentities(f, stdin)
	if err != nil {
		return err
	}

	res, err := backup.Restore(ctx, f.in, ids, l, f.force, time.Now())
	if err != nil {
		return err
	}
	if err := migrateRestored(ctx, cfg, l, res); err != nil {
		return err
	}
	fmt.Fprintln(stdout, restoreSummary(cfg, res))
	return nil
}

// restoreIdentities reads the identity file, or else a passphrase from stdin.
func restoreIdentities(f restoreFlags, stdin io.Reader) ([]age.Identity, error) {
	if f.identity != "" {
		file, err := os.Open(f.identity)
		if err != nil {
			return nil, backup.OpenError("identity file", f.identity, err)
		}
		defer file.Close()
		ids, err := age.ParseIdentities(file)
		if err != nil {
			return nil, fault.Wrap(fault.Invalid, "the identity file must hold age "+
				"secret keys (AGE-SECRET-KEY-1...)", err)
		}
		return ids, nil
	}
	p, err := readPassphrase(stdin, "restore --in backup.age")
	if err != nil {
		return nil, err
	}
	id, err := backup.PassphraseIdentity(p)
	if err != nil {
		return nil, err
	}
	return []age.Identity{id}, nil
}

// migrateRestored brings the restored database up to date and records the restore.
func migrateRestored(ctx context.Context, cfg *config.Config, l backup.Layout,
	res *backup.Result) error {
	db, err := database.Open(ctx, l.Database)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return fault.Wrap(fault.Internal, "the backup was restored, but migrating its "+
			"database failed; run `sketchmaker migrate` to see why", err)
	}

	m := res.Manifest
	return recordEvent(ctx, cfg, db, audit.Event{Type: audit.BackupRestored,
		Details: map[string]any{"files": m.Files, "file_bytes": m.FileBytes,
			"database_bytes": m.DatabaseBytes, "signing_file": m.SecretFile,
			"backup_created": m.Created.Format(time.RFC3339), "backup_made_by": m.MadeBy,
			"format": m.Format, "replaced": len(res.Aside) > 0}})
}

func restoreSummary(cfg *config.Config, res *backup.Result) string {
	m := res.Manifest
	s := fmt.Sprintf("restored the database and %d files (%s) of the backup made %s into "+
		"%s", m.Files, size(m.FileBytes), m.Created.Format("2006-01-02 15:04 MST"),
		cfg.DataDir)
	if len(res.Aside) > 0 {
		s += "; the data it replaced is kept as " + strings.Join(res.Aside, ", ")
	}
	return s
}
