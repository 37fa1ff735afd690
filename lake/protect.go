package lake

import (
	"errors"
	"fmt"
	"runtime/debug"
)

// ErrInternal classifies failures that are lagoon's (or a library's) bug
// met while processing one file: a panic, turned into an error by Protect.
// The file is rejected with the reason "internal error: …"; the process
// goes on.
var ErrInternal = errors.New("internal error")

// PanicError is a panic recovered by Protect.
type PanicError struct {
	Value any
	Stack string // the goroutine's stack where it panicked
}

// Error is "internal error: <panic value>".
func (e *PanicError) Error() string { return fmt.Sprintf("%v: %v", ErrInternal, e.Value) }

// Unwrap lets errors.Is find ErrInternal.
func (e *PanicError) Unwrap() error { return ErrInternal }

// Protect runs fn and turns a panic in it (on this goroutine) into a
// *PanicError. It is the one place panics become errors: each file's
// processing runs under it, so that one file's bytes cannot take the
// process down.
func Protect(fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: string(debug.Stack())}
		}
	}()
	return fn()
}

// ProtectFile is Protect for the processing of one file: a panic comes
// back as that file's *FileError (wrapping the *PanicError), which the
// stages settle like any failure of the file's own.
func ProtectFile(key string, fn func() error) error {
	err := Protect(fn)
	if _, ok := err.(*PanicError); ok {
		return &FileError{Key: key, Err: err}
	}
	return err
}

// StackOf returns the stack of the panic err carries, or "".
func StackOf(err error) string {
	var pe *PanicError
	if errors.As(err, &pe) {
		return pe.Stack
	}
	return ""
}
