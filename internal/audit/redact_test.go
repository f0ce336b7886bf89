package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestRedact(t *testing.T) {
	in := map[string]any{
		"email":          "a@example.com",
		"password":       "hunter2",
		"New_Password":   "hunter3",
		"api_key":        "sk-123",
		"csrf_token":     "tok",
		"client_secret":  "s",
		"session_cookie": "c",
		"Authorization":  "Bearer x",
		"key":            "k",
		"count":          3,
		"nested": map[string]any{
			"refresh_token": "r",
			"provider":      "fal",
		},
		"headers": map[string]string{"Cookie": "a=b", "Accept": "*/*"},
		"list":    []any{map[string]any{"password": "p", "ok": true}, "plain"},
		"err":     errors.New("boom"),
	}
	want := map[string]any{
		"email":          "a@example.com",
		"password":       Redacted,
		"New_Password":   Redacted,
		"api_key":        Redacted,
		"csrf_token":     Redacted,
		"client_secret":  Redacted,
		"session_cookie": Redacted,
		"Authorization":  Redacted,
		"key":            Redacted,
		"count":          3,
		"nested":         map[string]any{"refresh_token": Redacted, "provider": "fal"},
		"headers":        map[string]any{"Cookie": Redacted, "Accept": "*/*"},
		"list":           []any{map[string]any{"password": Redacted, "ok": true}, "plain"},
		"err":            "boom",
	}
	got := Redact(in)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Redact =\n%#v\nwant\n%#v", got, want)
	}
	if in["password"] != "hunter2" || in["nested"].(map[string]any)["refresh_token"] != "r" {
		t.Error("Redact changed its argument")
	}
	if Redact(nil) != nil {
		t.Error("Redact(nil) is not nil")
	}
}

func TestEncodeDetails(t *testing.T) {
	tests := []struct {
		name    string
		details map[string]any
		want    string
	}{
		{"none", nil, "{}"},
		{"sorted keys", map[string]any{"b": 1, "a": "x"}, `{"a":"x","b":1}`},
		{
			"cannot encode", map[string]any{"f": func() {}},
			`{"details_dropped":"details could not be encoded as JSON"}`,
		},
	}
	for _, tt := range tests {
		if got := encodeDetails(tt.details); got != tt.want {
			t.Errorf("%s: encodeDetails = %s, want %s", tt.name, got, tt.want)
		}
	}

	// Many strings under the per-string limit can still be too much together.
	big := map[string]any{}
	for i := range 20 {
		big[strings.Repeat("k", i+1)] = strings.Repeat("v", MaxDetailString)
	}
	if got := encodeDetails(big); !strings.Contains(got, "details_dropped") {
		t.Errorf("oversized details were stored: %d bytes", len(got))
	}
}

// FuzzLine checks that whatever text an attacker controls, an event becomes exactly one
// line of valid JSON that gives back the text as stored.
func FuzzLine(f *testing.F) {
	f.Add("a@example.com\r\n{\"event_type\":\"login_success\"}", "curl/8", "192.0.2.1")
	f.Add("\u2028\u2029\x00\xff", "\n\n", "")
	f.Add(strings.Repeat("é", 2000), strings.Repeat("x", 600), "::1")
	f.Fuzz(func(t *testing.T, email, ua, ip string) {
		var out bytes.Buffer
		l := &Log{lines: &out}
		s := stored{At: 1, Type: LoginFailure, IP: clip(ip, MaxIP),
			UserAgent: clip(ua, MaxUserAgent),
			Details:   encodeDetails(map[string]any{"email": email})}
		if err := l.writeLine(s); err != nil {
			t.Fatal(err)
		}

		text := out.String()
		if strings.Count(text, "\n") != 1 || !strings.HasSuffix(text, "\n") ||
			strings.Contains(text, "\r") {
			t.Fatalf("not exactly one line: %q", text)
		}
		var got line
		if err := json.Unmarshal(out.Bytes(), &got); err != nil {
			t.Fatalf("line is not JSON: %v", err)
		}
		if got.EventType != LoginFailure || got.UserAgent != s.UserAgent || got.IPAddress != s.IP {
			t.Fatalf("fields changed: %+v", got)
		}
		if len(s.UserAgent) > MaxUserAgent || !utf8.ValidString(s.UserAgent) {
			t.Fatalf("user agent not cut or not UTF-8: %d bytes", len(s.UserAgent))
		}
	})
}
