package ratelimit

import (
	"strings"
	"testing"
	"time"
)

func TestParseRate(t *testing.T) {
	tests := []struct {
		in   string
		want Rate
	}{
		{"20 per minute", Rate{20, time.Minute}},
		{"5/minute", Rate{5, time.Minute}},
		{"1000 per hour", Rate{1000, time.Hour}},
		{"100 per 10 minutes", Rate{100, 10 * time.Minute}},
		{"3 per day", Rate{3, 24 * time.Hour}},
		{"10 per second", Rate{10, time.Second}},
		{"  20   PER   Minute ", Rate{20, time.Minute}},
		{"5 per 1 minute", Rate{5, time.Minute}},
		{"2 per 3 hours", Rate{2, 3 * time.Hour}},
		{"7 per 2 days", Rate{7, 48 * time.Hour}},
		{"5 / 10 minutes", Rate{5, 10 * time.Minute}},
		{"5/10minutes", Rate{5, 10 * time.Minute}},
		{"30/sec", Rate{30, time.Second}},
		{"30/s", Rate{30, time.Second}},
		{"4 per min", Rate{4, time.Minute}},
		{"4 per hr", Rate{4, time.Hour}},
		{"1 per d", Rate{1, 24 * time.Hour}},
		{"1 PER HOURS", Rate{1, time.Hour}},
		{"007 per minute", Rate{7, time.Minute}},
		{"1000000 per second", Rate{MaxLimit, time.Second}},
		{"1 per 1000 days", Rate{1, MaxPeriod}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRate(tt.in)
			if err != nil {
				t.Fatalf("ParseRate(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseRate(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseRateErrors(t *testing.T) {
	tests := []struct {
		in      string
		wantMsg string
	}{
		{"", "write it as"},
		{"20", "write it as"},
		{"per minute", "write it as"},
		{"20 per", "write it as"},
		{"20 minute", "write it as"},
		{"20 every minute", "write it as"},
		{"twenty per minute", "not a whole number"},
		{"-5 per minute", "not a whole number"},
		{"+5 per minute", "not a whole number"},
		{"2.5 per minute", "not a whole number"},
		{"0 per minute", "at least 1"},
		{"1000001 per second", "larger than"},
		{"99999999999999999999 per second", "larger than"},
		{"5 per fortnight", "unknown unit"},
		{"5 per week", "unknown unit"},
		{"5 per minute extra", "unknown unit"},
		{"5 per 10", "unknown unit"},
		{"5/", "unknown unit"},
		{"/minute", "not a whole number"},
		{"5 per 0 minutes", "at least one second"},
		{"5 per -1 minutes", "unknown unit"},
		{"5 per 1001 days", "longer than 1000 days"},
		{"5 per 9999999 days", "larger than"},
		{"5/minute/hour", "unknown unit"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRate(tt.in)
			if err == nil {
				t.Fatalf("ParseRate(%q) = %+v, want an error", tt.in, got)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("ParseRate(%q) error %q, want it to mention %q", tt.in, err, tt.wantMsg)
			}
		})
	}
}

func TestRateString(t *testing.T) {
	tests := []struct {
		rate Rate
		want string
	}{
		{Rate{20, time.Minute}, "20 per minute"},
		{Rate{100, 10 * time.Minute}, "100 per 10 minutes"},
		{Rate{1000, time.Hour}, "1000 per hour"},
		{Rate{3, 24 * time.Hour}, "3 per day"},
		{Rate{3, 48 * time.Hour}, "3 per 2 days"},
		{Rate{10, time.Second}, "10 per second"},
		{Rate{10, 90 * time.Second}, "10 per 90 seconds"},
		{Rate{5, 120 * time.Minute}, "5 per 2 hours"},
		{Rate{5, 1500 * time.Millisecond}, "5 per 1.5s"},
		{Rate{5, 0}, "5 per 0s"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.rate.String(); got != tt.want {
				t.Errorf("%+v.String() = %q, want %q", tt.rate, got, tt.want)
			}
		})
	}
}

func TestRateValidate(t *testing.T) {
	tests := []struct {
		rate Rate
		ok   bool
	}{
		{Rate{1, time.Second}, true},
		{Rate{MaxLimit, time.Second}, true},
		{Rate{1, MaxPeriod}, true},
		{Rate{0, time.Minute}, false},
		{Rate{-1, time.Minute}, false},
		{Rate{MaxLimit + 1, time.Minute}, false},
		{Rate{1, 0}, false},
		{Rate{1, 999 * time.Millisecond}, false},
		{Rate{1, 1500 * time.Millisecond}, false},
		{Rate{1, MaxPeriod + time.Second}, false},
	}
	for _, tt := range tests {
		t.Run(tt.rate.String(), func(t *testing.T) {
			err := tt.rate.Validate()
			if (err == nil) != tt.ok {
				t.Errorf("%+v.Validate() = %v, want ok=%v", tt.rate, err, tt.ok)
			}
		})
	}
}

func TestRateText(t *testing.T) {
	var r Rate
	if err := r.UnmarshalText([]byte("100 per 10 minutes")); err != nil {
		t.Fatalf("UnmarshalText: %v", err)
	}
	if r != (Rate{100, 10 * time.Minute}) {
		t.Errorf("UnmarshalText gave %+v", r)
	}

	text, err := r.MarshalText()
	if err != nil || string(text) != "100 per 10 minutes" {
		t.Errorf("MarshalText = %q, %v", text, err)
	}

	if err := r.UnmarshalText([]byte("lots")); err == nil {
		t.Error("UnmarshalText accepted \"lots\"")
	}
	if r != (Rate{100, 10 * time.Minute}) {
		t.Errorf("a failed UnmarshalText changed the rate to %+v", r)
	}
	if _, err := (Rate{0, time.Minute}).MarshalText(); err == nil {
		t.Error("MarshalText accepted a zero limit")
	}
}

func FuzzParseRate(f *testing.F) {
	for _, s := range []string{
		"20 per minute", "5/minute", "100 per 10 minutes", "3 per day", "10 per second",
		"0 per minute", "5 per 1001 days", "99999999999999999999 per s", "1/ 1 h", "٣ per minute",
	} {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRate(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}

		if err := r.Validate(); err != nil {
			t.Fatalf("ParseRate(%q) = %+v, which does not validate: %v", s, r, err)
		}
		again, err := ParseRate(r.String())
		if err != nil || again != r {
			t.Fatalf("ParseRate(%q) = %+v; its String %q reads back as %+v, %v",
				s, r, r.String(), again, err)
		}
	})
}
