package clientip

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestParseTrusted(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{in: "", want: nil},
		{in: " , ,", want: nil},
		{in: "10.0.0.0/8", want: []string{"10.0.0.0/8"}},
		{in: "10.0.0.0/8, 192.168.1.10", want: []string{"10.0.0.0/8", "192.168.1.10/32"}},
		{in: "fd00::/8,::1,", want: []string{"fd00::/8", "::1/128"}},
		{in: "10.1.2.3/8", want: []string{"10.0.0.0/8"}},
		{in: "::ffff:10.0.0.0/104", want: []string{"10.0.0.0/8"}},
		{in: "::ffff:10.0.0.7", want: []string{"10.0.0.7/32"}},
		{in: "\t172.16.0.0/12 ", want: []string{"172.16.0.0/12"}},
		{in: "10.0.0.0/33", wantErr: `trusted proxy "10.0.0.0/33" (entry 1): not a CIDR range`},
		{in: "10.0.0.0/8,proxy.internal", wantErr: `"proxy.internal" (entry 2)`},
		{in: "10.0.0.0/8,,nope", wantErr: `"nope" (entry 3)`},
		{in: "fe80::1%eth0", wantErr: `"fe80::1%eth0" (entry 1): not an IP address`},
		{in: "192.168.1.10:8080", wantErr: `"192.168.1.10:8080"`},
		{in: "10.0.0.0 /8", wantErr: `"10.0.0.0 /8"`},
		{in: "10.0.0.0/8;192.168.0.0/16", wantErr: `"10.0.0.0/8;192.168.0.0/16"`},
	}

	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTrusted(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseTrusted(%q) error = %v, want it to contain %s",
						tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTrusted(%q): %v", tt.in, err)
			}

			var strs []string
			for _, p := range got {
				strs = append(strs, p.String())
			}
			if !slices.Equal(strs, tt.want) {
				t.Fatalf("ParseTrusted(%q) = %v, want %v", tt.in, strs, tt.want)
			}
		})
	}
}

func testResolver(t testing.TB) Resolver {
	t.Helper()

	trusted, err := ParseTrusted("10.0.0.0/8, 192.168.0.0/16, fd00::/8")
	if err != nil {
		t.Fatal(err)
	}
	return Resolver{Trusted: trusted}
}

func TestResolve(t *testing.T) {
	tests := []struct {
		name   string
		remote string
		xff    []string
		want   string // "" for the zero Addr
	}{
		// Untrusted peers: the header is never read.
		{"direct IPv4", "203.0.113.7:5555", nil, "203.0.113.7"},
		{"direct IPv6", "[2001:db8::1]:443", nil, "2001:db8::1"},
		{"IPv4-mapped peer", "[::ffff:203.0.113.7]:80", nil, "203.0.113.7"},
		{"bare address", "203.0.113.7", nil, "203.0.113.7"},
		{"bare IPv6 address", "2001:db8::1", nil, "2001:db8::1"},
		{"bracketed IPv6 without port", "[2001:db8::1]", nil, "2001:db8::1"},
		{"zone dropped", "[fe80::1%eth0]:80", nil, "fe80::1"},
		{"spoof from untrusted peer", "203.0.113.7:5555", []string{"1.1.1.1"}, "203.0.113.7"},
		{"spoof of a trusted address", "203.0.113.7:5555", []string{"10.0.0.1"}, "203.0.113.7"},
		{"unix socket", "@", []string{"198.51.100.4"}, ""},
		{"empty remote", "", nil, ""},
		{"unbalanced bracket", "[2001:db8::1", nil, ""},

		// Trusted peers: the header is read from the right.
		{"trusted peer without header", "10.0.0.2:1234", nil, "10.0.0.2"},
		{"trusted peer, empty header", "10.0.0.2:1234", []string{""}, "10.0.0.2"},
		{"one hop", "10.0.0.2:1234", []string{"198.51.100.4"}, "198.51.100.4"},
		{"client prepends a fake", "10.0.0.2:1234", []string{"1.2.3.4, 198.51.100.4"},
			"198.51.100.4"},
		{"client prepends a trusted-looking fake", "10.0.0.2:1234",
			[]string{"10.9.9.9, 198.51.100.4"}, "198.51.100.4"},
		{"fake in its own header line", "10.0.0.2:1234", []string{"1.2.3.4", "198.51.100.4"},
			"198.51.100.4"},
		{"chain of trusted proxies", "10.0.0.2:1234",
			[]string{"1.2.3.4, 198.51.100.4, 10.0.0.5, 192.168.1.1"}, "198.51.100.4"},
		{"every hop trusted", "10.0.0.2:1234", []string{"10.0.0.9, 10.0.0.5"}, "10.0.0.9"},
		{"garbage stops at last good", "10.0.0.2:1234",
			[]string{"198.51.100.4, garbage, 10.0.0.5"}, "10.0.0.5"},
		{"garbage rightmost", "10.0.0.2:1234", []string{"198.51.100.4, unknown"}, "10.0.0.2"},
		{"empty entry stops the walk", "10.0.0.2:1234", []string{"198.51.100.4,,10.0.0.5"},
			"10.0.0.5"},
		{"entry with port", "10.0.0.2:1234", []string{"198.51.100.4:61000"}, "198.51.100.4"},
		{"IPv6 entry with port", "10.0.0.2:1234", []string{"[2001:db8::5]:443"}, "2001:db8::5"},
		{"IPv6 entry", "[fd00::2]:1234", []string{"2001:db8::5"}, "2001:db8::5"},
		{"IPv4-mapped entry", "10.0.0.2:1234", []string{"::ffff:198.51.100.4"}, "198.51.100.4"},
		{"IPv4-mapped trusted peer", "[::ffff:10.0.0.2]:1234", []string{"198.51.100.4"},
			"198.51.100.4"},
		{"spaces and tabs", "10.0.0.2:1234", []string{" 1.2.3.4 ,\t198.51.100.4\t"},
			"198.51.100.4"},
		{"header with only a comma", "10.0.0.2:1234", []string{","}, "10.0.0.2"},
		{"hostname entry", "10.0.0.2:1234", []string{"client.example.com"}, "10.0.0.2"},
	}

	r := testResolver(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.Resolve(tt.remote, tt.xff)

			var want netip.Addr
			if tt.want != "" {
				want = netip.MustParseAddr(tt.want)
			}
			if got != want {
				t.Fatalf("Resolve(%q, %q) = %v, want %v", tt.remote, tt.xff, got, want)
			}
		})
	}
}

func TestZeroResolverTrustsNobody(t *testing.T) {
	got := Resolver{}.Resolve("127.0.0.1:9000", []string{"198.51.100.4"})
	if got != netip.MustParseAddr("127.0.0.1") {
		t.Fatalf("Resolve = %v, want the socket peer", got)
	}
}

// A header stuffed with trusted-looking entries cannot make Resolve walk far enough to reach
// the forged address at its left end.
func TestResolveStopsOnHostileChains(t *testing.T) {
	r := testResolver(t)
	header := "6.6.6.6" + strings.Repeat(", 10.0.0.1", 1000)

	got := r.Resolve("10.0.0.2:1234", []string{header})
	if got != netip.MustParseAddr("10.0.0.1") {
		t.Fatalf("Resolve = %v, want the last trusted hop read before giving up", got)
	}
}

func FuzzParseTrusted(f *testing.F) {
	for _, seed := range []string{
		"", "10.0.0.0/8, 192.168.1.10", "fd00::/8,::1", "::ffff:10.0.0.0/104", "1.2.3.4/99",
		"fe80::1%eth0", ",,,", "host.example",
	} {
		f.Add(seed)
	}

	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseTrusted(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "trusted proxy ") {
				t.Fatalf("ParseTrusted(%q) error %q does not name the entry", s, err)
			}
			return
		}
		for _, p := range got {
			if !p.IsValid() || p != p.Masked() || p.Addr().Is4In6() && p.Bits() >= 96 {
				t.Fatalf("ParseTrusted(%q) returned unusable prefix %v", s, p)
			}
		}
	})
}

func FuzzResolve(f *testing.F) {
	f.Add("10.0.0.2:1234", "1.2.3.4, 198.51.100.4", "6.6.6.6")
	f.Add("203.0.113.7:5555", "10.0.0.1", "")
	f.Add("[::ffff:10.0.0.2]:80", "198.51.100.4, garbage, 10.0.0.5", "10.1.1.1")
	f.Add("@", ",,", "x")
	f.Add("[fd00::1]:1", "[2001:db8::5]:443", "fd00::9")

	r := testResolver(f)
	f.Fuzz(func(t *testing.T, remote, xff, forged string) {
		got := r.Resolve(remote, []string{xff})

		peer, ok := parseAddr(remote)
		if !ok {
			if got.IsValid() {
				t.Fatalf("Resolve(%q, ...) = %v for a peer that is not an address", remote, got)
			}
			return
		}
		if !got.IsValid() || got.Zone() != "" || got.Is4In6() {
			t.Fatalf("Resolve(%q, %q) = %v, want a plain valid address", remote, xff, got)
		}
		if !r.trusts(peer) && got != peer {
			t.Fatalf("Resolve(%q, %q) = %v believed the header of an untrusted peer",
				remote, xff, got)
		}

		// Once the client is found, whatever stands to its left is not even read, so a
		// value the client forged there cannot change the answer.
		if !r.trusts(got) && xff != "" {
			if again := r.Resolve(remote, []string{forged, xff}); again != got {
				t.Fatalf("forged %q changed Resolve(%q, %q) from %v to %v",
					forged, remote, xff, got, again)
			}
		}
	})
}
