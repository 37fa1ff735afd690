package events

import (
	"context"
	"time"
)

// Poll is the event source of a store without notifications: a sweep
// every Period. (Events are hints; the sweep alone is enough, only slower.)
type Poll struct {
	Period time.Duration
}

// Run sends a Rescan every Period until ctx ends.
func (p Poll) Run(ctx context.Context, out chan<- Event) error {
	t := time.NewTicker(p.Period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if !send(ctx, out, Event{Rescan: true}) {
				return nil
			}
		}
	}
}
