// Package media checks, cleans and encodes images: the upload pipeline that accepts only
// PNG, JPEG and WebP recognised by their bytes, refuses oversized files and decompression
// bombs before decoding them, applies the EXIF orientation and re-encodes every picture so
// that no metadata survives; and the encoders, thumbnails and size optimisation used for
// generated images and for pictures sent to providers.
//
// Every refusal is an *Error with an HTTP-like status and a message that is safe to show to
// the person who sent the file. The package does not import net/http.
package media

import (
	"fmt"
	"strings"
	"unicode"
)

// Format is an accepted image format.
type Format string

// The accepted formats.
const (
	PNG  Format = "png"
	JPEG Format = "jpeg"
	WebP Format = "webp"
)

// ParseFormat reads a format name as a user or API client writes it: "png", "jpeg", "jpg"
// or "webp", in any case, with surrounding spaces ignored.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "png":
		return PNG, nil
	case "jpeg", "jpg":
		return JPEG, nil
	case "webp":
		return WebP, nil
	}

	msg := fmt.Sprintf("unknown image format %q; choose png, jpeg or webp", clip(s, 20))
	return "", newError(StatusBadRequest, ErrUnsupported, nil, msg)
}

// ContentType returns the MIME type of the format.
func (f Format) ContentType() string {
	switch f {
	case PNG:
		return "image/png"
	case JPEG:
		return "image/jpeg"
	case WebP:
		return "image/webp"
	}
	return "application/octet-stream"
}

// Ext returns the usual file extension of the format, with its dot.
func (f Format) Ext() string {
	switch f {
	case PNG:
		return ".png"
	case JPEG:
		return ".jpg"
	case WebP:
		return ".webp"
	}
	return ""
}

// String returns the name a person reads: PNG, JPEG or WebP.
func (f Format) String() string {
	switch f {
	case PNG:
		return "PNG"
	case JPEG:
		return "JPEG"
	case WebP:
		return "WebP"
	}
	return string(f)
}

// Limits bound what an image may cost before it is decoded. A zero field takes its default.
type Limits struct {
	MaxBytes  int64 // size of the file
	MaxSide   int   // width and height, in pixels
	MaxPixels int64 // width times height
}

// Default limits: 25 MB, 8192 pixels a side and 40 megapixels.
const (
	DefaultMaxBytes  = 25 << 20
	DefaultMaxSide   = 8192
	DefaultMaxPixels = 40_000_000
)

// DefaultLimits returns the limits the upload pipeline uses unless configured otherwise.
func DefaultLimits() Limits {
	return Limits{MaxBytes: DefaultMaxBytes, MaxSide: DefaultMaxSide, MaxPixels: DefaultMaxPixels}
}

// withDefaults fills the zero or negative fields of l with the defaults.
func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxSide <= 0 {
		l.MaxSide = DefaultMaxSide
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = DefaultMaxPixels
	}
	return l
}

// clip prepares client text for quoting in a message: invalid bytes and invisible
// characters become "?", and at most n characters are kept.
func clip(s string, n int) string {
	r := []rune(strings.ToValidUTF8(s, "?"))
	for i, c := range r {
		if !unicode.IsGraphic(c) {
			r[i] = '?'
		}
	}
	if len(r) <= n {
		return string(r)
	}
	return string(r[:n]) + "…"
}
