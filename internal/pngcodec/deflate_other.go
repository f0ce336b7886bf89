//go:build !linux || nodynamic

package pngcodec

import "errors"

// errNoDeflate says why libdeflate is not used on this build.
var errNoDeflate = errors.New("libdeflate is only loaded on Linux builds without the " +
	"nodynamic tag")

func loadDeflate() error { return errNoDeflate }

func inflate([]byte, []byte) error { return errNoDeflate }
