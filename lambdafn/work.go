package lambdafn

import (
	"context"
	"sync"
	"time"

	"github.com/lagoon-dev/lagoon/events"
	"github.com/lagoon-dev/lagoon/lake"
)

// work carries the messages' files through their tables' stages, pass
// after pass while some wait (a table another worker holds) and time
// allows, and returns the messages whose files are still waiting. A
// message is done once every file it names is gone from its zone: loaded,
// or rejected under log/.
func (h *Handler) work(ctx context.Context, msgs []Message) []Message {
	stop := h.stopAt(ctx)
	wctx, cancel := context.WithDeadline(ctx, stop)
	defer cancel()
	left := h.waiting(ctx, withKeys(msgs)) // a message delivered again may be done already
	for pass := 1; len(left) > 0; pass++ {
		if _, err := h.pipe.Tables(wctx, tablesOf(left)); err != nil && wctx.Err() == nil {
			h.log.Warn("tables failed; their messages will come again unless a later pass loads them", "err", err)
		}
		left = h.waiting(ctx, left)
		wait := h.cfg.Retry.Delay(pass)
		if len(left) == 0 || time.Until(stop) < 2*wait {
			break
		}
		lake.Sleep(wctx, wait)
	}
	return left
}

// withKeys keeps the messages that name work.
func withKeys(msgs []Message) []Message {
	var out []Message
	for _, m := range msgs {
		if len(m.Keys) > 0 {
			out = append(out, m)
		}
	}
	return out
}

// waiting keeps the messages some of whose files are still in place (or
// cannot be looked at). The messages are looked at all at once (a batch
// is at most 10 on SQS; one request per key).
func (h *Handler) waiting(ctx context.Context, msgs []Message) []Message {
	wait := make([]bool, len(msgs))
	var wg sync.WaitGroup
	for i, m := range msgs {
		wg.Go(func() {
			done, err := events.Handled(ctx, h.st, m.Keys)
			wait[i] = err != nil || !done
		})
	}
	wg.Wait()
	var out []Message
	for i, m := range msgs {
		if wait[i] {
			out = append(out, m)
		}
	}
	return out
}
