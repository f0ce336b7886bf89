// Package outbound makes every HTTP request SketchMaker sends to image and language-model
// providers, and downloads their results, under one policy: connect and total timeouts, no
// proxies from the environment, no redirects for API calls, and no connection to a private,
// loopback, link-local or metadata address unless an administrator configured a self-hosted
// backend at exactly that host and port. The address check runs on the resolved IP that is
// actually dialled, so a DNS answer that changes between check and use (rebinding) cannot
// slip past it.
package outbound

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrRefused is the cause of every connection the policy refuses.
var ErrRefused = errors.New("outbound address refused")

// Resolver finds the addresses of a host name; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Policy says what an outbound client may reach and how long it may take.
type Policy struct {
	// Trusted lists the host:port pairs of self-hosted backends an administrator
	// configured. Only they may be private or loopback addresses.
	Trusted []string
	// ConnectTimeout bounds DNS, TCP and TLS set-up; zero means 10 seconds.
	ConnectTimeout time.Duration
	// Timeout bounds a whole request, body included; zero means 60 seconds.
	Timeout time.Duration
	// RootCAs replaces the system's certificate authorities when not nil (tests, or a
	// private CA in front of self-hosted backends).
	RootCAs *x509.CertPool
	// Resolver replaces the system resolver when not nil.
	Resolver Resolver
}

func (p Policy) connectTimeout() time.Duration {
	if p.ConnectTimeout <= 0 {
		return 10 * time.Second
	}
	return p.ConnectTimeout
}

func (p Policy) timeout() time.Duration {
	if p.Timeout <= 0 {
		return 60 * time.Second
	}
	return p.Timeout
}

// IsTrusted reports whether hostport (such as "127.0.0.1:7860") is an administrator's
// configured backend.
func (p Policy) IsTrusted(hostport string) bool {
	for _, t := range p.Trusted {
		if strings.EqualFold(t, hostport) {
			return true
		}
	}
	return false
}

// HostPort returns the host:port of an absolute URL, with the scheme's default port.
func HostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "443"
		if u.Scheme == "http" {
			port = "80"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// Client returns an HTTP client for provider APIs under p. It follows no redirects: a
// provider API that answers with one gets that answer back, never a second request that
// carries its key elsewhere.
func Client(p Policy) *http.Client {
	c := &http.Client{Transport: Transport(p), Timeout: p.timeout()}
	c.CheckRedirect = func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}
	return c
}

// Transport returns the transport every outbound client uses: the checking dialer,
// TLS 1.2 or later, no proxy, and bounded headers.
func Transport(p Policy) *http.Transport {
	return &http.Transport{
		Proxy:                  nil, // an environment proxy would dial past the address check
		DialContext:            dialer{p}.DialContext,
		TLSClientConfig:        &tls.Config{RootCAs: p.RootCAs, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    p.connectTimeout(),
		ResponseHeaderTimeout:  p.timeout(),
		MaxResponseHeaderBytes: 64 << 10,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        90 * time.Second,
		ForceAttemptHTTP2:      true,
	}
}

// dialer connects only to public addresses, or to an administrator's trusted backends.
type dialer struct{ p Policy }

// DialContext resolves addr itself, checks every address, and dials a checked IP, so the
// name is never resolved a second time behind the check's back.
func (d dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	nd := &net.Dialer{Timeout: d.p.connectTimeout(), KeepAlive: 30 * time.Second}
	ips, err := d.resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	if d.p.IsTrusted(addr) {
		// The administrator named this backend; wherever its name points is theirs, but
		// for the link-local range, which check refuses even to a trusted backend.
		target := net.JoinHostPort(ips[0].Unmap().String(), port)
		if LinkLocal(ips[0]) {
			return nil, d.check(target)
		}
		return nd.DialContext(ctx, network, target)
	}
	target, err := d.pick(ips, port)
	if err != nil {
		return nil, err
	}

	// Control runs on the address the kernel is given: a second line of defence that also
	// covers anything the checks above might have missed.
	nd.Control = func(_, address string, _ syscall.RawConn) error {
		return d.check(address)
	}
	return nd.DialContext(ctx, network, target)
}

// resolve returns the addresses of host; an IP literal is its own answer.
func (d dialer) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip}, nil
	}
	var r Resolver = net.DefaultResolver
	if d.p.Resolver != nil {
		r = d.p.Resolver
	}
	ips, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", host, err)
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("resolve %s: no addresses", host)
	}
	return ips, nil
}

// pick returns the first allowed address as ip:port, or a refusal when none is allowed.
// Any refused address among the answers refuses the whole name: a host that resolves to
// both a public and a private address is not one to trust.
func (d dialer) pick(ips []netip.Addr, port string) (string, error) {
	for _, ip := range ips {
		if err := d.check(net.JoinHostPort(ip.Unmap().String(), port)); err != nil {
			return "", err
		}
	}
	return net.JoinHostPort(ips[0].Unmap().String(), port), nil
}

// check allows a public ip:port, or a private one an administrator trusted.
func (d dialer) check(ipport string) error {
	host, _, err := net.SplitHostPort(ipport)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrRefused, err)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("%w: %q is not an IP address", ErrRefused, host)
	}
	if LinkLocal(ip) {
		// Even a configured backend may not be here: link-local addresses hold the cloud
		// metadata service (169.254.169.254, fd00:ec2::254 on AWS), whose answers are
		// credentials, and no image server.
		return fmt.Errorf("%w: %s is a link-local or cloud metadata address", ErrRefused, ip)
	}
	if Public(ip) || d.p.IsTrusted(ipport) {
		return nil
	}
	return fmt.Errorf("%w: %s is a private, loopback or link-local address", ErrRefused, ip)
}

// metadataV6 is the cloud metadata service's IPv6 address on AWS, a unique local address.
var metadataV6 = netip.MustParseAddr("fd00:ec2::254")

// LinkLocal reports whether ip is link-local, or the cloud metadata service's address;
// IPv6 forms that embed an IPv4 address are judged by it.
func LinkLocal(ip netip.Addr) bool {
	ip = ip.Unmap()
	if v4, ok := embeddedV4(ip); ok {
		return LinkLocal(v4)
	}
	return ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip == metadataV6
}

// special lists ranges that are not reachable public hosts although the netip predicates
// do not say so.
var special = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and broadcast
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("100::/64"),        // discard
}

// Public reports whether ip is an ordinary public unicast address: not loopback, private,
// link-local (which holds the cloud metadata address 169.254.169.254), multicast,
// unspecified or reserved. IPv6 forms that embed an IPv4 address are judged by it.
func Public(ip netip.Addr) bool {
	ip = ip.Unmap()
	if v4, ok := embeddedV4(ip); ok {
		return Public(v4)
	}
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsUnspecified() ||
		ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsMulticast() ||
		ip.IsInterfaceLocalMulticast() {
		return false
	}
	for _, p := range special {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

var (
	nat64   = netip.MustParsePrefix("64:ff9b::/96")
	sixToF  = netip.MustParsePrefix("2002::/16")
	compat4 = netip.MustParsePrefix("::/96")
)

// embeddedV4 returns the IPv4 address inside a NAT64, 6to4 or IPv4-compatible IPv6
// address, which routers may deliver to that IPv4 address.
func embeddedV4(ip netip.Addr) (netip.Addr, bool) {
	if !ip.Is6() {
		return netip.Addr{}, false
	}
	b := ip.As16()
	switch {
	case nat64.Contains(ip), compat4.Contains(ip) && !ip.IsUnspecified() && !ip.IsLoopback():
		return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}), true
	case sixToF.Contains(ip):
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), true
	}
	return netip.Addr{}, false
}
