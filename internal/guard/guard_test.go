package guard_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/alert"
	"github.com/sketchmaker/sketchmaker/internal/audit"
	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/guard"
	"github.com/sketchmaker/sketchmaker/internal/metrics"
	"github.com/sketchmaker/sketchmaker/internal/ratelimit"
	"github.com/sketchmaker/sketchmaker/internal/setting"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fixture is a Guard on a real database with in-memory counters and a fake clock.
type fixture struct {
	g       *guard.Guard
	db      *database.DB
	clock   *clock
	audit   *audit.Log
	alerts  *alert.Service
	metrics *metrics.Metrics
	blocks  *ratelimit.MemoryBlocks
	deps    guard.Deps
	cfg     guard.Config
}

func rates(t *testing.T, spec map[string]string) map[string]ratelimit.Rate {
	t.Helper()
	out := map[string]ratelimit.Rate{}
	for _, name := range guard.Names() {
		text := "1000 per minute"
		if s, ok := spec[name]; ok {
			text = s
		}
		r, err := ratelimit.ParseRate(text)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = r
	}
	return out
}

func newFixture(t *testing.T, db *database.DB, cfg guard.Config) *fixture {
	t.Helper()
	c := &clock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f := &fixture{db: db, clock: c, cfg: cfg, metrics: metrics.New(),
		audit:  audit.New(db, io.Discard, c.now),
		alerts: alert.New(db, c.now, log),
		blocks: ratelimit.NewMemoryBlocks(c.now)}
	f.deps = guard.Deps{Store: ratelimit.NewMemory(c.now), Blocks: f.blocks,
		Settings: setting.New(db, c.now), Audit: f.audit, Alerts: f.alerts,
		Metrics: f.metrics, Log: log}
	g, err := guard.New(context.Background(), cfg, f.deps)
	if err != nil {
		t.Fatal(err)
	}
	f.g = g
	return f
}

func config(t *testing.T, spec map[string]string) guard.Config {
	return guard.Config{Enabled: true, Rates: rates(t, spec), Threshold: 100,
		BlockFor: time.Hour}
}

// TestEachLimit checks every limit of the table: its rate is counted per user and per
// client address, and a refusal says when to retry.
func TestEachLimit(t *testing.T) {
	db := dbtest.SQLite(t)
	spec := map[string]string{}
	for _, name := range guard.Names() {
		spec[name] = "2 per minute"
	}
	f := newFixture(t, db, config(t, spec))
	ctx := context.Background()

	for i, name := range guard.Names() {
		ip := netip.AddrFrom4([4]byte{198, 51, 100, byte(i + 1)}).String()
		for n := range 2 {
			d := f.g.Allow(ctx, name, 7, ip)
			if !d.Allowed || d.Result.Limit != 2 {
				t.Fatalf("%s request %d = %+v, want allowed under a limit of 2", name, n+1, d)
			}
		}
		d := f.g.Allow(ctx, name, 7, ip)
		if d.Allowed || d.Result.RetryAfter <= 0 || d.Result.Remaining != 0 {
			t.Errorf("%s third request = %+v, want refused with a retry time", name, d)
		}

		f.clock.advance(time.Minute)
		if d := f.g.Allow(ctx, name, 7, ip); !d.Allowed {
			t.Errorf("%s after a minute = %+v, want allowed again", name, d)
		}
	}
}

func TestDefaultsOfTheGuide(t *testing.T) {
	want := map[string]string{
		guard.ImageGeneration: "20 per minute", guard.PromptEnhancement: "100 per minute",
		guard.APICalls: "1000 per hour", guard.LoginAttempts: "5 per minute",
		guard.LoginIP: "50 per minute", guard.Training: "5 per hour",
		guard.Uploads: "60 per hour", guard.PasswordReset: "5 per hour",
	}
	f := newFixture(t, dbtest.SQLite(t), config(t, want))
	for _, l := range f.g.Limits() {
		if l.Rate.String() != want[l.Name] || l.Overridden || l.Help == "" {
			t.Errorf("limit %+v, want %s from the environment", l, want[l.Name])
		}
	}
}

// TestUserAndAddressAreBothCounted checks that a signed-in user is limited wherever they
// come from, and an address whoever uses it.
func TestUserAndAddressAreBothCounted(t *testing.T) {
	f := newFixture(t, dbtest.SQLite(t), config(t, map[string]string{
		guard.ImageGeneration: "2 per minute"}))
	ctx := context.Background()
	gen := guard.ImageGeneration

	f.g.Allow(ctx, gen, 1, "198.51.100.1")
	f.g.Allow(ctx, gen, 1, "198.51.100.2")
	if d := f.g.Allow(ctx, gen, 1, "198.51.100.3"); d.Allowed || d.Limit != gen {
		t.Errorf("user 1 from a third address = %+v, want refused by the user counter", d)
	}

	f.g.Allow(ctx, gen, 2, "203.0.113.5")
	f.g.Allow(ctx, gen, 3, "203.0.113.5")
	if d := f.g.Allow(ctx, gen, 4, "203.0.113.5"); d.Allowed {
		t.Errorf("a fourth user from a used-up address = %+v, want refused", d)
	}
	if d := f.g.Allow(ctx, gen, 0, "203.0.113.5"); d.Allowed {
		t.Errorf("anonymous from a used-up address = %+v, want refused", d)
	}
	if d := f.g.Allow(ctx, gen, 5, "203.0.113.6"); !d.Allowed {
		t.Errorf("a fresh user from a fresh address = %+v, want allowed", d)
	}

	// IPv6 clients are counted by their /64.
	f.g.Allow(ctx, gen, 0, "2001:db8:1:2::1")
	f.g.Allow(ctx, gen, 0, "2001:db8:1:2::ffff")
	if d := f.g.Allow(ctx, gen, 0, "2001:db8:1:2:aaaa::9"); d.Allowed {
		t.Errorf("a third address of the same /64 = %+v, want refused", d)
	}
}

// TestSignInLimits checks the strict limit per account and address and the looser one per
// address alone.
func TestSignInLimits(t *testing.T) {
	f := newFixture(t, dbtest.SQLite(t), config(t, map[string]string{
		guard.LoginAttempts: "2 per minute", guard.LoginIP: "5 per minute"}))
	ctx := context.Background()
	ip := "192.0.2.10"

	for i := range 2 {
		if d := f.g.AllowAccount(ctx, guard.LoginAttempts, "ann@example.com", ip); !d.Allowed {
			t.Fatalf("attempt %d at ann refused: %+v", i+1, d)
		}
	}
	if d := f.g.AllowAccount(ctx, guard.LoginAttempts, " ANN@example.com", ip); d.Allowed ||
		d.Limit != guard.LoginAttempts {
		t.Errorf("third attempt at ann (other spelling) = %+v, want refused", d)
	}
	if d := f.g.AllowAccount(ctx, guard.LoginAttempts, "bob@example.com", ip); !d.Allowed {
		t.Errorf("another account from the same address refused: %+v", d)
	}
	if d := f.g.AllowAccount(ctx, guard.LoginAttempts, "ann@example.com",
		"192.0.2.11"); !d.Allowed {
		t.Errorf("ann from another address refused: %+v", d)
	}
	f.g.ForgetAccount(ctx, guard.LoginAttempts, "ann@example.com", ip)
	if d := f.g.AllowAccount(ctx, guard.LoginAttempts, "ann@example.com", ip); !d.Allowed {
		t.Errorf("ann after a successful sign-in refused: %+v", d)
	}

	for i := range 5 {
		if d := f.g.Allow(ctx, guard.LoginAttempts, 0, ip); !d.Allowed ||
			d.Limit != guard.LoginIP {
			t.Fatalf("form post %d = %+v, want allowed under the per-address limit", i+1, d)
		}
	}
	if d := f.g.Allow(ctx, guard.LoginAttempts, 0, ip); d.Allowed || d.Limit != guard.LoginIP {
		t.Errorf("sixth form post = %+v, want refused by %s", d, guard.LoginIP)
	}
}

// TestViolationsBlockOnce checks that the threshold of refusals blocks an address, that the
// block is audited and alerted once, and that unblocking and the allow-list work.
func TestViolationsBlockOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		cfg := config(t, map[string]string{guard.APICalls: "1 per hour"})
		cfg.Threshold = 3
		f := newFixture(t, db, cfg)
		ctx := context.Background()
		ip := "203.0.113.77"

		f.g.Allow(ctx, guard.APICalls, 0, ip)
		started := 0
		for range 10 {
			d := f.g.Allow(ctx, guard.APICalls, 0, ip)
			if d.Allowed {
				t.Fatal("a request over the limit was allowed")
			}
			if d.BlockStarted {
				started++
			}
		}
		if started != 1 {
			t.Errorf("%d refusals started a block, want exactly 1", started)
		}
		if left, err := f.g.Blocked(ctx, ip); err != nil || left != time.Hour {
			t.Errorf("Blocked = %s, %v; want 1h", left, err)
		}
		if left, _ := f.g.Blocked(ctx, "203.0.113.78"); left != 0 {
			t.Error("a neighbouring address is blocked too")
		}
		rows, total, err := f.audit.List(ctx, audit.Filter{Type: audit.IPBlocked})
		if err != nil || total != 1 || rows[0].IP != ip {
			t.Errorf("ip_blocked events = %d (%v), want 1 for %s", total, err, ip)
		}
		if open, n, _ := f.alerts.Open(ctx, 0); n != 1 || open[0].Subject != ip {
			t.Errorf("alerts = %+v, want one about %s", open, ip)
		}
		var buf bytes.Buffer
		f.metrics.Write(ctx, &buf)
		if !strings.Contains(buf.String(), "sketchmaker_ip_blocks_total 1\n") ||
			!strings.Contains(buf.String(), `sketchmaker_rate_limited_total{limit="api_calls"} 10`) {
			t.Errorf("metrics do not show the block and the refusals:\n%s", buf.String())
		}

		blocks, err := f.g.Blocks(ctx)
		if err != nil || len(blocks) != 1 || blocks[0].IP != ip {
			t.Fatalf("Blocks = %+v, %v", blocks, err)
		}
		if err := f.g.Unblock(ctx, ip); err != nil {
			t.Fatal(err)
		}
		if left, _ := f.g.Blocked(ctx, ip); left != 0 {
			t.Error("still blocked after Unblock")
		}
		if err := f.g.Unblock(ctx, "not an address"); fault.As(err) == nil {
			t.Errorf("Unblock of garbage = %v, want a safe error", err)
		}

		if _, err := f.g.SetAllowList(ctx, "203.0.113.0/24", 1); err != nil {
			t.Fatal(err)
		}
		for range 10 {
			if d := f.g.Allow(ctx, guard.APICalls, 0, ip); d.BlockStarted {
				t.Fatal("an allow-listed address was blocked")
			}
		}
		if left, _ := f.g.Blocked(ctx, ip); left != 0 {
			t.Error("an allow-listed address is blocked")
		}
	})
}

func TestSwitchAndOverrides(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		f := newFixture(t, db, config(t, map[string]string{guard.APICalls: "1 per hour"}))
		other, err := guard.New(ctx, f.cfg, f.deps) // a second instance on the same database
		if err != nil {
			t.Fatal(err)
		}

		ch, err := f.g.SetRate(ctx, guard.APICalls, "3 / hour", 1)
		if err != nil || ch.Old != "1 per hour" || ch.New != "3 per hour" ||
			ch.Setting != "ratelimit.rate.api_calls" {
			t.Fatalf("SetRate = %+v, %v", ch, err)
		}
		if r, _ := other.Rate(guard.APICalls); r.Limit != 1 {
			t.Fatal("the other instance changed before Refresh")
		}
		if err := other.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if r, _ := other.Rate(guard.APICalls); r.String() != "3 per hour" {
			t.Errorf("other instance after Refresh: %s", r)
		}
		for _, l := range other.Limits() {
			if l.Name == guard.APICalls && (!l.Overridden || l.Default.Limit != 1) {
				t.Errorf("limit %+v, want overridden with default 1 per hour", l)
			}
		}

		for _, bad := range []struct{ name, text string }{
			{guard.APICalls, "lots"}, {guard.APICalls, "0 per minute"},
			{"made_up", "1 per minute"},
		} {
			_, err := f.g.SetRate(ctx, bad.name, bad.text, 1)
			if fe := fault.As(err); fe == nil || fe.Kind != fault.Invalid {
				t.Errorf("SetRate(%q, %q) = %v, want a validation error", bad.name,
					bad.text, err)
			}
		}

		if _, err := f.g.SetRate(ctx, guard.APICalls, "", 1); err != nil {
			t.Fatal(err)
		}
		if r, _ := f.g.Rate(guard.APICalls); r.String() != "1 per hour" {
			t.Errorf("after clearing the override: %s, want the default", r)
		}

		if _, err := f.g.SetEnabled(ctx, false, 1); err != nil {
			t.Fatal(err)
		}
		for range 5 {
			if d := f.g.Allow(ctx, guard.APICalls, 0, "192.0.2.1"); !d.Allowed {
				t.Fatal("a request was refused with the limits switched off")
			}
		}
	})
}

// failingStore is a Store whose server is down.
type failingStore struct{}

func (failingStore) Hit(context.Context, string, ratelimit.Rate) (ratelimit.Result, error) {
	return ratelimit.Result{}, errors.New("connection refused")
}
func (failingStore) Reset(context.Context, string) error { return errors.New("refused") }

func TestStoreOutageLetsRequestsThrough(t *testing.T) {
	f := newFixture(t, dbtest.SQLite(t), config(t, map[string]string{
		guard.APICalls: "1 per hour"}))
	f.deps.Store = failingStore{}
	g, err := guard.New(context.Background(), f.cfg, f.deps)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if d := g.Allow(context.Background(), guard.APICalls, 1, "192.0.2.1"); !d.Allowed {
			t.Fatal("a store outage refused a request")
		}
	}
}

func TestParseAllowList(t *testing.T) {
	tests := []struct {
		in   string
		want string
		bad  bool
	}{
		{"", "", false},
		{"203.0.113.7", "203.0.113.7", false},
		{"10.1.2.3/8,\n 2001:db8::1/48\r\n::ffff:192.0.2.1", "10.0.0.0/8\n2001:db8::/48\n" +
			"192.0.2.1", false},
		{"203.0.113.7 203.0.113.7", "203.0.113.7", false},
		{"203.0.113.7, example.com", "", true},
		{"fe80::1%eth0", "", true},
		{"10.0.0.0/33", "", true},
	}
	for _, tt := range tests {
		got, err := guard.ParseAllowList(tt.in)
		if tt.bad {
			if fe := fault.As(err); fe == nil || fe.Field != "allow" {
				t.Errorf("ParseAllowList(%q) = %v, %v; want a field error", tt.in, got, err)
			}
			continue
		}
		if err != nil || guard.FormatAllowList(got) != tt.want {
			t.Errorf("ParseAllowList(%q) = %q, %v; want %q", tt.in,
				guard.FormatAllowList(got), err, tt.want)
		}
	}
}

func FuzzParseAllowList(f *testing.F) {
	for _, s := range []string{"", "10.0.0.0/8", "1.2.3.4, ::1", "::ffff:1.2.3.4/120",
		"a/b", "1.2.3.4/99", strings.Repeat("1.1.1.1 ", 1001)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		list, err := guard.ParseAllowList(s)
		if err != nil {
			if fault.As(err) == nil {
				t.Fatalf("error without a safe message: %v", err)
			}
			return
		}
		again, err := guard.ParseAllowList(guard.FormatAllowList(list))
		if err != nil || guard.FormatAllowList(again) != guard.FormatAllowList(list) {
			t.Fatalf("round trip of %q changed: %v", s, err)
		}
	})
}
