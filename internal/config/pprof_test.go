package config

import (
	"strings"
	"testing"
)

// TestPprofAddr serves the profiler only on a loopback address, and not at all by default.
func TestPprofAddr(t *testing.T) {
	cases := []struct {
		value, want string
		ok          bool
	}{
		{"", "", true},
		{"127.0.0.1:6060", "127.0.0.1:6060", true},
		{"[::1]:6060", "[::1]:6060", true},
		{"0.0.0.0:6060", "", false},
		{"192.168.1.5:6060", "", false},
		{"localhost:6060", "", false}, // a name could resolve anywhere
		{"127.0.0.1", "", false},
	}
	for _, tc := range cases {
		c, err := Load(env(map[string]string{"SKETCHMAKER_PPROF_ADDR": tc.value}), "")
		if !tc.ok {
			if err == nil || !strings.Contains(err.Error(), "SKETCHMAKER_PPROF_ADDR") {
				t.Errorf("%q: accepted or unnamed: %v", tc.value, err)
			}
			continue
		}
		if err != nil || c.PprofAddr != tc.want {
			t.Errorf("%q: %q, %v", tc.value, c.PprofAddr, err)
		}
	}
}
