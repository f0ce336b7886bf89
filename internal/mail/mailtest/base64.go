package mailtest

import (
	"encoding/base64"
	"io"
	"strings"
)

// newBase64Reader decodes a base64 body whose lines are broken every 76 characters.
func newBase64Reader(r io.Reader) io.Reader {
	b, err := io.ReadAll(r)
	if err != nil {
		return strings.NewReader("")
	}
	clean := strings.Map(func(c rune) rune {
		if c == '\r' || c == '\n' || c == ' ' {
			return -1
		}
		return c
	}, string(b))
	out, err := base64.StdEncoding.DecodeString(clean)
	if err != nil {
		return strings.NewReader("")
	}
	return strings.NewReader(string(out))
}
