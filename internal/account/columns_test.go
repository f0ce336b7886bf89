package account

import (
	"strings"
	"testing"
)

// TestJoinedColumnsFollowUserColumns keeps the session lookup's copy of the user columns,
// and the scan targets, in step with userColumns.
func TestJoinedColumnsFollowUserColumns(t *testing.T) {
	split := func(s string) []string {
		var out []string
		for _, c := range strings.Split(s, ",") {
			out = append(out, strings.TrimSpace(c))
		}
		return out
	}
	plain, joined := split(userColumns), split(JoinedColumns)
	if len(plain) != len(joined) || len(plain) != len(ScanTargets(&User{})) {
		t.Fatalf("%d user columns, %d joined, %d scan targets", len(plain), len(joined),
			len(ScanTargets(&User{})))
	}
	for i := range plain {
		if joined[i] != "u."+plain[i] {
			t.Errorf("joined column %d is %q, want u.%s", i, joined[i], plain[i])
		}
	}
}
