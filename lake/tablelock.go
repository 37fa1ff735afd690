package lake

import "sync"

// TableLocks keeps the writers of one process off each other's commits on
// the same table: a loader's attempt (read, write, commit) and a
// maintenance commit take the table's lock, so that neither meets the
// other as a conflict. Across processes, commits stay optimistic (the
// fence, replays); this only spares the work a conflict costs. The zero
// value is ready; a nil *TableLocks locks nothing.
type TableLocks struct {
	mu    sync.Mutex
	locks map[TableRef]*sync.Mutex
}

// Lock takes ref's lock and returns its release.
func (t *TableLocks) Lock(ref TableRef) func() {
	if t == nil {
		return func() {}
	}
	t.mu.Lock()
	if t.locks == nil {
		t.locks = map[TableRef]*sync.Mutex{}
	}
	m := t.locks[ref]
	if m == nil {
		m = &sync.Mutex{}
		t.locks[ref] = m
	}
	t.mu.Unlock()
	m.Lock()
	return m.Unlock
}
