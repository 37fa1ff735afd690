package loader

import "testing"

// OnBatch has f called for every record batch read from a file (a decoder
// stuck on a file, for tests), until tb ends.
func OnBatch(tb testing.TB, f func(key string)) {
	tb.Helper()
	testBatchHook.Store(&f)
	tb.Cleanup(func() { testBatchHook.Store(nil) })
}

// BeforeCommit has f called just before each commit of a batch, until tb
// ends.
func BeforeCommit(tb testing.TB, f func(table string)) {
	tb.Helper()
	testCommitHook.Store(&f)
	tb.Cleanup(func() { testCommitHook.Store(nil) })
}

// CopiedBy is the created_by of data files written by copying chunks.
const CopiedBy = copiedBy
