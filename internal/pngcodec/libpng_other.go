//go:build !linux || nodynamic

package pngcodec

import (
	"errors"
	"image"
)

// errNoLibrary says why libpng is not used on this build.
var errNoLibrary = errors.New("libpng is only loaded on Linux builds without the " +
	"nodynamic tag")

func load() error { return errNoLibrary }

func decodeLib([]byte, header) (image.Image, error) { return nil, errNoLibrary }
