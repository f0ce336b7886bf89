package media

import (
	"errors"
	"fmt"
)

// Statuses of refusals. They equal the HTTP status codes the web layer sends.
const (
	StatusBadRequest  = 400
	StatusTooLarge    = 413
	StatusUnsupported = 415
	StatusInvalid     = 422
	StatusInternal    = 500
)

// The kinds of refusal; every *Error wraps one of them, so callers can test with errors.Is.
var (
	ErrTooLarge    = errors.New("image too large")          // the file or its pixel count
	ErrUnsupported = errors.New("unsupported image format") // not PNG, JPEG or WebP
	ErrDimensions  = errors.New("image dimensions refused") // a side over the limit
	ErrDamaged     = errors.New("damaged image")            // unreadable, truncated or empty
	ErrMismatch    = errors.New("file name does not match") // extension against content
	ErrEncode      = errors.New("image encoding failed")    // our side failed
)

// Error is a refused or failed image operation. Message is safe to show to the person who
// sent the image; Err, for logs, wraps the kind and the internal cause.
type Error struct {
	Status  int
	Message string
	Err     error
}

// Error returns the message and the internal cause, for logs.
func (e *Error) Error() string {
	if e.Err == nil {
		return "media: " + e.Message
	}
	return "media: " + e.Message + ": " + e.Err.Error()
}

// Unwrap returns the kind and cause.
func (e *Error) Unwrap() error { return e.Err }

// newError builds an *Error of a kind, keeping cause when there is one.
func newError(status int, kind, cause error, msg string) *Error {
	err := kind
	if cause != nil {
		err = fmt.Errorf("%w: %w", kind, cause)
	}
	return &Error{Status: status, Message: msg, Err: err}
}

// damaged is the refusal of an image that cannot be decoded.
func damaged(cause error) *Error {
	return newError(StatusInvalid, ErrDamaged, cause,
		"the image is damaged or incomplete; export it again and upload the new file")
}
