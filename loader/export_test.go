package loader

import "testing"

// OnBatch has f called for every record batch read from a file (a decoder
// stuck on a file, for tests), until tb ends.
func OnBatch(tb testing.TB, f func(key string)) {
	tb.Helper()
	testBatchHook.Store(&f)
	tb.Cleanup(func() { testBatchHook.Store(nil) })
}
