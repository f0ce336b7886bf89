// Package fault gives errors their two faces: a safe message and kind that a person may see,
// and a wrapped internal error that only the log sees.
package fault

import (
	"errors"
	"fmt"
)

// Kind classifies an error by what the person who caused it can do about it. The web layer
// maps each kind to one HTTP status.
type Kind int

// The kinds of user-facing errors.
const (
	Internal     Kind = iota // something broke on our side; the message is generic
	Invalid                  // the input is wrong; the message says how
	Unauthorized             // sign-in is needed or failed
	Forbidden                // signed in, but not allowed
	NotFound                 // no such thing, or not yours
	Conflict                 // the thing exists already or changed meanwhile
	NoCredits                // not enough credits for the request
	TooLarge                 // the body or file is over a limit
	Unsupported              // the media type or format is not accepted
	Limited                  // too many requests
	Unavailable              // a dependency is down; try again later
)

// Error is an error with a message that is safe to show to the person who caused it.
type Error struct {
	Kind    Kind
	Message string // safe to show; a full sentence
	Field   string // the input field at fault, when there is one
	Err     error  // the internal cause, for logs only
}

// Error returns the safe message and, for logs, the cause.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Message, e.Err)
	}
	return e.Message
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Err }

// New returns a user-facing error of the given kind.
func New(kind Kind, message string) *Error {
	return &Error{Kind: kind, Message: message}
}

// Field returns an Invalid error about one input field.
func Field(field, message string) *Error {
	return &Error{Kind: Invalid, Field: field, Message: message}
}

// Wrap returns a user-facing error that keeps err as its internal cause.
func Wrap(kind Kind, message string, err error) *Error {
	return &Error{Kind: kind, Message: message, Err: err}
}

// As returns the user-facing error in err's chain, or nil when there is none.
func As(err error) *Error {
	var fe *Error
	if errors.As(err, &fe) {
		return fe
	}
	return nil
}
