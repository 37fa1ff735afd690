package lake

import (
	"sync"
	"time"
)

// finishedFor is how long a mark is kept: past it, any settle has passed.
const finishedFor = time.Hour

// Finished is the files this process published whole (prepare's outputs,
// renamed into place), so that the next stage takes them at once instead
// of waiting for them to settle. It is shared by the process's stages; the
// zero value is ready, and a nil *Finished knows no file.
type Finished struct {
	mu   sync.Mutex
	keys map[string]time.Time // key → when it was marked
}

// Mark notes that key was published whole.
func (f *Finished) Mark(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.keys == nil {
		f.keys = map[string]time.Time{}
	}
	now := time.Now()
	for k, at := range f.keys { // marks are few: prune as they come
		if now.Sub(at) > finishedFor {
			delete(f.keys, k)
		}
	}
	f.keys[key] = now
}

// Has reports whether key was published whole by this process.
func (f *Finished) Has(key string) bool {
	if f == nil {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.keys[key]
	return ok
}
