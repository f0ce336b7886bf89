package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/account"
	"github.com/sketchmaker/sketchmaker/internal/apitoken"
	"github.com/sketchmaker/sketchmaker/internal/audit"
	"github.com/sketchmaker/sketchmaker/internal/blob"
	"github.com/sketchmaker/sketchmaker/internal/config"
	"github.com/sketchmaker/sketchmaker/internal/credit"
	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/gallery"
	"github.com/sketchmaker/sketchmaker/internal/generation"
	"github.com/sketchmaker/sketchmaker/internal/job"
	"github.com/sketchmaker/sketchmaker/internal/mail"
	"github.com/sketchmaker/sketchmaker/internal/password"
	"github.com/sketchmaker/sketchmaker/internal/session"
	"github.com/sketchmaker/sketchmaker/internal/setting"
	"github.com/sketchmaker/sketchmaker/internal/signin"
	"github.com/sketchmaker/sketchmaker/internal/web"
)

// App is SketchMaker with every service wired together.
type App struct {
	Config   *config.Config
	Log      *slog.Logger
	DB       *database.DB
	Accounts *account.Service
	Sessions *session.Store
	Tokens   *apitoken.Store
	Credits  *credit.Service
	Jobs     *job.Store
	Pool     *job.Pool
	Server   *web.Server
	Audit    *audit.Log
	Hasher   *password.Hasher
	Settings *setting.Store

	// Abuse holds rate limits, IP blocks, moderation, alerts and metrics (issue 7).
	Abuse *Abuse

	// Admin holds the admin panel's services (issue 4).
	Admin *Admin

	// Providers holds the image and language-model providers (issue 5).
	Providers *Providers

	// Mail and SignIn serve the account flows (issue 3).
	Mail   *mail.Sender
	SignIn *signin.Service

	// Training holds the upload pipeline and style training (issue 6).
	Training *Training

	// files deletes an account's files in every service that keeps some: the gallery,
	// then, once wired, trainings and uploads.
	files accountFiles

	// background counts the goroutines Background started, which Close waits for.
	background sync.WaitGroup
}

// Build opens the database, migrates it and wires the services. auditLines receives the
// audit log's JSON lines; nil means the data directory's audit.log.
func Build(ctx context.Context, cfg *config.Config, log *slog.Logger,
	auditLines io.Writer) (*App, error) {
	if err := cfg.EnsureSecret(); err != nil {
		return nil, err
	}
	dbURL := cfg.DatabaseURL
	if dbURL == "" {
		dbURL = cfg.SQLitePath()
	}
	db, err := database.Open(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}

	app, err := wire(ctx, cfg, log, db, auditLines)
	if err != nil {
		db.Close()
		return nil, err
	}
	return app, nil
}

func wire(ctx context.Context, cfg *config.Config, log *slog.Logger, db *database.DB,
	auditLines io.Writer) (*App, error) {
	now := time.Now
	if auditLines == nil {
		f, err := os.OpenFile(filepath.Join(cfg.DataDir, "audit.log"),
			os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return nil, fmt.Errorf("open audit log: %w", err)
		}
		auditLines = f
	}
	blobs, err := openBlobs(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	policy, err := password.NewPolicy(8, cfg.BcryptCost)
	if err != nil {
		return nil, err
	}

	a := &App{Config: cfg, Log: log, DB: db}
	a.Hasher = password.NewHasher(cfg.BcryptCost, BcryptSlots())
	a.Credits = credit.New(db, now)
	a.Settings = setting.New(db, now)
	a.Accounts = account.New(db, a.Hasher, policy, a.Credits, account.Lockout{
		Threshold: cfg.Abuse.FailedLoginThreshold, Duration: cfg.Abuse.AccountLockout}, now)
	a.Sessions = session.New(db, cfg.SessionLifetime, cfg.SessionIdle, now)
	a.Tokens = apitoken.New(db, now)
	a.Audit = audit.New(db, auditLines, now)
	a.Jobs = job.NewStore(db, now)
	a.Pool = job.NewPool(a.Jobs, cfg.Workers, log)
	g := gallery.New(db, blobs, log)
	gen := generation.New(db, a.Jobs, a.Credits, g, blobs, a.Pool.Notify, now)
	a.Pool.Register(generation.KindImage, gen)
	if err := a.wireAccounts(cfg, log, db, now, g); err != nil {
		return nil, err
	}
	if err := a.wireAbuse(cfg, log, db, now); err != nil {
		return nil, err
	}
	if err := a.wireAdmin(cfg, log, db, now, g, gen); err != nil {
		a.Abuse.close()
		return nil, err
	}
	if err := a.wireProviders(cfg, log, db, gen); err != nil {
		a.Abuse.close()
		return nil, err
	}
	if err := a.wireTraining(cfg, log, db, blobs, gen); err != nil {
		a.Abuse.close()
		return nil, err
	}

	a.Server, err = web.New(web.Deps{
		Config: cfg, Log: log, Accounts: a.Accounts, Sessions: a.Sessions, Tokens: a.Tokens,
		Credits: a.Credits, Gallery: g, Generation: gen, Jobs: a.Jobs, Audit: a.Audit,
		Settings: a.Settings, Ready: ready(db, blobs), Now: now,
		Guard: a.Abuse.Guard, Moderation: a.Abuse.Moderation, Alerts: a.Abuse.Alerts,
		Metrics: a.Abuse.Metrics,
		Admin:   a.Admin.Service, Vault: a.Admin.Vault, Catalog: a.Admin.Catalog,
		Security: a.Admin.Security, Reports: a.Admin.Reports,
		Mail: a.Mail, SignIn: a.SignIn,
		Enhancer: a.Providers.Enhancer,
		Uploads:  a.Training.Uploads, Training: a.Training.Service,
	})
	if err != nil {
		a.Abuse.close()
		return nil, err
	}
	return a, nil
}

// openBlobs returns the file store: the bucket when S3_ENDPOINT is set, after checking
// that it answers, else the data directory.
func openBlobs(ctx context.Context, cfg *config.Config, log *slog.Logger) (blob.Store, error) {
	st := cfg.Storage
	if !st.S3() {
		return blob.NewDisk(filepath.Join(cfg.DataDir, "files"))
	}
	s3, err := blob.NewS3(ctx, blob.S3Options{Endpoint: st.Endpoint, Bucket: st.Bucket,
		Region: st.Region, AccessKeyID: st.AccessKeyID, SecretAccessKey: st.SecretAccessKey,
		Prefix: st.Prefix, PathStyle: st.PathStyle})
	if err != nil {
		return nil, err
	}
	log.Info("files are kept in S3", "endpoint", st.Endpoint, "bucket", st.Bucket,
		"prefix", st.Prefix)
	return s3, nil
}

// ready reports, for /readyz, whether the database and, when it can tell, the file store
// answer.
func ready(db *database.DB, blobs blob.Store) func(context.Context) error {
	p, ok := blobs.(blob.Pinger)
	if !ok {
		return db.PingContext
	}
	return func(ctx context.Context) error {
		if err := db.PingContext(ctx); err != nil {
			return err
		}
		return p.Ping(ctx)
	}
}

// BcryptSlots is how many bcrypt computations the server runs at once: half the
// processors, at least one, so that a flood of sign-ins leaves the other half to pages and
// downloads. With every processor given to bcrypt, the gallery's p99 rose 4.6 times during
// a sign-in flood on two cores (issue 8, bench/results.md).
func BcryptSlots() int { return max(1, runtime.GOMAXPROCS(0)/2) }

// Close releases the database and the Redis client.
func (a *App) Close() error {
	// The background work must have stopped (its context ended) before the database and
	// the data directory go: housekeeping still writing there made a test's temporary
	// directory impossible to remove.
	a.background.Wait()
	a.Abuse.close()
	return a.DB.Close()
}

// Background runs the workers and the periodic housekeeping until ctx ends.
func (a *App) Background(ctx context.Context) {
	a.background.Go(func() { a.Pool.Run(ctx) })
	if a.Abuse.memory != nil {
		a.background.Go(func() { a.Abuse.memory.Run(ctx, time.Minute) })
	}
	a.background.Go(func() { a.Mail.Run(ctx) })
	a.background.Go(func() {
		tick := time.NewTicker(time.Minute)
		defer tick.Stop()
		for {
			a.housekeeping(ctx)
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	})
}

// housekeeping ends old sessions and gives subscribers their monthly credits.
func (a *App) housekeeping(ctx context.Context) {
	a.runTask(housekeepingTask, func() bool {
		ok := true
		if _, err := a.Sessions.Sweep(ctx); err != nil && ctx.Err() == nil {
			a.Log.Error("session sweep failed", "error", err)
			ok = false
		}
		if n, err := a.Credits.ResetDue(ctx); err != nil && ctx.Err() == nil {
			a.Log.Error("monthly credit reset failed", "error", err)
			ok = false
		} else if n > 0 {
			a.Log.Info("monthly credits reset", "users", n)
		}
		a.Abuse.housekeeping(ctx, a)
		a.accountsHousekeeping(ctx)
		return ok
	})
}

// serve runs the web server until ctx ends, then shuts down gracefully.
func serve(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	app, err := Build(ctx, cfg, log, nil)
	if err != nil {
		return err
	}
	defer app.Close()

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	if cfg.GeneratedSecret {
		log.Warn("using the secret key generated in the data directory; set SECRET_KEY " +
			"for production")
	}
	if err := app.announceSetup(ctx, ln.Addr().String()); err != nil {
		return err
	}

	bg, stopBG := context.WithCancel(context.Background())
	defer stopBG()
	app.Background(bg)
	if cfg.Abuse.MetricsAddr != "" {
		if _, err := app.Abuse.serveMetrics(bg, cfg.Abuse.MetricsAddr, log); err != nil {
			return err
		}
	}
	if cfg.PprofAddr != "" {
		if _, err := servePprof(bg, cfg.PprofAddr, log); err != nil {
			return err
		}
	}

	srv := app.Server.HTTPServer(cfg.Addr)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("SketchMaker is listening", "url", "http://"+ln.Addr().String())

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = srv.Shutdown(shutCtx)
	stopBG()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// announceSetup prints the one-time setup link while the instance has no superadmin.
func (a *App) announceSetup(ctx context.Context, addr string) error {
	token, err := a.Accounts.IssueSetupToken(ctx)
	if err != nil || token == "" {
		return err
	}
	base := a.Config.BaseURL
	if base == "" {
		base = "http://" + addr
	}
	// The token is a one-time credential that the operator needs; it is printed on the
	// console once and is useless after setup or after an hour.
	fmt.Fprintf(os.Stderr, "\n  First run: open this link within an hour to create the "+
		"superadmin account:\n\n    %s/setup?token=%s\n\n", base, token)
	return nil
}
