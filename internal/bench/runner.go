package bench

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/provider/providertest"
)

// run is one server run: the server on one database, its seeded accounts, and the rows
// measured against it.
type run struct {
	o        Options
	name     string
	log      *slog.Logger
	srv      *Server
	seed     *Seeded
	gallery  *Visitor   // the gallery user, signed in
	upload   *Visitor   // the upload user, signed in
	jobUsers []*Visitor // the job users, signed in
	pprof    string     // the server's profiler, http://127.0.0.1:port; empty when off
	rows     []Row
}

// add records a row of this run.
func (r *run) add(row Row) {
	row.Run = r.name
	r.rows = append(r.rows, row)
}

// serverRun starts a fake FAL and the server in dir with extra (the database and Redis
// of the run, or nothing for SQLite in the data directory), seeds it, and measures every
// server scenario.
func serverRun(ctx context.Context, o Options, log *slog.Logger, name, dir string,
	extra map[string]string) ([]Row, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	fal, err := providertest.StartFAL(o.JobDelay)
	if err != nil {
		return nil, err
	}
	defer fal.Close()
	env, err := fal.EnvIn(dir)
	if err != nil {
		return nil, err
	}
	for k, v := range serverEnv(o, dir) {
		env[k] = v
	}
	for k, v := range extra {
		env[k] = v
	}

	log.Info("seeding", "run", name)
	seed, err := seedAccounts(ctx, env, dir, 4, o.Jobs)
	if err != nil {
		return nil, fmt.Errorf("seed the %s run: %w", name, err)
	}
	pprofURL := ""
	if o.Profile != "" {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		env["SKETCHMAKER_PPROF_ADDR"] = "127.0.0.1:" + strconv.Itoa(port)
		pprofURL = "http://" + env["SKETCHMAKER_PPROF_ADDR"]
	}
	abs, err := filepath.Abs(o.Server)
	if err != nil {
		return nil, err
	}
	srv, err := StartServer(ctx, abs, dir, env)
	if err != nil {
		return nil, err
	}
	defer srv.Stop()

	r := &run{o: o, name: name, log: log, srv: srv, seed: seed, pprof: pprofURL}
	if err := r.signInAll(ctx); err != nil {
		return nil, err
	}
	r.scenarios(ctx)
	return r.rows, nil
}

// serverEnv is the configuration every run shares: a scratch data directory, no rate
// limits (the load comes from one address), and enough workers and provider slots for
// the jobs scenario. Everything else is the default.
func serverEnv(o Options, dir string) map[string]string {
	return map[string]string{
		"SKETCHMAKER_DATA_DIR":   filepath.Join(dir, "data"),
		"SECRET_KEY":             randomHex(32),
		"API_RATE_LIMIT_ENABLED": "false",
		"SKETCHMAKER_WORKERS":    strconv.Itoa(o.JobConcurrency),
		"PROVIDER_CONCURRENCY":   "fal=" + strconv.Itoa(o.JobConcurrency),
	}
}

// signInAll signs in the accounts the scenarios act as.
func (r *run) signInAll(ctx context.Context) error {
	var err error
	if r.gallery, err = SignIn(ctx, r.srv.URL, r.seed.GalleryUser, Password); err != nil {
		return err
	}
	if r.upload, err = SignIn(ctx, r.srv.URL, r.seed.UploadUser, Password); err != nil {
		return err
	}
	for _, email := range r.seed.JobUsers {
		v, err := SignIn(ctx, r.srv.URL, email, Password)
		if err != nil {
			return err
		}
		r.jobUsers = append(r.jobUsers, v)
	}
	return nil
}

// scenarios runs each group of rows in turn; a group that fails leaves a row saying so
// and the others still run.
func (r *run) scenarios(ctx context.Context) {
	groups := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"gallery", r.galleryRows},
		{"thumbnail", r.thumbRows},
		{"sign-in", r.signInRows},
		{"jobs", r.jobRows},
		{"uploads", r.uploadRows},
	}
	for _, g := range groups {
		if !r.o.wants(g.name) {
			continue
		}
		r.log.Info("measuring", "run", r.name, "scenario", g.name)
		if err := g.fn(ctx); err != nil {
			r.log.Error("scenario failed", "run", r.name, "scenario", g.name, "error", err)
			r.add(Row{Scenario: g.name, Skipped: "failed: " + err.Error()})
		}
	}
}

// postgresRun repeats the server scenarios on a fresh schema of the PostgreSQL server at
// o.Postgres, with Redis at o.Redis holding the rate-limit counters, and drops the schema
// afterwards.
func postgresRun(ctx context.Context, o Options, log *slog.Logger, dir string) ([]Row,
	error) {
	admin, err := database.Open(ctx, o.Postgres)
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	schema := "bench_" + randomHex(6)
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		return nil, fmt.Errorf("create schema: %w", err)
	}
	defer func() {
		if _, err := admin.ExecContext(context.WithoutCancel(ctx),
			"DROP SCHEMA "+schema+" CASCADE"); err != nil {
			log.Warn("benchmark schema not dropped", "schema", schema, "error", err)
		}
	}()

	u, err := url.Parse(o.Postgres)
	if err != nil {
		return nil, fmt.Errorf("read the PostgreSQL URL: %w", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	extra := map[string]string{"DATABASE_URL": u.String()}
	if o.Redis != "" {
		extra["REDIS_URL"] = o.Redis
	}
	name := "postgres"
	if o.Redis != "" {
		name = "postgres+redis"
	}
	return serverRun(ctx, o, log, name, dir, extra)
}
