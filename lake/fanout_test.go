package lake_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lagoon-dev/lagoon/lake"
)

func TestEach(t *testing.T) {
	ctx := context.Background()
	t.Run("every index once, at most StoreFanout at a time", func(t *testing.T) {
		var calls [100]atomic.Int32
		var running, most atomic.Int32
		err := lake.Each(ctx, len(calls), func(ctx context.Context, i int) error {
			n := running.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			time.Sleep(time.Millisecond)
			running.Add(-1)
			calls[i].Add(1)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for i := range calls {
			if n := calls[i].Load(); n != 1 {
				t.Fatalf("index %d ran %d times", i, n)
			}
		}
		if m := most.Load(); m > lake.StoreFanout || m < 2 {
			t.Errorf("%d calls at once, want 2..%d", m, lake.StoreFanout)
		}
	})
	t.Run("the first error, and no call started after it", func(t *testing.T) {
		boom := errors.New("boom")
		var started atomic.Int32
		err := lake.Each(ctx, 1000, func(ctx context.Context, i int) error {
			started.Add(1)
			if i == 3 {
				return boom
			}
			time.Sleep(time.Millisecond)
			return nil
		})
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v, want boom", err)
		}
		if n := started.Load(); n > 4*lake.StoreFanout {
			t.Errorf("%d calls started, most after the failure", n)
		}
	})
	t.Run("fn's context outlives Each", func(t *testing.T) {
		ctxs := make([]context.Context, 4)
		if err := lake.Each(ctx, len(ctxs), func(ctx context.Context, i int) error { ctxs[i] = ctx; return nil }); err != nil {
			t.Fatal(err)
		}
		for i, c := range ctxs {
			if c.Err() != nil {
				t.Errorf("call %d's context ended with Each: %v", i, c.Err())
			}
		}
	})
	t.Run("a panic is an error", func(t *testing.T) {
		for _, n := range []int{1, 3} { // alone on the caller's goroutine, or among others
			err := lake.Each(ctx, n, func(ctx context.Context, i int) error {
				if i == n/2 {
					panic("bad")
				}
				return nil
			})
			var pe *lake.PanicError
			if !errors.As(err, &pe) {
				t.Fatalf("%d calls: err = %v, want a *lake.PanicError", n, err)
			}
		}
	})
	t.Run("none and one", func(t *testing.T) {
		if err := lake.Each(ctx, 0, func(context.Context, int) error { panic("called") }); err != nil {
			t.Fatal(err)
		}
		ran := false
		if err := lake.Each(ctx, 1, func(context.Context, int) error { ran = true; return nil }); err != nil || !ran {
			t.Fatalf("one: %v, ran %v", err, ran)
		}
	})
}
