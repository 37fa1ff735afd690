package prepare

import "testing"

// OnRecord has f called for every record read (a parser stuck on a file,
// for tests), until tb ends.
func OnRecord(tb testing.TB, f func(key string)) {
	tb.Helper()
	testRecordHook.Store(&f)
	tb.Cleanup(func() { testRecordHook.Store(nil) })
}
