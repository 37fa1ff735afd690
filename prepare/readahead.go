package prepare

import (
	"io"
	"sync"

	"github.com/lagoon-dev/lagoon/lake"
)

// readAhead decompresses on a goroutine of its own, a few blocks ahead of
// the reader, so that decompression overlaps parsing. Close stops the
// goroutine and closes the source.
type readAhead struct {
	src  io.ReadCloser
	full chan block
	free chan []byte
	stop chan struct{}
	wg   sync.WaitGroup

	cur  block
	off  int
	done bool
}

type block struct {
	buf []byte
	err error
}

const (
	aheadBlock  = 1 << 20
	aheadBlocks = 4
)

func newReadAhead(src io.ReadCloser) *readAhead {
	r := &readAhead{src: src, full: make(chan block, aheadBlocks), free: make(chan []byte, aheadBlocks+1),
		stop: make(chan struct{})}
	for range aheadBlocks + 1 {
		r.free <- make([]byte, aheadBlock)
	}
	r.wg.Go(r.fill)
	return r
}

// fill reads blocks until the source ends or fails, or Close. A panic in
// the decompressor (it runs on this goroutine, out of its file's Protect)
// is the block's error, lake.ErrInternal: the reader returns it.
func (r *readAhead) fill() {
	for {
		var buf []byte
		select {
		case buf = <-r.free:
		case <-r.stop:
			return
		}
		var n int
		err := lake.Protect(func() (err error) {
			n, err = fillBlock(r.src, buf)
			return err
		})
		select {
		case r.full <- block{buf: buf[:n], err: err}:
		case <-r.stop:
			return
		}
		if err != nil {
			return
		}
	}
}

func (r *readAhead) Read(p []byte) (int, error) {
	for r.off == len(r.cur.buf) {
		if r.done {
			return 0, r.cur.err
		}
		if r.cur.buf != nil {
			r.free <- r.cur.buf[:cap(r.cur.buf)]
		}
		r.cur, r.off = <-r.full, 0
		r.done = r.cur.err != nil
	}
	n := copy(p, r.cur.buf[r.off:])
	r.off += n
	return n, nil
}

// Close stops the read-ahead and closes the source.
func (r *readAhead) Close() error {
	close(r.stop)
	r.wg.Wait()
	return r.src.Close()
}

// fillBlock reads until buf is full or src fails; the end of src is
// io.EOF, and any other error — a truncated stream's io.ErrUnexpectedEOF
// among them — is kept, so that a file cut short is never taken whole.
func fillBlock(src io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := src.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
