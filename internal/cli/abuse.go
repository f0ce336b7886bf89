package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sketchmaker/sketchmaker/internal/account"
	"github.com/sketchmaker/sketchmaker/internal/alert"
	"github.com/sketchmaker/sketchmaker/internal/config"
	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/guard"
	"github.com/sketchmaker/sketchmaker/internal/metrics"
	"github.com/sketchmaker/sketchmaker/internal/moderation"
	"github.com/sketchmaker/sketchmaker/internal/ratelimit"
	"github.com/sketchmaker/sketchmaker/internal/role"
	"github.com/sketchmaker/sketchmaker/internal/web"
)

// redisPrefix starts every key SketchMaker keeps in Redis.
const redisPrefix = "sketchmaker:"

// Abuse holds the services of abuse protection and monitoring.
type Abuse struct {
	Guard      *guard.Guard
	Moderation *moderation.Service
	Alerts     *alert.Service
	Metrics    *metrics.Metrics

	// Redis is the client of REDIS_URL, or nil when counters stay in the process.
	Redis *redis.Client

	memory    *ratelimit.Memory
	memBlocks *ratelimit.MemoryBlocks
	lastPrune time.Time
}

// wireAbuse builds the rate limits, IP blocks, content moderation, alerts and metrics. With
// REDIS_URL set, counters and blocks live in Redis, shared by every instance; otherwise in
// the process.
func (a *App) wireAbuse(cfg *config.Config, log *slog.Logger, db *database.DB,
	now func() time.Time) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()

	ab := &Abuse{Metrics: metrics.New(), Alerts: alert.New(db, now, log)}
	if a.Mail != nil {
		ab.Alerts.SetNotifier(alert.MailNotifier{Mail: a.Mail,
			Recipients: a.alertRecipients(cfg.Abuse.AlertEmails)})
	}
	store, blocks, err := ab.counterStores(ctx, cfg, now)
	if err != nil {
		return err
	}

	c := cfg.Abuse
	ab.Guard, err = guard.New(ctx, guard.Config{
		Enabled: c.RateLimitsEnabled, Threshold: c.RateLimitThreshold, BlockFor: c.IPBlock,
		Rates: map[string]ratelimit.Rate{
			guard.ImageGeneration: c.ImageGeneration, guard.PromptEnhancement: c.PromptEnhancement,
			guard.APICalls: c.APICalls, guard.LoginAttempts: c.LoginAttempts,
			guard.LoginIP: c.LoginIP, guard.Training: c.Training, guard.Uploads: c.Uploads,
			guard.PasswordReset: c.PasswordReset,
		},
	}, guard.Deps{Store: store, Blocks: blocks, Settings: a.Settings, Audit: a.Audit,
		Alerts: ab.Alerts, Metrics: ab.Metrics, Log: log})
	if err != nil {
		ab.close()
		return err
	}

	ab.Moderation, err = moderation.NewService(ctx, moderation.Options{
		Enabled: c.ContentFiltering, Threshold: c.SuspiciousThreshold,
	}, moderation.Deps{DB: db, Settings: a.Settings, Audit: a.Audit, Alerts: ab.Alerts,
		Metrics: ab.Metrics, Log: log, Now: now})
	if err != nil {
		ab.close()
		return err
	}

	ab.watch(a)
	a.Abuse = ab
	return nil
}

// counterStores returns the rate limit and block stores: Redis when configured, else memory.
func (ab *Abuse) counterStores(ctx context.Context, cfg *config.Config,
	now func() time.Time) (ratelimit.Store, ratelimit.BlockStore, error) {
	if cfg.RedisURL == "" {
		ab.memory, ab.memBlocks = ratelimit.NewMemory(now), ratelimit.NewMemoryBlocks(now)
		return ab.memory, ab.memBlocks, nil
	}

	opts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		// The parser's message may quote the URL, and with it a password.
		return nil, nil, errors.New("REDIS_URL is not a redis:// or rediss:// URL")
	}
	ab.Redis = redis.NewClient(opts)
	if err := ab.Redis.Ping(ctx).Err(); err != nil {
		ab.close()
		return nil, nil, fmt.Errorf("redis at REDIS_URL does not answer: %w", err)
	}
	return ratelimit.NewRedis(ab.Redis, redisPrefix),
		ratelimit.NewRedisBlocks(ab.Redis, redisPrefix), nil
}

// watch makes the metrics read the job counts and blocks at every scrape.
func (ab *Abuse) watch(a *App) {
	ab.Metrics.WatchJobs(func(ctx context.Context) ([]metrics.JobCount, error) {
		counts, err := a.Jobs.CountByStatus(ctx)
		out := make([]metrics.JobCount, len(counts))
		for i, c := range counts {
			out[i] = metrics.JobCount{Provider: c.Provider, Status: c.Status, Jobs: c.Jobs}
		}
		return out, err
	})
	ab.Metrics.WatchBlocks(func(ctx context.Context) (int, error) {
		blocks, err := ab.Guard.Blocks(ctx)
		return len(blocks), err
	})
}

// housekeeping picks up settings changed on other instances, sweeps expired blocks, and
// applies the audit log's retention once an hour.
func (ab *Abuse) housekeeping(ctx context.Context, a *App) {
	if err := ab.Guard.Refresh(ctx); err != nil && ctx.Err() == nil {
		a.Log.Error("rate limit settings not reloaded", "error", err)
	}
	if err := ab.Moderation.Refresh(ctx); err != nil && ctx.Err() == nil {
		a.Log.Error("content policy not reloaded", "error", err)
	}
	if ab.memBlocks != nil {
		ab.memBlocks.Sweep()
	}

	days := a.Config.Abuse.AuditRetentionDays
	if days == 0 || time.Since(ab.lastPrune) < time.Hour {
		return
	}
	ab.lastPrune = time.Now()
	cutoff := time.Now().AddDate(0, 0, -days)
	if n, err := a.Audit.Prune(ctx, cutoff); err != nil && ctx.Err() == nil {
		a.Log.Error("audit retention not applied", "error", err)
	} else if n > 0 {
		a.Log.Info("old audit events deleted", "events", n, "retention_days", days)
	}
}

// close releases the Redis client.
func (ab *Abuse) close() {
	if ab != nil && ab.Redis != nil {
		_ = ab.Redis.Close()
	}
}

// serveMetrics serves the metrics on METRICS_ADDR until ctx ends. It returns the address
// it listens on once the listener is open, so that a bad address stops the start.
func (ab *Abuse) serveMetrics(ctx context.Context, addr string, log *slog.Logger) (string,
	error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("listen for metrics on %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler:           web.MetricsHandler(ab.Metrics, log),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener stopped", "error", err)
		}
	}()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	log.Info("metrics are served", "url", "http://"+ln.Addr().String()+"/metrics")
	return ln.Addr().String(), nil
}

// alertRecipients returns who hears of critical alerts: the ALERT_EMAIL addresses and every
// active administrator and superadmin.
func (a *App) alertRecipients(extra []string) func(context.Context) ([]string, error) {
	return func(ctx context.Context) ([]string, error) {
		to := append([]string(nil), extra...)
		for _, r := range []role.Role{role.Admin, role.Superadmin} {
			pg, err := a.Accounts.Search(ctx, account.Query{Role: r,
				Status: account.StatusActive, Limit: 500})
			if err != nil {
				return nil, err
			}
			for _, u := range pg.Users {
				to = append(to, u.Email)
			}
		}
		return to, nil
	}
}
