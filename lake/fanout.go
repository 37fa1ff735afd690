package lake

import (
	"context"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
)

// StoreFanout bounds how many of a batch's per-file store requests (stat,
// read, put, delete) a stage has in flight at once: on S3 each is a round
// trip, and on a local disk each put waits for its fsync, so doing a
// thousand files' one by one costs seconds that the store could overlap.
const StoreFanout = 16

// Each calls fn for i in [0, n), up to StoreFanout at a time, and returns
// the first error; once one fails, no new call starts (those in flight
// run to their end). fn gets ctx itself, never a context that ends with
// Each: what it opens (an S3 object reads through its context) outlives
// the call. A panic in fn is its call's error (Protect). A single call
// runs on the caller's goroutine.
func Each(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	if n == 1 {
		return Protect(func() error { return fn(ctx, 0) })
	}
	var g errgroup.Group
	g.SetLimit(StoreFanout)
	var failed atomic.Bool
	for i := range n {
		if failed.Load() || ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			err := Protect(func() error { return fn(ctx, i) })
			if err != nil {
				failed.Store(true)
			}
			return err
		})
	}
	return g.Wait()
}
