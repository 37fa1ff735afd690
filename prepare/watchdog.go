package prepare

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/lagoon-dev/lagoon/lake"
)

// progress is what a conversion has done so far: bytes read from its
// sources and records taken. A watchdog reads it; the conversion only adds
// to it (one atomic add per read and per record).
type progress struct {
	n   atomic.Int64
	key atomic.Pointer[string] // the source being read
}

func (p *progress) add(n int) {
	if p != nil {
		p.n.Add(int64(n))
	}
}

func (p *progress) at(key string) {
	if p != nil {
		p.key.Store(&key)
	}
}

func (p *progress) current() string {
	if k := p.key.Load(); k != nil {
		return *k
	}
	return ""
}

// countingReader adds what it reads to a progress.
type countingReader struct {
	io.ReadCloser
	p *progress
}

func (r countingReader) Read(b []byte) (int, error) {
	n, err := r.ReadCloser.Read(b)
	r.p.add(n)
	return n, err
}

// stallGrace is how long a stalled conversion has to return once told to
// stop, before it is left behind.
const stallGrace = 5 * time.Second

// watched runs conv under a watchdog: when the progress stays the same for
// timeout, conv's context is cancelled and Convert returns a
// *lake.FileError wrapping lake.ErrStalled for the source being read. A
// conversion stuck where it cannot see its context (a loop that neither
// reads nor yields) is left behind after stallGrace, so that nothing one
// file does keeps the stage from going on.
func watched(ctx context.Context, timeout time.Duration, conv func(ctx context.Context, p *progress) (Result, error)) (Result, error) {
	p := &progress{}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	type outcome struct {
		res Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := conv(ctx, p)
		done <- outcome{res, err}
	}()
	tick := time.NewTicker(max(timeout/4, time.Millisecond))
	defer tick.Stop()
	last, since := p.n.Load(), time.Now()
	for {
		select {
		case o := <-done:
			return o.res, o.err
		case <-tick.C:
		}
		if n := p.n.Load(); n != last {
			last, since = n, time.Now()
			continue
		}
		if time.Since(since) < timeout {
			continue
		}
		stall := &lake.FileError{Key: p.current(), Err: fmt.Errorf("%w for %s: stopped", lake.ErrStalled, timeout)}
		cancel(stall)
		select {
		case <-done:
		case <-time.After(stallGrace):
		}
		return Result{}, stall
	}
}
