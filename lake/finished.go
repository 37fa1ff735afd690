package lake

import (
	"sync"
	"time"
)

// finishedFor is how long a mark is kept: past it, any settle has passed.
const finishedFor = time.Hour

// Finished is the files known whole: those this process published
// (prepare's outputs, renamed into place), and those whose writer was seen
// closing them (events.Event.Closed), so that a stage takes them at once
// instead of waiting for them to settle. A file modified after its mark
// settles again. It is shared by the process's stages and its event
// source; the zero value is ready, and a nil *Finished knows no file.
type Finished struct {
	mu   sync.Mutex
	keys map[string]time.Time // key → when it was marked
	// pruneAt is the size at which old marks are pruned next: twice what
	// was left by the last prune, so that pruning costs O(1) a mark
	// however many files close an hour.
	pruneAt int
}

// Mark notes that key is whole as it stands now.
func (f *Finished) Mark(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.keys == nil {
		f.keys = map[string]time.Time{}
	}
	now := time.Now()
	if len(f.keys) >= f.pruneAt {
		for k, at := range f.keys {
			if now.Sub(at) > finishedFor {
				delete(f.keys, k)
			}
		}
		f.pruneAt = max(2*len(f.keys), 1024)
	}
	f.keys[key] = now
}

// Has reports whether the file info describes is known whole: marked, and
// not modified since.
func (f *Finished) Has(info ObjectInfo) bool {
	if f == nil {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	at, ok := f.keys[info.Key]
	return ok && !info.ModTime.After(at)
}
