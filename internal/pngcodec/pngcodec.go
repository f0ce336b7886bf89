// Package pngcodec decodes PNG files with the system's libdeflate or libpng when it can and
// with the standard library's image/png otherwise, and encodes them quickly.
//
// Go's image/png decoder took 43–48 ms on a provider's 1024x1024 picture, about as long as
// Pillow's whole decode, resize and WebP encode, and its encoder 65 ms at BestSpeed (issue
// 8). libpng decodes the same file as fast as Pillow, which uses the same zlib. It is
// loaded at run time through purego, as github.com/gen2brain/webp loads libwebp, so the
// build needs no C compiler and a machine without libpng still works, only slower. Only
// libpng's "simplified API" is used: it catches libpng's errors inside the library, so a
// damaged file returns an error and never unwinds through Go.
//
// libpng is only given the files on which it and image/png agree to the byte: 8 bits or
// fewer, not colour-mapped, and without a gamma other than sRGB's (libpng would correct
// it, image/png does not). Everything else, and every file on a machine without the
// library, goes to image/png, so the pixels never depend on the machine.
//
// Most of libpng's 27–31 ms on that picture is zlib's inflate. For the common file, 8-bit
// RGB or RGBA without interlacing, decodeFast reads the chunks and reverses the row
// filters in Go and leaves only the inflate to libdeflate 1.x, loaded the same way: 16–17
// ms, about 1.7 times faster (inflate about 8 ms, unfiltering about 7). It refuses anything
// unusual, such as transparency, an unknown critical chunk or data after the zlib stream,
// and leaves it to libpng and image/png; so does a machine without libdeflate.
//
// Encoding does not use libpng, whose fast mode (no filter, zlib level 3) was slower than
// image/png at BestSpeed; see encodeFast.
package pngcodec

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
)

// ErrTooLarge is the cause of a refusal by Decode's pixel limit.
var ErrTooLarge = errors.New("png: too many pixels")

// fallback is image/png's encoder at its fastest level: on a 1024x1024 photo BestSpeed
// encodes in about half the time of the default level for files about a quarter larger.
var fallback = png.Encoder{CompressionLevel: png.BestSpeed}

// forceStdlib sends every file to image/png's decoder, and skipDeflate every file past
// the fast path to libpng, so that tests cover each decoder on machines that have them all.
var (
	forceStdlib = false
	skipDeflate = false
)

// Library reports whether libpng is in use: nil when it is, or why it is not.
func Library() error {
	if forceStdlib {
		return errors.New("png: image/png forced")
	}
	return load()
}

// fastLibrary reports whether libdeflate, and so the fast path, is in use: nil when it
// is, or why it is not.
func fastLibrary() error {
	if forceStdlib || skipDeflate {
		return errors.New("png: the fast path is switched off")
	}
	return loadDeflate()
}

// Decode decodes a PNG file. It refuses, before allocating the pixels, a file of more
// than maxPixels pixels; zero or less means no limit, for callers that have checked the
// header's dimensions themselves. Any damage is an error, never a panic.
func Decode(data []byte, maxPixels int64) (img image.Image, err error) {
	defer recoverTo(&err)
	h, err := readHeader(data)
	if err != nil {
		return nil, err
	}
	if px := int64(h.width) * int64(h.height); maxPixels > 0 && px > maxPixels {
		return nil, fmt.Errorf("%w: %dx%d", ErrTooLarge, h.width, h.height)
	}

	if h.fast() && fastLibrary() == nil {
		if img, err := decodeFast(data, h); err == nil {
			return img, nil
		}
		// The fast path refuses whatever it does not expect; libpng and image/png
		// decide on it.
	}
	if h.simple() && Library() == nil {
		if img, err := decodeLib(data, h); err == nil {
			return img, nil
		}
		// libpng refuses a few files image/png reads, such as one with an unknown
		// critical chunk; image/png has the last word, so no file readable before is
		// refused now. Only damaged files are read twice.
	}
	return png.Decode(bytes.NewReader(data))
}

// Encode writes img to w as a PNG file, favouring speed over size. Gray, RGBA, NRGBA and
// YCbCr pictures, what the decoders and the engine make, go through the fast encoder of
// this package; others, such as paletted or 16-bit pictures, through image/png.
func Encode(w io.Writer, img image.Image) error {
	b := img.Bounds()
	if rs, ok := rowsOf(img); ok && b.Dx() < 1<<31 && b.Dy() < 1<<31 {
		return encodeFast(w, b.Dx(), b.Dy(), rs)
	}
	return fallback.Encode(w, img)
}

// recoverTo turns a panic of image/png on hostile input into an error.
func recoverTo(err *error) {
	if v := recover(); v != nil {
		*err = fmt.Errorf("png: decoder panic: %v", v)
	}
}
