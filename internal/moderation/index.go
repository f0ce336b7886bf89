package moderation

import (
	"bytes"
	"strings"
)

// index finds entries by their spelling, where a prompt's eitherIL may stand for an i or an l
// of the term.
type index struct {
	exact map[string]*entry

	// byClass lists, under each key that has an i or an l written with eitherIL instead, the
	// keys that share that form: "loli" and "ioli" are both under "|o||".
	byClass map[string][]string
}

// newIndex returns an empty index.
func newIndex() index {
	return index{exact: make(map[string]*entry), byClass: make(map[string][]string)}
}

// put files e under key and reports whether it did; a key already taken keeps its entry.
func (x index) put(key string, e *entry) bool {
	if _, taken := x.exact[key]; taken {
		return false
	}

	x.exact[key] = e
	if strings.ContainsAny(key, "il") {
		class := string(appendClassKey(nil, key))
		x.byClass[class] = append(x.byClass[class], key)
	}
	return true
}

// get returns the entry spelled by key, or nil. Only a key with an eitherIL needs the class
// lookup, so plain text costs one map access.
func (x index) get(key []byte) *entry {
	if e := x.exact[string(key)]; e != nil {
		return e
	}
	if bytes.IndexByte(key, eitherIL) < 0 {
		return nil
	}

	var buf [64]byte
	for _, candidate := range x.byClass[string(appendClassKey(buf[:0], key))] {
		if sameSpelling(string(key), candidate) {
			return x.exact[candidate]
		}
	}
	return nil
}

// appendClassKey appends s to dst with every i and l written as eitherIL. Check calls it for
// every run of tokens with a digit one, so it writes into a buffer the caller keeps.
func appendClassKey[S string | []byte](dst []byte, s S) []byte {
	for k := range len(s) {
		c := s[k]
		if c == 'i' || c == 'l' {
			c = eitherIL
		}
		dst = append(dst, c)
	}
	return dst
}

// sameSpelling reports whether text, as read from a prompt, spells the term word want: the
// same letters, where each eitherIL in text matches an i or an l.
func sameSpelling(text, want string) bool {
	if len(text) != len(want) {
		return false
	}
	for k := range len(text) {
		c, w := text[k], want[k]
		if c != w && (c != eitherIL || (w != 'i' && w != 'l')) {
			return false
		}
	}
	return true
}
