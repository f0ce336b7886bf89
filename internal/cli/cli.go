// Package cli is SketchMaker's command line: it reads the configuration, builds the
// application and runs one command (serve, migrate, user, keys, audit, backup, restore,
// config or version).
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
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/sketchmaker/sketchmaker/internal/account"
	"github.com/sketchmaker/sketchmaker/internal/config"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/role"
)

const usage = `Usage: sketchmaker <command> [options]

Commands:
  serve                      run the web server (the default)
  migrate                    apply database migrations and exit
  user create --email E [--role user|admin|superadmin] [--name N]
                             create an account; the password is read from standard input
  keys rotate                re-encrypt every stored provider key and secret under the
                             first key of API_KEY_ENCRYPTION_KEY (list it first, the old
                             one after it, comma-separated)
  keys generate              print a new random key for API_KEY_ENCRYPTION_KEY
  audit verify               check the audit log's hash chain; exits 1 naming the first
                             edited or missing event
  audit export --format csv|json [--type T] [--user ID] [--ip IP] [--from D] [--to D]
                             write the audit log to standard output
  backup --out FILE [--recipient age1... | --recipients-file F] [--no-gzip] [--force]
                             write an encrypted backup of the SQLite database and stored
                             files; without a recipient the passphrase is read from stdin
  restore --in FILE [--identity FILE] [--force]
                             check a backup, then restore it into the data directory
                             (stop the server first) and migrate it
  config                     print the effective configuration, secrets hidden
  version                    print the version and the Go version it was built with
`

// Run runs the command in args and returns the process exit code.
func Run(args []string, stdin io.Reader, stdout, stderr io.Writer,
	lookup func(string) (string, bool)) int {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}

	if cmd == "version" {
		fmt.Fprintln(stdout, versionLine())
		return 0
	}
	if cmd == "help" || cmd == "-h" || cmd == "--help" {
		fmt.Fprint(stdout, usage)
		return 0
	}

	cfg, err := config.Load(lookup, ".env")
	if err != nil {
		fmt.Fprintln(stderr, "sketchmaker:", err)
		return 2
	}
	log := newLogger(cfg, stderr)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	switch cmd {
	case "serve":
		err = serve(ctx, cfg, log)
	case "migrate":
		err = migrate(ctx, cfg, log)
	case "user":
		err = userCommand(ctx, cfg, log, args, stdin, stdout, stderr)
	case "keys":
		err = keysCommand(ctx, cfg, log, args, stdout)
	case "audit":
		err = auditCommand(ctx, cfg, log, args, stdout, stderr)
	case "backup", "restore":
		return backupCommand(ctx, cfg, log, cmd, args, stdin, stdout, stderr)
	case "config":
		for _, row := range cfg.Describe(lookup) {
			fmt.Fprintf(stdout, "%-28s %s\n", row[0], row[1])
		}
	default:
		fmt.Fprintf(stderr, "sketchmaker: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if err != nil {
		if fe := fault.As(err); fe != nil {
			fmt.Fprintln(stderr, "sketchmaker:", fe.Message)
		} else {
			fmt.Fprintln(stderr, "sketchmaker:", err)
		}
		return 1
	}
	return 0
}

// versionLine names the build and the Go release whose standard library it carries.
func versionLine() string {
	v := "devel"
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" &&
		info.Main.Version != "(devel)" {
		v = info.Main.Version
	}
	return fmt.Sprintf("sketchmaker %s (built with %s, %s/%s)", v, runtime.Version(),
		runtime.GOOS, runtime.GOARCH)
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func migrate(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	app, err := Build(ctx, cfg, log, nil)
	if err != nil {
		return err
	}
	defer app.Close()
	log.Info("database is up to date")
	return nil
}

// userCommand creates an account from the command line. The password comes from standard
// input so that it never shows in the process list or the shell history.
func userCommand(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string,
	stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: sketchmaker user create --email E [--role R] [--name N]")
	}
	fs := flag.NewFlagSet("user create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	email := fs.String("email", "", "email address of the new account")
	roleName := fs.String("role", "user", "user, admin or superadmin")
	name := fs.String("name", "", "display name")
	plan := fs.String("plan", "", "plan slug (free, premium, professional)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}

	pw, err := readPassword(stdin)
	if err != nil {
		return err
	}
	app, err := Build(ctx, cfg, log, nil)
	if err != nil {
		return err
	}
	defer app.Close()

	u, err := app.Accounts.Create(ctx, account.NewUser{Email: *email, Password: pw,
		Username: *name, Role: role.Role(*roleName), Plan: *plan})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created %s account %d for %s\n", u.Role, u.ID, u.Email)
	return nil
}

// readPassword reads one line from standard input.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("type the password on standard input, for example: " +
			"printf '%s\\n' \"$PASSWORD\" | sketchmaker user create --email you@example.com")
	}
	return pw, nil
}
