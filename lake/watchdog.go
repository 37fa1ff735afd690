package lake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// ErrStoreStalled: the store sent no bytes for the stall timeout while a
// file was read. It is the store's trouble, not the file's: transient.
var ErrStoreStalled = errors.New("the store sent nothing")

// Progress is what work on files has done so far: bytes read and records
// taken, and whether the work is currently the file's own (armed: reading
// or decoding it) or waiting on the store. A watchdog reads it; the work
// only adds to it (an atomic add per read and per record). The methods of
// a nil *Progress do nothing.
type Progress struct {
	n     atomic.Int64
	key   atomic.Pointer[string]
	armed atomic.Int32
	inIO  atomic.Int32
}

// Add notes n more units of progress (bytes or records).
func (p *Progress) Add(n int) {
	if p != nil {
		p.n.Add(int64(n))
	}
}

// Arm says the work from now on is key's own: a stall until the returned
// func is called is that file's fault.
func (p *Progress) Arm(key string) (disarm func()) {
	if p == nil {
		return func() {}
	}
	p.key.Store(&key)
	p.armed.Add(1)
	return func() { p.armed.Add(-1) }
}

// Current is the key last armed.
func (p *Progress) Current() string {
	if p == nil {
		return ""
	}
	if k := p.key.Load(); k != nil {
		return *k
	}
	return ""
}

// Reader counts what r reads, as time waiting on the store.
func (p *Progress) Reader(r io.ReadCloser) io.ReadCloser {
	if p == nil {
		return r
	}
	return countingReader{ReadCloser: r, p: p}
}

type countingReader struct {
	io.ReadCloser
	p *Progress
}

func (r countingReader) Read(b []byte) (int, error) { return r.p.Read(r.ReadCloser, b) }

// Read reads from r into b, counted as time waiting on the store.
func (p *Progress) Read(r io.Reader, b []byte) (int, error) {
	if p == nil {
		return r.Read(b)
	}
	p.inIO.Add(1)
	n, err := r.Read(b)
	p.io(n)
	return n, err
}

// ReadAt reads from r at off into b, counted as time waiting on the store.
func (p *Progress) ReadAt(r io.ReaderAt, b []byte, off int64) (int, error) {
	if p == nil {
		return r.ReadAt(b, off)
	}
	p.inIO.Add(1)
	n, err := r.ReadAt(b, off)
	p.io(n)
	return n, err
}

func (p *Progress) io(n int) {
	p.inIO.Add(-1)
	p.n.Add(int64(n))
}

// StallGrace is how long stalled work has to return once told to stop,
// before it is left behind.
const StallGrace = 5 * time.Second

// Watch runs fn under a watchdog. When fn's progress stays the same for
// timeout while armed, fn's context is cancelled and Watch returns:
//   - a *FileError wrapping ErrStalled for the key armed, when fn was
//     working on the file itself (decoding, parsing): the file's fault;
//   - an error wrapping ErrStoreStalled when fn was waiting on a read
//     from the store: transient, not the file's fault.
//
// Time while not armed (catalog calls, commits) is not counted. Work stuck
// where it cannot see its context (a loop that neither reads nor yields)
// is left behind after StallGrace, so that nothing one file does keeps its
// caller from going on; its context stays cancelled, so that nothing it
// does afterwards through the store or catalog can succeed. timeout <= 0
// runs fn with no watchdog.
func Watch[T any](ctx context.Context, timeout time.Duration, fn func(ctx context.Context, p *Progress) (T, error)) (T, error) {
	if timeout <= 0 {
		return fn(ctx, nil)
	}
	p := &Progress{}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	type outcome struct {
		v   T
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		v, err := fn(ctx, p)
		done <- outcome{v, err}
	}()
	tick := time.NewTicker(max(timeout/4, time.Millisecond))
	defer tick.Stop()
	var stalled time.Duration
	last, prev := p.n.Load(), time.Now()
	for {
		select {
		case o := <-done:
			return o.v, o.err
		case now := <-tick.C:
			n := p.n.Load()
			stalled = stallFor(p, n, last, stalled+now.Sub(prev))
			last, prev = n, now
		}
		if stalled < timeout {
			continue
		}
		err := stallErr(p, timeout)
		cancel(err)
		select {
		case <-done:
		case <-time.After(StallGrace):
		}
		var zero T
		return zero, err
	}
}

// stallFor is how long p has been stalled: d, unless it moved (n, was
// last) or is not armed.
func stallFor(p *Progress, n, last int64, d time.Duration) time.Duration {
	if n != last || p.armed.Load() <= 0 {
		return 0
	}
	return d
}

func stallErr(p *Progress, timeout time.Duration) error {
	key := p.Current()
	if p.inIO.Load() > 0 {
		return fmt.Errorf("read %s: %w for %s", key, ErrStoreStalled, timeout)
	}
	return &FileError{Key: key, Err: fmt.Errorf("%w for %s: stopped", ErrStalled, timeout)}
}
