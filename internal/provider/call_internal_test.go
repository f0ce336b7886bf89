package provider

import (
	"strings"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := map[string]time.Duration{
		"":                              0,
		"7":                             7 * time.Second,
		" 12 ":                          12 * time.Second,
		"-3":                            0,
		"999999999":                     24 * time.Hour,
		"soon":                          0,
		"Fri, 02 Jan 2026 03:04:35 GMT": 30 * time.Second,
		"Fri, 02 Jan 2026 03:00:00 GMT": 0,
	}
	for in, want := range cases {
		if got := retryAfter(in, now); got != want {
			t.Errorf("retryAfter(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestBackoffIsBounded(t *testing.T) {
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}
	for i, w := range want {
		if got := backoff(i); got != w {
			t.Errorf("backoff(%d) = %s, want %s", i, got, w)
		}
	}
	if got := backoff(20); got != maxBackoff {
		t.Errorf("backoff(20) = %s", got)
	}
}

func TestDetailNeverEchoesInput(t *testing.T) {
	cases := map[string]string{
		`{"detail":[{"loc":["body","prompt"],"msg":"secret prompt","type":"value_error",` +
			`"input":"secret prompt"}]}`: "[body prompt] value_error",
		`{"error":{"message":"key sk-123 is bad","type":"invalid_request_error",` +
			`"code":"invalid_api_key"}}`: "invalid_request_error invalid_api_key",
		`{"error":{"code":400,"message":"secret","status":"INVALID_ARGUMENT"}}`: "400 INVALID_ARGUMENT",
		`{"detail":"secret prompt is bad"}`:                                     "",
		`<html>secret</html>`:                                                   "",
	}
	for body, want := range cases {
		got := detail([]byte(body))
		if strings.TrimSpace(got) != want {
			t.Errorf("detail(%s) = %q, want %q", body, got, want)
		}
	}
}

func FuzzDetail(f *testing.F) {
	f.Add([]byte(`{"detail":[{"loc":["body","x"],"type":"t"}]}`))
	f.Add([]byte(`{"error":{"type":"a b","code":{"x":1}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		d := detail(body)
		if strings.ContainsAny(d, "\n\r\"") || len(d) > 1000 {
			t.Fatalf("unsafe detail %q", d)
		}
	})
}

func FuzzRetryAfter(f *testing.F) {
	f.Add("120")
	f.Add("Wed, 21 Oct 2015 07:28:00 GMT")
	f.Fuzz(func(t *testing.T, v string) {
		if d := retryAfter(v, time.Now()); d < 0 || d > 24*time.Hour+time.Minute {
			t.Fatalf("retryAfter(%q) = %s", v, d)
		}
	})
}

func FuzzParseModels(f *testing.F) {
	f.Add(catalogJSON)
	f.Add([]byte(`[{"id":"x","provider":"fal","name":"X","size":"aspect_ratio",` +
		`"aspect_ratios":["0:1"]}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		models, err := ParseModels(data)
		if err != nil {
			return
		}
		for _, m := range models {
			args := m.Args(Request{Prompt: "p", Width: 1024, Height: 768, NumImages: 2,
				Format: "png", Style: "modern"})
			if args["prompt"] == nil {
				t.Fatal("no prompt in the arguments")
			}
		}
	})
}
