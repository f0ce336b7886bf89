// Package bench measures SketchMaker against the targets of its benchmark issue: it starts
// the server binary on a scratch database, seeds accounts and images through the services,
// drives the server over loopback with a small closed-loop load generator, measures the
// media and engine paths in process, and reports every figure beside a reference measured
// in the same run, because the machines it runs on are shared and noisy. Each target is a
// ratio to that reference (or, for memory, a bound in megabytes), never an absolute time.
package bench

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Options configure a benchmark run.
type Options struct {
	Server   string // the sketchmaker binary
	Out      string // the results file to update; empty prints only
	Testdata string // the shared test data folder
	Python   string // a Python with Pillow, for the post-processing reference

	Postgres string // base PostgreSQL URL for the second run; empty skips it
	Redis    string // Redis URL for the second run

	Warmup     time.Duration // before each measured load window
	Duration   time.Duration // each measured load, in total over its rounds
	Rounds     int           // windows a compared load is split into, alternating sides
	Conns      int           // connections of the gallery, API and thumbnail loads
	ProbeConns int           // connections of the gallery probe beside floods and jobs
	FloodConns int           // connections of the sign-in flood

	Jobs           int           // generation jobs in flight
	JobDelay       time.Duration // how long the fake provider takes
	JobConcurrency int           // SKETCHMAKER_WORKERS and FAL's concurrency

	Uploads int // parallel uploads

	Profile string // folder for the server's CPU and heap profiles; empty for none
	Keep    bool   // keep the scratch folder (data directories and server logs)

	// Only, when not empty, names the scenario groups to run (gallery, thumbnail, sign-in,
	// jobs, uploads, in-process); the others are left out of the table.
	Only map[string]bool
}

// wants reports whether the scenario group name is to run.
func (o Options) wants(name string) bool { return len(o.Only) == 0 || o.Only[name] }

// DefaultOptions are the scenarios at a length that keeps `make bench` near ten
// minutes on two cores.
func DefaultOptions() Options {
	return Options{Server: "bin/sketchmaker", Out: "bench/results.md",
		Testdata: "../shared/testdata", Python: "/usr/bin/python3",
		Postgres: os.Getenv("SKETCHMAKER_TEST_DATABASE_URL"),
		Redis:    os.Getenv("SKETCHMAKER_TEST_REDIS_URL"),
		Warmup:   2 * time.Second, Duration: 8 * time.Second, Rounds: 4, Conns: 50,
		ProbeConns: 10,
		FloodConns: 16, Jobs: 1000, JobDelay: 10 * time.Second, JobConcurrency: 256,
		Uploads: 20}
}

// Main runs the benchmark program with its command-line arguments and returns the exit
// code: 0 when it ran (whether or not every target was met), 1 when it could not run, 2 for
// bad arguments.
func Main(args []string, stdout, stderr io.Writer) int {
	o := DefaultOptions()
	fs := flag.NewFlagSet("sketchmaker-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Server, "server", o.Server, "the sketchmaker binary to run")
	fs.StringVar(&o.Out, "out", o.Out, "results file to update (empty: print only)")
	fs.StringVar(&o.Testdata, "testdata", o.Testdata, "the shared test data folder")
	fs.StringVar(&o.Python, "python", o.Python, "Python with Pillow (empty: skip Pillow)")
	fs.StringVar(&o.Postgres, "postgres", o.Postgres, "PostgreSQL URL for a second run "+
		"(default $SKETCHMAKER_TEST_DATABASE_URL; empty skips it)")
	fs.StringVar(&o.Redis, "redis", o.Redis, "Redis URL for the second run "+
		"(default $SKETCHMAKER_TEST_REDIS_URL)")
	fs.DurationVar(&o.Duration, "duration", o.Duration, "each measured load window")
	fs.DurationVar(&o.Warmup, "warmup", o.Warmup, "warm-up before each window")
	fs.IntVar(&o.Rounds, "rounds", o.Rounds, "windows each comparison alternates over")
	fs.IntVar(&o.Conns, "conns", o.Conns, "connections of the main loads")
	fs.IntVar(&o.Jobs, "jobs", o.Jobs, "generation jobs in flight")
	fs.DurationVar(&o.JobDelay, "job-delay", o.JobDelay, "the fake provider's answer time")
	fs.StringVar(&o.Profile, "profile", o.Profile, "folder for the server's pprof profiles "+
		"(empty: none; profiling costs the server a few percent)")
	fs.BoolVar(&o.Keep, "keep", false, "keep the scratch folder with the server logs")
	only := fs.String("only", "", "comma-separated scenario groups to run (gallery, "+
		"thumbnail, sign-in, jobs, uploads, in-process); empty runs all")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	for _, name := range strings.Split(*only, ",") {
		if name = strings.TrimSpace(name); name != "" {
			if o.Only == nil {
				o.Only = map[string]bool{}
			}
			o.Only[name] = true
		}
	}
	if err := o.check(); err != nil {
		fmt.Fprintln(stderr, "sketchmaker-bench:", err)
		return 2
	}

	log := slog.New(slog.NewTextHandler(stderr, nil))
	report, err := Run(context.Background(), o, log)
	if err != nil {
		fmt.Fprintln(stderr, "sketchmaker-bench:", err)
		return 1
	}
	if err := WriteTable(stdout, report.Rows); err != nil {
		return 1
	}
	if o.Out != "" {
		if err := report.Save(o.Out); err != nil {
			fmt.Fprintln(stderr, "sketchmaker-bench:", err)
			return 1
		}
		fmt.Fprintf(stdout, "\nresults written to %s\n", o.Out)
	}
	return 0
}

// check refuses options that cannot make a meaningful run.
func (o Options) check() error {
	switch {
	case o.Duration < time.Second:
		return fmt.Errorf("-duration %s is too short to measure; use 1s or more", o.Duration)
	case o.Conns < 1 || o.Conns > 1000:
		return fmt.Errorf("-conns %d must be from 1 to 1000", o.Conns)
	case o.Jobs < 1 || o.Jobs > 10000:
		return fmt.Errorf("-jobs %d must be from 1 to 10000", o.Jobs)
	case o.JobDelay < 0 || o.JobDelay > time.Minute:
		return fmt.Errorf("-job-delay %s must be from 0 to 1m", o.JobDelay)
	}
	if _, err := os.Stat(o.Server); err != nil {
		return fmt.Errorf("no server binary at %s; build it first (make bench does)", o.Server)
	}
	return nil
}

// Report is the outcome of a run: the machine it ran on and the table's rows.
type Report struct {
	Machine Machine
	Rows    []Row
}

// Run measures every scenario: on SQLite, then on PostgreSQL and Redis when configured,
// then in process. A scenario that fails becomes a row saying so; only a run that cannot
// start at all returns an error.
func Run(ctx context.Context, o Options, log *slog.Logger) (*Report, error) {
	rep := &Report{Machine: Describe()}
	scratch, err := os.MkdirTemp("", "sketchmaker-bench-")
	if err != nil {
		return nil, fmt.Errorf("create scratch folder: %w", err)
	}
	if o.Keep {
		log.Info("the scratch folder is kept", "path", scratch)
	} else {
		defer os.RemoveAll(scratch)
	}

	sqliteRows, err := serverRun(ctx, o, log, "sqlite", filepath.Join(scratch, "sqlite"), nil)
	if err != nil {
		return nil, err
	}
	rep.Rows = append(rep.Rows, sqliteRows...)

	if o.Postgres != "" {
		pgRows, err := postgresRun(ctx, o, log, filepath.Join(scratch, "postgres"))
		if err != nil {
			log.Error("the PostgreSQL run could not start", "error", err)
			pgRows = []Row{{Run: "postgres+redis", Scenario: "every server scenario",
				Skipped: err.Error()}}
		}
		rep.Rows = append(rep.Rows, pgRows...)
	}

	if o.wants("in-process") {
		log.Info("measuring in process")
		rep.Rows = append(rep.Rows, inProcessRows(ctx, o, filepath.Join(scratch, "micro"))...)
	}
	return rep, nil
}

// inProcessRows measures the engine, post-processing and pixel-bomb rows.
func inProcessRows(ctx context.Context, o Options, dir string) []Row {
	failed := func(scenario string, err error) []Row {
		return []Row{{Run: inProcess, Scenario: scenario, Skipped: "failed: " + err.Error()}}
	}
	var rows []Row
	if row, err := engineRow(); err != nil {
		rows = append(rows, failed("built-in engine", err)...)
	} else {
		rows = append(rows, row)
	}

	r, err := newRig(ctx, dir)
	if err != nil {
		return append(rows, failed("post-processing and pixel bombs", err)...)
	}
	defer r.app.Close()
	if pp, err := r.postProcessRows(ctx, dir, o.Testdata, o.Python); err != nil {
		rows = append(rows, failed("post-processing", err)...)
	} else {
		rows = append(rows, pp...)
	}
	if bombs, err := r.bombRows(ctx, o.Testdata); err != nil {
		rows = append(rows, failed("pixel bombs", err)...)
	} else {
		rows = append(rows, bombs...)
	}
	return rows
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}

// writeFrom copies r into a new file at path.
func writeFrom(path string, r io.Reader) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
