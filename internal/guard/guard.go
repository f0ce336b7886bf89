// Package guard applies SketchMaker's abuse limits: named rate limits counted per user and
// per client address, a block for client addresses that keep exceeding them, and an
// allow-list of addresses that are never blocked.
//
// The rates come from the environment (RATE_LIMIT_*); a superadmin may override each rate,
// the master switch and the allow-list at run time. Overrides live in the settings table,
// so every instance picks them up at its next Refresh. Counters and blocks live in a
// ratelimit.Store and ratelimit.BlockStore: in the process, or in Redis when several
// instances must share them.
//
// The web layer calls Allow for every request to a route that names a limit, and
// AllowAccount where a form names an account (sign-in, password reset), so that guessing at
// one account is limited per account and client address while an office behind one address
// still gets the looser per-address limit.
package guard

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/alert"
	"github.com/sketchmaker/sketchmaker/internal/audit"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/metrics"
	"github.com/sketchmaker/sketchmaker/internal/ratelimit"
	"github.com/sketchmaker/sketchmaker/internal/setting"
)

// The names of the limits. Routes name one of them; the rates of the guide's table are
// their defaults.
const (
	ImageGeneration   = "image_generation"
	PromptEnhancement = "prompt_enhancement"
	APICalls          = "api_calls"
	LoginAttempts     = "login_attempts"
	LoginIP           = "login_ip"
	Training          = "training"
	Uploads           = "uploads"
	PasswordReset     = "password_reset"
)

// descriptions says what each limit counts, in the order administrators see them.
var descriptions = []struct{ name, help string }{
	{ImageGeneration, "Image generations, per user and per client address."},
	{PromptEnhancement, "Prompt enhancements, per user and per client address."},
	{APICalls, "Calls to /api/, per user and per client address."},
	{LoginAttempts, "Sign-in attempts at one account from one client address."},
	{LoginIP, "Sign-in, registration and setup posts per client address, whatever the " +
		"account."},
	{Training, "Training jobs, per user and per client address."},
	{Uploads, "Upload requests (each up to 20 images or one archive), per user and per " +
		"client address."},
	{PasswordReset, "Password reset and verification mails, per account and per client " +
		"address."},
}

// Names returns the names of every limit.
func Names() []string {
	out := make([]string, len(descriptions))
	for i, d := range descriptions {
		out[i] = d.name
	}
	return out
}

// Known reports whether name is a limit.
func Known(name string) bool {
	for _, d := range descriptions {
		if d.name == name {
			return true
		}
	}
	return false
}

// ipLimit names the limit that counts a route's requests per client address: sign-in forms
// have their own, looser one, so that many people behind one address can still sign in.
func ipLimit(name string) string {
	if name == LoginAttempts {
		return LoginIP
	}
	return name
}

// Settings keys of the overrides.
const (
	enabledKey   = "ratelimit.enabled"
	ratePrefix   = "ratelimit.rate."
	allowListKey = "ratelimit.allowlist"
)

// Config holds the defaults from the environment.
type Config struct {
	// Enabled switches every limit.
	Enabled bool

	// Rates holds the rate of every limit by name.
	Rates map[string]ratelimit.Rate

	// Threshold refused requests within Window block a client address for BlockFor.
	Threshold int
	Window    time.Duration
	BlockFor  time.Duration
}

// Deps are what a Guard works with. Audit, Alerts and Metrics may be nil.
type Deps struct {
	Store    ratelimit.Store
	Blocks   ratelimit.BlockStore
	Settings *setting.Store
	Audit    *audit.Log
	Alerts   *alert.Service
	Metrics  *metrics.Metrics
	Log      *slog.Logger
}

// Guard decides whether a request may proceed.
type Guard struct {
	Deps
	defaults Config
	blocker  *ratelimit.Blocker

	mu        sync.RWMutex
	enabled   bool
	rates     map[string]ratelimit.Rate
	overrides map[string]bool
	allow     []netip.Prefix
}

// New returns a Guard with cfg's defaults and the overrides saved in the settings.
func New(ctx context.Context, cfg Config, d Deps) (*Guard, error) {
	for _, name := range Names() {
		if err := cfg.Rates[name].Validate(); err != nil {
			return nil, fmt.Errorf("new guard: limit %s: %w", name, err)
		}
	}
	if cfg.Window <= 0 {
		cfg.Window = time.Hour
	}
	blocker, err := ratelimit.NewBlocker(d.Blocks, cfg.Threshold, cfg.Window, cfg.BlockFor)
	if err != nil {
		return nil, fmt.Errorf("new guard: %w", err)
	}

	g := &Guard{Deps: d, defaults: cfg, blocker: blocker}
	g.apply(cfg.Enabled, copyRates(cfg.Rates), map[string]bool{}, nil)
	if err := g.Refresh(ctx); err != nil {
		return nil, err
	}
	return g, nil
}

// Refresh reloads the overrides from the settings. On an error the Guard keeps what it had.
func (g *Guard) Refresh(ctx context.Context) error {
	enabled, err := g.Settings.Bool(ctx, enabledKey, g.defaults.Enabled)
	if err != nil {
		return fmt.Errorf("load rate limit switch: %w", err)
	}

	rates, overrides := copyRates(g.defaults.Rates), map[string]bool{}
	for _, name := range Names() {
		text, ok, err := g.Settings.Get(ctx, ratePrefix+name)
		if err != nil {
			return fmt.Errorf("load rate of %s: %w", name, err)
		}
		if !ok {
			continue
		}
		r, err := ratelimit.ParseRate(text)
		if err != nil {
			g.Log.Error("ignoring a saved rate that does not parse", "limit", name,
				"error", err)
			continue
		}
		rates[name], overrides[name] = r, true
	}

	text, err := g.Settings.String(ctx, allowListKey, "")
	if err != nil {
		return fmt.Errorf("load allow-list: %w", err)
	}
	allow, err := ParseAllowList(text)
	if err != nil {
		g.Log.Error("ignoring a saved allow-list that does not parse", "error", err)
		allow = g.AllowList()
	}

	g.apply(enabled, rates, overrides, allow)
	return nil
}

// apply installs a loaded state.
func (g *Guard) apply(enabled bool, rates map[string]ratelimit.Rate, overrides map[string]bool,
	allow []netip.Prefix) {
	g.mu.Lock()
	g.enabled, g.rates, g.overrides, g.allow = enabled, rates, overrides, allow
	g.mu.Unlock()
	g.blocker.SetAllow(allow)
}

func copyRates(in map[string]ratelimit.Rate) map[string]ratelimit.Rate {
	out := make(map[string]ratelimit.Rate, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}

// Enabled reports whether the limits apply.
func (g *Guard) Enabled() bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.enabled
}

// Rate returns the rate in force for the named limit.
func (g *Guard) Rate(name string) (ratelimit.Rate, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	r, ok := g.rates[name]
	return r, ok
}

// Decision is the answer to Allow.
type Decision struct {
	// Allowed reports whether the request may proceed.
	Allowed bool

	// Limit names the limit that refused the request, or the one counted when allowed.
	Limit string

	// Result is the refusing counter, or the one with the fewest requests left; its
	// Limit is zero when nothing was counted.
	Result ratelimit.Result

	// BlockStarted reports that this refusal blocked the client address.
	BlockStarted bool
}

// counter is one key counted under one limit.
type counter struct {
	limit string
	key   string
}

// Allow counts a request to a route limited by name: per user when userID is not 0 and per
// client address always. When the limits are switched off it allows everything.
func (g *Guard) Allow(ctx context.Context, name string, userID int64, ip string) Decision {
	var counters []counter
	if userID != 0 {
		counters = append(counters, counter{name, fmt.Sprintf("%s:user:%d", name, userID)})
	}
	if key, ok := addressKey(ip); ok {
		counters = append(counters, counter{ipLimit(name), ipLimit(name) + ":ip:" + key})
	}
	return g.check(ctx, counters, userID, ip)
}

// AllowAccount counts an attempt at account (an email address, as typed) from ip under the
// named limit, so that guessing at one account is limited per client address.
func (g *Guard) AllowAccount(ctx context.Context, name, account, ip string) Decision {
	return g.check(ctx, []counter{{name, accountKey(name, account, ip)}}, 0, ip)
}

// ForgetAccount clears what AllowAccount counted for account from ip, after a successful
// sign-in, so that a person who mistyped a few times starts afresh.
func (g *Guard) ForgetAccount(ctx context.Context, name, account, ip string) {
	if err := g.Store.Reset(ctx, accountKey(name, account, ip)); err != nil {
		g.Log.Error("rate limit reset failed", "limit", name, "error", err)
	}
}

// check hits each counter in turn and stops at the first refusal. A store that fails lets
// the request through: the limits protect the service, and an outage of Redis should not
// lock everyone out. The error is logged.
func (g *Guard) check(ctx context.Context, counters []counter, userID int64, ip string) Decision {
	if !g.Enabled() {
		return Decision{Allowed: true}
	}

	d := Decision{Allowed: true}
	for _, c := range counters {
		rate, _ := g.Rate(c.limit)
		res, err := g.Store.Hit(ctx, c.key, rate)
		if err != nil {
			g.Log.Error("rate limit check failed; allowing the request", "limit", c.limit,
				"error", err)
			continue
		}
		if !res.Allowed {
			d = Decision{Limit: c.limit, Result: res}
			d.BlockStarted = g.violation(ctx, c.limit, userID, ip)
			return d
		}
		if d.Result.Limit == 0 || res.Remaining < d.Result.Remaining {
			d.Limit, d.Result = c.limit, res
		}
	}
	return d
}

// violation counts a refusal against ip and, when it starts a block, audits it once and
// raises an alert. It reports whether a block started.
func (g *Guard) violation(ctx context.Context, limit string, userID int64, ip string) bool {
	g.Metrics.RateLimited(limit)
	if _, ok := addressKey(ip); !ok {
		return false
	}
	started, err := g.blocker.Violation(ctx, ip)
	if err != nil {
		g.Log.Error("recording a rate limit violation failed", "error", err)
		return false
	}
	if !started {
		return false
	}

	g.Metrics.IPBlocked()
	g.record(ctx, audit.Event{Type: audit.IPBlocked, UserID: userID, IP: ip,
		Details: map[string]any{"limit": limit, "violations": g.defaults.Threshold,
			"blocked_seconds": int64(g.defaults.BlockFor / time.Second)}})
	if g.Alerts != nil {
		msg := fmt.Sprintf("The client address %s was blocked for %s after %d refused "+
			"requests (last limit: %s).", ip, g.defaults.BlockFor, g.defaults.Threshold, limit)
		if _, _, err := g.Alerts.Raise(ctx, audit.IPBlocked, ip, msg); err != nil {
			g.Log.Error("alert not raised", "error", err)
		}
	}
	return true
}

// record writes an audit event, logging a failure.
func (g *Guard) record(ctx context.Context, e audit.Event) {
	if g.Audit == nil {
		return
	}
	if err := g.Audit.Record(ctx, e); err != nil {
		g.Log.Error("audit event not recorded", "event_type", e.Type, "error", err)
	}
}

// Blocked returns how long ip stays blocked, zero when it is not. An address that does not
// parse (a Unix socket peer) is never blocked.
func (g *Guard) Blocked(ctx context.Context, ip string) (time.Duration, error) {
	if _, ok := addressKey(ip); !ok {
		return 0, nil
	}
	_, left, err := g.blocker.Blocked(ctx, ip)
	return left, err
}

// Blocks returns the blocks in force, those ending soonest first.
func (g *Guard) Blocks(ctx context.Context) ([]ratelimit.Block, error) {
	return g.blocker.List(ctx)
}

// Unblock lifts the block on ip, an address or a block as Blocks lists it.
func (g *Guard) Unblock(ctx context.Context, ip string) error {
	if err := g.blocker.Unblock(ctx, ip); err != nil {
		return fault.Wrap(fault.Invalid, "Give an IP address, or a block as the list shows "+
			"it.", err)
	}
	return nil
}

// addressKey returns the key a client address is counted under: the address for IPv4, its
// /64 prefix for IPv6, since one subscriber usually holds a whole /64.
func addressKey(ip string) (string, bool) {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return "", false
	}
	addr = addr.Unmap().WithZone("")
	if addr.Is4() {
		return addr.String(), true
	}
	return netip.PrefixFrom(addr, 64).Masked().String(), true
}

// accountKey is the counter of attempts at account from ip. The account is hashed so that
// keys stay short and Redis holds no email addresses.
func accountKey(name, account, ip string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(account))))
	key, ok := addressKey(ip)
	if !ok {
		key = "unknown"
	}
	return name + ":account:" + hex.EncodeToString(sum[:12]) + ":" + key
}
