package audit

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Size limits on what an event stores, in bytes.
const (
	MaxUserAgent    = 512
	MaxIP           = 64
	MaxDetailString = 2048
	MaxDetails      = 16 << 10
)

// Redacted replaces the value of a detail whose key names a secret.
const Redacted = "[redacted]"

// truncated ends a detail string that was cut to MaxDetailString.
const truncated = "…[truncated]"

// secretWords are parts of detail keys whose values are never stored.
var secretWords = []string{"password", "passwd", "token", "secret", "key", "cookie",
	"authorization"}

// Redact returns a copy of details in which the value of every key containing password,
// token, secret, key, cookie or authorization (in any case) is Redacted, in nested maps and
// slices too, and every string is cut to MaxDetailString bytes. Values of other types, such
// as structs, are kept as they are: pass secrets in maps so that Redact can see their keys.
func Redact(details map[string]any) map[string]any {
	if details == nil {
		return nil
	}

	out := make(map[string]any, len(details))
	for k, v := range details {
		if secretKey(k) {
			out[k] = Redacted
			continue
		}
		out[k] = redactValue(v)
	}
	return out
}

func redactValue(v any) any {
	switch v := v.(type) {
	case string:
		return cutDetail(v)
	case map[string]any:
		return Redact(v)
	case map[string]string:
		m := make(map[string]any, len(v))
		for k, s := range v {
			m[k] = s
		}
		return Redact(m)
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = redactValue(x)
		}
		return out
	case []string:
		out := make([]string, len(v))
		for i, s := range v {
			out[i] = cutDetail(s)
		}
		return out
	case error:
		return cutDetail(v.Error())
	default:
		return v
	}
}

func secretKey(k string) bool {
	k = strings.ToLower(k)
	for _, w := range secretWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// cutDetail cuts a detail string to MaxDetailString bytes, marking the cut.
func cutDetail(s string) string {
	if len(s) <= MaxDetailString {
		return s
	}
	return clip(s, MaxDetailString-len(truncated)) + truncated
}

// encodeDetails redacts details and encodes them as JSON with sorted keys, the form that is
// hashed and stored. Details that cannot be encoded, or are too large, are replaced by a
// note saying so, so that the event itself is never lost.
func encodeDetails(details map[string]any) string {
	if len(details) == 0 {
		return "{}"
	}

	b, err := json.Marshal(Redact(details))
	if err != nil {
		return note("details could not be encoded as JSON")
	}
	if len(b) > MaxDetails {
		return note(fmt.Sprintf("details were %d bytes; the limit is %d", len(b), MaxDetails))
	}
	return string(b)
}

func note(msg string) string {
	b, _ := json.Marshal(map[string]string{"details_dropped": msg})
	return string(b)
}

// clip makes s valid UTF-8 without NUL bytes, which PostgreSQL refuses in text, and cuts
// it to at most n bytes without splitting a character.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
