package db

import (
	"errors"
	"fmt"
)

// Code classifies an Error. The server maps each code to one HTTP status
// and error kind; the TUI shows the message as it is.
type Code string

// The error codes the domain returns.
const (
	EINVALID      Code = "invalid"      // the input breaks a rule; the message says which
	EUNAUTHORIZED Code = "unauthorized" // no valid credentials
	EFORBIDDEN    Code = "forbidden"    // valid credentials, not allowed
	ENOTFOUND     Code = "not_found"    // no such record
	ECONFLICT     Code = "conflict"     // would break a uniqueness rule
	EGONE         Code = "gone"         // the link or invitation can no longer be used
	ETOOMANY      Code = "too_many"     // rate limited
	EUNAVAILABLE  Code = "unavailable"  // overloaded for now; try again shortly
	EINTERNAL     Code = "internal"     // a bug or an I/O failure; details are logged, not shown
)

// FieldError names one field of the input and what is wrong with it.
type FieldError struct {
	Path    string // the field, as the caller named it: "email", "labels[2].key"; "" for the input as a whole
	Message string // what is wrong with it, in words that say what to fix
}

// Error is the error type of every exported function of this package that
// can fail for a reason the caller should show to a person.
type Error struct {
	Code    Code
	Message string
	Details []FieldError
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf returns an EINVALID *Error about one field; the message names
// the field so that it reads well on its own.
func FieldErrorf(path, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	return &Error{
		Code:    EINVALID,
		Message: fmt.Sprintf("%s: %s", path, msg),
		Details: []FieldError{{Path: path, Message: msg}},
	}
}

// ErrorCode returns the code of err, EINTERNAL for an error that is not an
// *Error, and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of an *Error, or a generic text for any
// other error so that internals never reach a client.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Something went wrong on our side; it has been logged. Try again, and tell the administrator if it keeps happening."
}
