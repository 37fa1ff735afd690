package loader

import (
	"errors"
	"fmt"
)

// ErrRejected classifies files that can never be loaded as they are: they
// are moved under log/rejected/ with their reason.
var ErrRejected = errors.New("file rejected")

// RejectError says why one file cannot be loaded. It wraps ErrRejected
// and, when there is one, the underlying error.
type RejectError struct {
	Key    string
	Reason string
	Err    error
}

func reject(key, reason string, err error) *RejectError {
	return &RejectError{Key: key, Reason: reason, Err: err}
}

// Error returns "key: reason: underlying".
func (e *RejectError) Error() string {
	return e.Key + ": " + e.Detail()
}

// Detail is the reason and underlying error without the key.
func (e *RejectError) Detail() string {
	if e.Err == nil {
		return e.Reason
	}
	return fmt.Sprintf("%s: %v", e.Reason, e.Err)
}

// Unwrap lets errors.Is find ErrRejected and the cause.
func (e *RejectError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrRejected}
	}
	return []error{ErrRejected, e.Err}
}
