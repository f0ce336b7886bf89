package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/audit"
	"github.com/sketchmaker/sketchmaker/internal/config"
)

const auditUsage = "usage: sketchmaker audit verify\n" +
	"       sketchmaker audit export --format csv|json [--type T] [--user ID] [--ip IP] " +
	"[--from YYYY-MM-DD] [--to YYYY-MM-DD]"

// auditCommand checks the audit chain or exports the audit trail to stdout.
func auditCommand(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string,
	stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "verify" && args[0] != "export") {
		return errors.New(auditUsage)
	}
	var f audit.Filter
	var format string
	if args[0] == "export" {
		var err error
		if format, f, err = exportFlags(args[1:], stderr); err != nil {
			return err
		}
	}

	app, err := Build(ctx, cfg, log, io.Discard)
	if err != nil {
		return err
	}
	defer app.Close()

	if args[0] == "verify" {
		return verifyAudit(ctx, app, stdout)
	}
	_, err = app.Audit.Export(ctx, stdout, format, f)
	return err
}

// verifyAudit walks the chain. A broken chain is an error naming the first bad event, so
// that the command exits 1.
func verifyAudit(ctx context.Context, app *App, stdout io.Writer) error {
	if _, err := app.Audit.Verify(ctx); err != nil {
		return err
	}
	_, total, err := app.Audit.List(ctx, audit.Filter{Limit: 1})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "audit log intact (%d events)\n", total)
	return nil
}

// exportFlags reads the flags of audit export.
func exportFlags(args []string, stderr io.Writer) (string, audit.Filter, error) {
	fs := flag.NewFlagSet("audit export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "", "csv or json")
	typ := fs.String("type", "", "only events of this type, such as login_failure")
	user := fs.Int64("user", 0, "only events of this user id")
	ip := fs.String("ip", "", "only events from this client address")
	from := fs.String("from", "", "only events on or after this day (YYYY-MM-DD, UTC)")
	to := fs.String("to", "", "only events on or before this day (YYYY-MM-DD, UTC)")
	if err := fs.Parse(args); err != nil {
		return "", audit.Filter{}, errors.New(auditUsage)
	}
	if *format != audit.FormatCSV && *format != audit.FormatJSON {
		return "", audit.Filter{}, errors.New("audit export: --format must be csv or json")
	}

	f := audit.Filter{Type: *typ, UserID: *user, IP: *ip}
	var err error
	if f.From, err = day(*from, "--from"); err != nil {
		return "", f, err
	}
	if f.To, err = day(*to, "--to"); err != nil {
		return "", f, err
	}
	if !f.To.IsZero() {
		f.To = f.To.Add(24 * time.Hour)
	}
	return *format, f, nil
}

// day reads an optional YYYY-MM-DD flag.
func day(v, name string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse("2006-01-02", v)
	if err != nil {
		return time.Time{}, fmt.Errorf("audit export: %s must be a date such as 2026-05-01", name)
	}
	return t, nil
}
