package lakefixture

import (
	"context"
	"errors"
	"sync"

	"github.com/lagoon-dev/lagoon/lake"
)

// ErrInjected is the failure a FaultyStore injects.
var ErrInjected = errors.New("injected failure")

// FaultyStore wraps a real store: renames are a copy then a delete, as on
// S3, and FailRename (when it returns true) fails a rename after the copy
// and before the delete — what a process killed there leaves behind.
type FaultyStore struct {
	lake.Store
	mu         sync.Mutex
	FailRename func(from, to string) bool
}

// Rename implements lake.Store.
func (f *FaultyStore) Rename(ctx context.Context, from, to string) error {
	if err := f.Store.Copy(ctx, from, to); err != nil {
		return err
	}
	f.mu.Lock()
	fail := f.FailRename != nil && f.FailRename(from, to)
	f.mu.Unlock()
	if fail {
		return ErrInjected
	}
	return f.Store.Delete(ctx, from)
}
