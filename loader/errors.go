package loader

import (
	"errors"
	"fmt"

	"github.com/lagoon-dev/lagoon/lake"
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
	switch {
	case e.Err == nil:
		return e.Reason
	case e.Reason == "":
		return e.Err.Error()
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

// internal turns a panic met while reading one file (see lake.Protect)
// into that file's rejection, "internal error: …"; other errors pass.
func internal(key string, err error) error {
	if errors.Is(err, lake.ErrInternal) && !errors.Is(err, ErrRejected) {
		return reject(key, "", err)
	}
	return err
}
