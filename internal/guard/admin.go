package guard

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/ratelimit"
)

// MaxAllowList is the most entries the allow-list holds.
const MaxAllowList = 1000

// Limit describes one limit for administrators.
type Limit struct {
	Name       string
	Help       string
	Rate       ratelimit.Rate // in force
	Default    ratelimit.Rate // from the environment
	Overridden bool           // Rate comes from a superadmin's setting
}

// Limits returns every limit with its rate in force, in a fixed order.
func (g *Guard) Limits() []Limit {
	g.mu.RLock()
	defer g.mu.RUnlock()

	out := make([]Limit, 0, len(descriptions))
	for _, d := range descriptions {
		out = append(out, Limit{Name: d.name, Help: d.help, Rate: g.rates[d.name],
			Default: g.defaults.Rates[d.name], Overridden: g.overrides[d.name]})
	}
	return out
}

// Change is a setting that an administrator changed, for the audit log.
type Change struct {
	Setting string
	Old     string
	New     string
}

// SetRate overrides the rate of the named limit with text, written like "20 per minute";
// an empty text restores the default from the environment.
func (g *Guard) SetRate(ctx context.Context, name, text string, actorID int64) (Change,
	error) {
	if !Known(name) {
		return Change{}, fault.Field("name", fmt.Sprintf("There is no limit named %q; the "+
			"limits are %s.", name, strings.Join(Names(), ", ")))
	}
	key := ratePrefix + name
	old, _ := g.Rate(name)
	if strings.TrimSpace(text) == "" {
		if err := g.Settings.Delete(ctx, key); err != nil {
			return Change{}, err
		}
		return g.changed(ctx, key, old.String(), g.defaults.Rates[name].String())
	}

	r, err := ratelimit.ParseRate(text)
	if err != nil {
		return Change{}, fault.Wrap(fault.Invalid, "Write the rate like \"20 per minute\" "+
			"or \"100 per 10 minutes\": a count of 1 to 1000000 per second, minute, hour or "+
			"day.", err)
	}
	if _, err := g.Settings.Set(ctx, key, r.String(), actorID); err != nil {
		return Change{}, err
	}
	return g.changed(ctx, key, old.String(), r.String())
}

// SetEnabled switches every limit on or off.
func (g *Guard) SetEnabled(ctx context.Context, on bool, actorID int64) (Change, error) {
	old := g.Enabled()
	if _, err := g.Settings.Set(ctx, enabledKey, strconv.FormatBool(on), actorID); err != nil {
		return Change{}, err
	}
	return g.changed(ctx, enabledKey, strconv.FormatBool(old), strconv.FormatBool(on))
}

// AllowList returns the addresses and ranges that are never blocked.
func (g *Guard) AllowList() []netip.Prefix {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return slices.Clone(g.allow)
}

// SetAllowList replaces the allow-list with the addresses and ranges in text, separated by
// commas, spaces or lines. Blocks already recorded on them stop applying at once.
func (g *Guard) SetAllowList(ctx context.Context, text string, actorID int64) (Change, error) {
	list, err := ParseAllowList(text)
	if err != nil {
		return Change{}, err
	}
	old := FormatAllowList(g.AllowList())
	value := FormatAllowList(list)
	if _, err := g.Settings.Set(ctx, allowListKey, value, actorID); err != nil {
		return Change{}, err
	}
	return g.changed(ctx, allowListKey, old, value)
}

// changed reloads the settings and describes the change.
func (g *Guard) changed(ctx context.Context, key, old, value string) (Change, error) {
	if err := g.Refresh(ctx); err != nil {
		return Change{}, err
	}
	return Change{Setting: key, Old: old, New: value}, nil
}

// ParseAllowList reads addresses and CIDR ranges separated by commas, spaces or lines, such
// as "203.0.113.7, 10.0.0.0/8". An error names the first entry that is neither.
func ParseAllowList(text string) ([]netip.Prefix, error) {
	fields := strings.FieldsFunc(text, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t'
	})
	if len(fields) > MaxAllowList {
		return nil, fault.Field("allow", fmt.Sprintf("The allow-list holds at most %d "+
			"entries.", MaxAllowList))
	}

	var out []netip.Prefix
	for _, f := range fields {
		p, err := parseEntry(f)
		if err != nil {
			return nil, fault.Field("allow", fmt.Sprintf("%q is not an IP address or a "+
				"range such as 203.0.113.0/24 or 2001:db8::/48.", clipEntry(f)))
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// parseEntry reads an address as a one-address range, or a range.
func parseEntry(s string) (netip.Prefix, error) {
	if addr, err := netip.ParseAddr(s); err == nil && addr.Zone() == "" {
		addr = addr.Unmap()
		return netip.PrefixFrom(addr, addr.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return p.Masked(), nil
}

// clipEntry shortens a bad entry for the error message.
func clipEntry(s string) string {
	if r := []rune(s); len(r) > 60 {
		return string(r[:60]) + "…"
	}
	return s
}

// FormatAllowList writes the allow-list one entry per line, single addresses without their
// prefix length.
func FormatAllowList(list []netip.Prefix) string {
	parts := make([]string, len(list))
	for i, p := range list {
		if p.IsSingleIP() {
			parts[i] = p.Addr().String()
		} else {
			parts[i] = p.String()
		}
	}
	return strings.Join(parts, "\n")
}
