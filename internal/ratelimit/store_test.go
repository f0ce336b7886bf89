package ratelimit

import (
	"testing"
	"time"
)

func TestGCRA(t *testing.T) {
	// Five per minute: one request occupies 12 s.
	rate := Rate{5, time.Minute}
	const s = int64(time.Second / time.Microsecond)
	const now = 1_000_000 * s

	tests := []struct {
		name    string
		tat     int64
		wantTat int64
		want    Result
	}{
		{
			name: "unknown key", tat: 0, wantTat: now + 12*s,
			want: Result{Allowed: true, Limit: 5, Remaining: 4, ResetAfter: 12 * time.Second},
		},
		{
			name: "recovered key", tat: now - 3600*s, wantTat: now + 12*s,
			want: Result{Allowed: true, Limit: 5, Remaining: 4, ResetAfter: 12 * time.Second},
		},
		{
			name: "third request", tat: now + 24*s, wantTat: now + 36*s,
			want: Result{Allowed: true, Limit: 5, Remaining: 2, ResetAfter: 36 * time.Second},
		},
		{
			name: "last request", tat: now + 48*s, wantTat: now + 60*s,
			want: Result{Allowed: true, Limit: 5, Remaining: 0, ResetAfter: time.Minute},
		},
		{
			name: "over the limit", tat: now + 60*s, wantTat: now + 60*s,
			want: Result{Limit: 5, ResetAfter: time.Minute, RetryAfter: 12 * time.Second},
		},
		{
			name: "one microsecond inside", tat: now + 48*s - 1, wantTat: now + 60*s - 1,
			want: Result{
				Allowed: true, Limit: 5, Remaining: 0,
				ResetAfter: time.Minute - time.Microsecond,
			},
		},
		{
			name: "one microsecond short", tat: now + 48*s + 1, wantTat: now + 48*s + 1,
			want: Result{
				Limit: 5, ResetAfter: 48*time.Second + time.Microsecond,
				RetryAfter: time.Microsecond,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotTat, got := gcra(tt.tat, now, rate)
			if gotTat != tt.wantTat {
				t.Errorf("tat = now%+dus, want now%+dus", gotTat-now, tt.wantTat-now)
			}
			if got != tt.want {
				t.Errorf("result = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestGCRAExactLimit checks that rates whose period does not divide evenly by the limit still
// allow exactly Limit requests at one instant, never one more.
func TestGCRAExactLimit(t *testing.T) {
	rates := []Rate{
		{1, time.Second}, {3, time.Second}, {7, time.Hour}, {30, 100 * time.Second},
		{999_983, time.Second}, {MaxLimit, time.Second}, {12345, MaxPeriod},
	}
	for _, rate := range rates {
		t.Run(rate.String(), func(t *testing.T) {
			now := int64(1_700_000_000_000_000)
			tat := int64(0)
			allowed := 0
			for range rate.Limit + 2 {
				next, res := gcra(tat, now, rate)
				if res.Allowed {
					allowed++
				}
				tat = next
			}
			if allowed != rate.Limit {
				t.Errorf("allowed %d requests at one instant, want %d", allowed, rate.Limit)
			}
		})
	}
}
