package ratelimit

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestNewBlockerValidates(t *testing.T) {
	store := NewMemoryBlocks(time.Now)
	tests := []struct {
		name      string
		backend   BlockStore
		threshold int
		window    time.Duration
		blockFor  time.Duration
		wantMsg   string
	}{
		{"ok", store, 100, time.Hour, time.Hour, ""},
		{"no store", nil, 100, time.Hour, time.Hour, "no block store"},
		{"zero threshold", store, 0, time.Hour, time.Hour, "threshold 0"},
		{"short window", store, 1, time.Millisecond, time.Hour, "window 1ms"},
		{"negative block", store, 1, time.Hour, -time.Hour, "block duration -1h0m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := NewBlocker(tt.backend, tt.threshold, tt.window, tt.blockFor)
			if tt.wantMsg == "" {
				if err != nil || b == nil {
					t.Fatalf("NewBlocker = %v, %v", b, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("NewBlocker error = %v, want it to mention %q", err, tt.wantMsg)
			}
		})
	}
}

func TestClientKey(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"192.0.2.1", "192.0.2.1"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"2001:db8::1", "2001:db8::/64"},
		{"2001:DB8:0:0:1:2:3:4", "2001:db8::/64"},
		{"2001:db8:aa:bb:cc::1", "2001:db8:aa:bb::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"::1", "::/64"},
		{"not an address", ""},
		{"192.0.2.1:443", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ClientKey(tt.in)
			if tt.want == "" {
				if err == nil {
					t.Errorf("ClientKey(%q) = %q, want an error", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ClientKey(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestBlockKey(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"192.0.2.1", "192.0.2.1"},
		{"192.0.2.1/32", "192.0.2.1"},
		{"2001:db8::/64", "2001:db8::/64"},
		{"2001:db8::9/64", "2001:db8::/64"},
		{"2001:db8::9", "2001:db8::/64"},
		{"192.0.2.0/24", ""},
		{"2001:db8::/48", ""},
		{"2001:db8::1/128", ""},
		{"example.com", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := blockKey(tt.in)
			if tt.want == "" {
				if err == nil {
					t.Errorf("blockKey(%q) = %q, want an error", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("blockKey(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

// FuzzBlockKey checks that any text an administrator types into the unblock form yields a key
// that is stable, or a clear error.
func FuzzBlockKey(f *testing.F) {
	for _, s := range []string{
		"192.0.2.1", "2001:db8::/64", "::ffff:1.2.3.4", "fe80::1%eth0", "1.2.3.4/33", "",
	} {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, s string) {
		key, err := blockKey(s)
		if err != nil {
			if !strings.Contains(err.Error(), "is") {
				t.Fatalf("unclear error %q", err)
			}
			return
		}

		again, err := blockKey(key)
		if err != nil || again != key {
			t.Fatalf("blockKey(%q) = %q, which maps to %q, %v", s, key, again, err)
		}
		if _, err := netip.ParseAddr(key); err != nil {
			if _, err := netip.ParsePrefix(key); err != nil {
				t.Fatalf("blockKey(%q) = %q, neither an address nor a prefix", s, key)
			}
		}
	})
}
