package credit

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestMilliString(t *testing.T) {
	tests := []struct {
		m    Milli
		want string
	}{
		{0, "0"},
		{1000, "1"},
		{500, "0.5"},
		{100, "0.1"},
		{1, "0.001"},
		{10, "0.01"},
		{2125, "2.125"},
		{2120, "2.12"},
		{1_000_000, "1000"},
		{-500, "-0.5"},
		{-3000, "-3"},
		{math.MaxInt64, "9223372036854775.807"},
		{math.MinInt64, "-9223372036854775.808"},
	}
	for _, tt := range tests {
		if got := tt.m.String(); got != tt.want {
			t.Errorf("Milli(%d).String() = %q, want %q", int64(tt.m), got, tt.want)
		}
	}
}

func TestParseCredits(t *testing.T) {
	tests := []struct {
		in   string
		want Milli
		msg  string // part of the refusal; empty when the input is accepted
	}{
		{"1", 1000, ""},
		{"0.1", 100, ""},
		{"1000", 1_000_000, ""},
		{"2.125", 2125, ""},
		{" 3.5 ", 3500, ""},
		{".5", 500, ""},
		{"007", 7000, ""},
		{"+2", 2000, ""},
		{"-2.5", -2500, ""},
		{"0", 0, ""},
		{"1000000000", MaxBalance, ""},
		{"", 0, "Enter an amount"},
		{"   ", 0, "Enter an amount"},
		{"abc", 0, "digits"},
		{"1e3", 0, "digits"},
		{"0x10", 0, "digits"},
		{"1.2.3", 0, "digits"},
		{"5.", 0, "digits"},
		{".", 0, "digits"},
		{"-", 0, "digits"},
		{"--1", 0, "digits"},
		{"1 000", 0, "digits"},
		{"١٢", 0, "digits"},
		{"1,5", 0, "dot for decimals"},
		{"1,000", 0, "dot for decimals"},
		{"0.0001", 0, "three decimals"},
		{"1000000000.001", 0, "too large"},
		{"99999999999999999999", 0, "too large"},
		{strings.Repeat("1", 100), 0, "too large"},
	}
	for _, tt := range tests {
		got, err := ParseCredits(tt.in)
		if tt.msg == "" {
			if err != nil || got != tt.want {
				t.Errorf("ParseCredits(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
			continue
		}

		var e *Error
		if !errors.As(err, &e) || !strings.Contains(e.Message, tt.msg) {
			t.Errorf("ParseCredits(%q) error = %v; want an *Error mentioning %q", tt.in, err, tt.msg)
		}
	}
}

func TestValidCost(t *testing.T) {
	tests := []struct {
		m  Milli
		ok bool
	}{
		{99, false},
		{100, true},
		{1000, true},
		{1_000_000, true},
		{1_000_001, false},
		{0, false},
		{-100, false},
	}
	for _, tt := range tests {
		err := ValidCost(tt.m)
		if (err == nil) != tt.ok {
			t.Errorf("ValidCost(%s) = %v, want ok=%v", tt.m, err, tt.ok)
		}
	}
}

// FuzzParseCredits checks that any input is either refused with a message or accepted
// within bounds, and that an accepted amount survives a round trip through String.
func FuzzParseCredits(f *testing.F) {
	for _, s := range []string{"1", "0.1", "1000", "2.125", "-0.5", ".5", "5.", "1,5", "1e9",
		"1000000000", "1000000000.001", " 7 ", "\x00", "٣"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseCredits(s)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Message == "" {
				t.Fatalf("ParseCredits(%q) error %v is not an *Error with a message", s, err)
			}
			return
		}
		if m > MaxBalance || m < -MaxBalance {
			t.Fatalf("ParseCredits(%q) = %d, outside ±MaxBalance", s, int64(m))
		}
		back, err := ParseCredits(m.String())
		if err != nil || back != m {
			t.Fatalf("round trip of %q: %d -> %q -> %d, %v", s, int64(m), m.String(), back, err)
		}
	})
}
