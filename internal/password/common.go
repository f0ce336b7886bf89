package password

import (
	_ "embed"
	"strings"
	"sync"
)

// commonList holds one lowercase password per line; lines starting with # are comments.
//
//go:embed common.txt
var commonList string

// commonPasswords returns the embedded list as a set, built on first use.
var commonPasswords = sync.OnceValue(func() map[string]bool {
	set := make(map[string]bool, 512)
	for line := range strings.Lines(commonList) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		set[strings.ToLower(line)] = true
	}

	return set
})
