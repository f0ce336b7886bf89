package web

import (
	"net/url"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/fault"
)

// FuzzReadAuditFilter feeds the audit viewer's filters arbitrary query strings: they are
// read or refused with a safe message, never a panic.
func FuzzReadAuditFilter(f *testing.F) {
	for _, q := range []string{"", "type=login_failure&user=3&ip=192.0.2.1",
		"from=2026-05-01&to=2026-05-02", "from=yesterday", "user=-1", "user=9999999999999999999",
		"to=2026-02-30", "page=0&user=%00"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		filter, err := readAuditFilter(q)
		if err != nil {
			if fe := fault.As(err); fe == nil || fe.Field == "" {
				t.Fatalf("error without a field and a safe message: %v", err)
			}
			return
		}
		if filter.UserID < 0 || filter.Limit <= 0 {
			t.Fatalf("filter %+v from %q", filter, raw)
		}
	})
}
