package generation

import "time"

// SetCheckTimeout makes checking the providers give up after d, until the next Configure.
func SetCheckTimeout(d time.Duration) {
	next := *table.Load()
	next.timeout = d
	table.Store(&next)
}
