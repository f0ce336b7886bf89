package bench

import (
	"math"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}

	cases := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one value", ms(7), 99, 7 * time.Millisecond},
		{"median of four is the second", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"median of five", ms(1, 2, 3, 4, 5), 50, 3 * time.Millisecond},
		{"p99 of 1..100", hundred, 99, 99 * time.Millisecond},
		{"p100 is the largest", hundred, 100, 100 * time.Millisecond},
		{"p1 of 1..100", hundred, 1, time.Millisecond},
		{"p0 clamps to the smallest", hundred, 0, time.Millisecond},
		{"above 100 clamps to the largest", ms(1, 9), 150, 9 * time.Millisecond},
		{"p99 of ten is the largest", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99,
			10 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Percentile(tc.sorted, tc.p); got != tc.want {
				t.Fatalf("Percentile(%v, %v) = %v, want %v", tc.sorted, tc.p, got, tc.want)
			}
		})
	}
}

func TestRatio(t *testing.T) {
	cases := []struct {
		a, b, want float64
	}{
		{300, 1000, 0.3},
		{5, 2, 2.5},
		{0, 4, 0},
		{1, 0, math.NaN()},
		{math.NaN(), 1, math.NaN()},
		{1, math.NaN(), math.NaN()},
	}
	for _, tc := range cases {
		got := Ratio(tc.a, tc.b)
		if math.IsNaN(tc.want) != math.IsNaN(got) ||
			(!math.IsNaN(got) && math.Abs(got-tc.want) > 1e-12) {
			t.Errorf("Ratio(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestTargetMet(t *testing.T) {
	cases := []struct {
		name   string
		target Target
		v      float64
		want   bool
	}{
		{"at least, above", Target{AtLeast, 0.3, ""}, 0.31, true},
		{"at least, equal", Target{AtLeast, 0.3, ""}, 0.3, true},
		{"at least, below", Target{AtLeast, 0.3, ""}, 0.29, false},
		{"at most, equal", Target{AtMost, 4, ""}, 4, true},
		{"at most, above", Target{AtMost, 4, ""}, 4.01, false},
		{"below, equal is not below", Target{Below, 150, ""}, 150, false},
		{"below, under", Target{Below, 150, ""}, 149.9, true},
		{"a missing reference never passes", Target{AtMost, 4, ""}, math.NaN(), false},
		{"infinity never passes", Target{AtLeast, 0.3, ""}, math.Inf(1), false},
		{"an unknown comparison never passes", Target{Op(9), 1, ""}, 1, false},
	}
	for _, tc := range cases {
		if got := tc.target.Met(tc.v); got != tc.want {
			t.Errorf("%s: Met(%v) = %v, want %v", tc.name, tc.v, got, tc.want)
		}
	}
}

func TestSummaryAndCombine(t *testing.T) {
	a := merge([][]time.Duration{{3 * time.Millisecond, time.Millisecond},
		{2 * time.Millisecond}}, 1, "boom", 2*time.Second)
	if a.Requests != 3 || a.RPS() != 1.5 || a.P(50) != 2*time.Millisecond {
		t.Fatalf("merge: %d requests, %v req/s, p50 %v", a.Requests, a.RPS(), a.P(50))
	}
	b := merge([][]time.Duration{{10 * time.Millisecond}}, 2, "", time.Second)

	c := Combine([]Summary{a, b})
	if c.Requests != 4 || c.Errors != 3 || c.Elapsed != 3*time.Second || c.FirstErr != "boom" {
		t.Fatalf("Combine = %+v", c)
	}
	for i := 1; i < len(c.Latencies); i++ {
		if c.Latencies[i] < c.Latencies[i-1] {
			t.Fatalf("combined latencies are not sorted: %v", c.Latencies)
		}
	}
	if c.P(100) != 10*time.Millisecond {
		t.Fatalf("p100 = %v", c.P(100))
	}
	if (Summary{}).RPS() != 0 {
		t.Fatal("an empty summary has requests per second")
	}
}
