// Package clientip works out which address a request really came from when SketchMaker runs
// behind reverse proxies.
//
// The socket's peer is the client unless that peer is a proxy the operator trusts
// (TRUSTED_PROXIES). Only then is X-Forwarded-For read, from the right, since each proxy
// appends the address it saw: the first address that is not a trusted proxy is the client.
// Whatever a client writes into the header itself sits to the left of that address and is
// never believed. The package takes strings rather than an *http.Request so that it stays
// free of net/http.
package clientip

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// maxHops bounds how many X-Forwarded-For entries Resolve reads; no real chain of proxies
// comes near it, so hitting it means the header is hostile.
const maxHops = 32

// ParseTrusted parses a comma-separated list of IP addresses and CIDR ranges, such as
// "10.0.0.0/8, 192.168.1.10, fd00::/8". Blank entries are ignored and an empty list trusts
// nobody. An error names the first entry that is neither an address nor a range.
func ParseTrusted(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for i, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}

		prefix, err := parseEntry(entry)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q (entry %d): %w", entry, i+1, err)
		}
		out = append(out, prefix)
	}

	return out, nil
}

// parseEntry reads one trusted-proxy entry, widening a bare address to a one-address range
// and writing IPv4-mapped IPv6 ranges as plain IPv4 so they match unmapped peers.
func parseEntry(entry string) (netip.Prefix, error) {
	if !strings.Contains(entry, "/") {
		addr, err := netip.ParseAddr(entry)
		if err != nil || addr.Zone() != "" {
			return netip.Prefix{}, errors.New("not an IP address or a CIDR range " +
				"such as 10.0.0.0/8 or 192.168.1.10")
		}
		addr = addr.Unmap()
		return netip.PrefixFrom(addr, addr.BitLen()), nil
	}

	prefix, err := netip.ParsePrefix(entry)
	if err != nil {
		return netip.Prefix{}, errors.New("not a CIDR range such as 10.0.0.0/8 or fd00::/8")
	}
	if addr := prefix.Addr(); addr.Is4In6() && prefix.Bits() >= 96 {
		prefix = netip.PrefixFrom(addr.Unmap(), prefix.Bits()-96)
	}

	return prefix.Masked(), nil
}

// Resolver finds the client address of a request. The zero Resolver trusts no proxy.
type Resolver struct {
	// Trusted lists the proxies whose X-Forwarded-For entries are believed.
	Trusted []netip.Prefix
}

// Resolve returns the client address of a request whose socket peer is remoteAddr
// ("ip:port", "[ipv6]:port" or a bare address) and whose X-Forwarded-For header had the
// given values. The header is read only when the peer is trusted; then the result is the
// rightmost address in it that is not trusted, or the leftmost trusted one if all are. An
// entry that is not an address stops the walk at the last good address. The result is the
// zero Addr only when remoteAddr itself is not an address (a Unix socket, for instance).
func (r Resolver) Resolve(remoteAddr string, xForwardedFor []string) netip.Addr {
	peer, ok := parseAddr(remoteAddr)
	if !ok || !r.trusts(peer) {
		return peer
	}

	client := peer
	header := strings.Join(xForwardedFor, ",")
	for hop := 0; hop < maxHops && header != ""; hop++ {
		var entry string
		header, entry = cutLast(header)

		addr, ok := parseAddr(strings.TrimSpace(entry))
		if !ok {
			break
		}
		client = addr
		if !r.trusts(addr) {
			break
		}
	}

	return client
}

// trusts reports whether addr belongs to a trusted proxy.
func (r Resolver) trusts(addr netip.Addr) bool {
	for _, p := range r.Trusted {
		if p.Contains(addr) {
			return true
		}
	}

	return false
}

// cutLast splits off the last comma-separated entry of list.
func cutLast(list string) (rest, last string) {
	i := strings.LastIndexByte(list, ',')
	if i < 0 {
		return "", list
	}

	return list[:i], list[i+1:]
}

// parseAddr reads an address as a socket or proxy reports it: "ip", "ip:port", "[ipv6]" or
// "[ipv6]:port". IPv4-mapped IPv6 addresses come back as IPv4 and zones are dropped.
func parseAddr(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return normalize(ap.Addr()), true
	}

	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		s = s[1 : len(s)-1]
	}
	addr, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}

	return normalize(addr), true
}

func normalize(addr netip.Addr) netip.Addr {
	return addr.Unmap().WithZone("")
}
