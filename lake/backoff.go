package lake

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff is lagoon's one retry policy: exponential from Min to Max, with
// full jitter in the upper half (a delay is between d/2 and d), so that
// workers that failed together do not retry together.
type Backoff struct {
	Min, Max time.Duration
}

// Delay is the wait before retry number n (1 for the first retry).
func (b Backoff) Delay(n int) time.Duration {
	d := b.Max
	if n < 1 {
		n = 1
	}
	if shift := n - 1; shift < 32 && b.Min<<shift > 0 && b.Min<<shift < b.Max {
		d = b.Min << shift
	}
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// Sleep waits d, or until ctx ends (whichever comes first): the wait
// between retries.
func Sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
