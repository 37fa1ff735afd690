package relocate

import (
	"errors"
	"testing"
)

// ErrCut is the error of a write that CutAfter stops.
var ErrCut = errors.New("relocation cut short (test)")

// CutAfter makes relocation writes fail with ErrCut after n have been
// made (n < 0: never), as though the process died there.
func CutAfter(tb testing.TB, n int) {
	tb.Helper()
	if n < 0 {
		beforeWrite = func(string) error { return nil }
		return
	}
	beforeWrite = func(string) error {
		if n--; n < 0 {
			return ErrCut
		}
		return nil
	}
	tb.Cleanup(func() { beforeWrite = func(string) error { return nil } })
}
