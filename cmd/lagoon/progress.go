package main

import (
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// progressEvery is how often a progress line is redrawn.
const progressEvery = 500 * time.Millisecond

// startProgress redraws render's line on w every progressEvery while the
// work runs, when w is a terminal (nothing otherwise: logs and pipes get
// no progress). stop ends it and clears the line.
func startProgress(w io.Writer, render func(elapsed time.Duration) string) (stop func()) {
	if !isTerminal(w) {
		return func() {}
	}
	start := time.Now()
	done, finished := make(chan struct{}), make(chan struct{})
	go func() { // ends with stop
		defer close(finished)
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprint(w, "\r\x1b[K")
				return
			case <-t.C:
				fmt.Fprint(w, "\r\x1b[K"+render(time.Since(start)))
			}
		}
	}()
	return func() { close(done); <-finished }
}

// workDone is what a long job has done so far, counted from where the work
// happens.
type workDone struct {
	bytes, rows atomic.Int64
}

// progressText says how far work is: bytes of total (when known), rows,
// the rate, and the time left at that rate.
func progressText(bytes, total, rows int64, elapsed time.Duration) string {
	s := humanBytes(bytes)
	rate := float64(bytes) / max(elapsed.Seconds(), 0.001)
	if total > 0 {
		pct := min(99, 100*bytes/total)
		s = fmt.Sprintf("%s of %s (%d%%)", humanBytes(min(bytes, total)), humanBytes(total), pct)
	}
	s += fmt.Sprintf(", %s rows, %s/s", groupDigits(rows), humanBytes(int64(rate)))
	if total > bytes && rate > 0 {
		left := time.Duration(float64(total-bytes) / rate * float64(time.Second))
		s += ", " + left.Round(time.Second).String() + " left"
	}
	return s
}

// progressRate says, of done units of total, the rows' rate and the time
// left at the units' rate.
func progressRate(done, total, rows int64, elapsed time.Duration) string {
	s := fmt.Sprintf("%s rows/s", groupDigits(int64(float64(rows)/max(elapsed.Seconds(), 0.001))))
	if done > 0 && total > done {
		left := time.Duration(float64(total-done) / float64(done) * float64(elapsed))
		s += ", " + left.Round(time.Second).String() + " left"
	}
	return s
}

// countingReader counts the bytes read through it into n.
type countingReader struct {
	io.ReadCloser
	n *atomic.Int64
}

func (r countingReader) Read(p []byte) (int, error) {
	k, err := r.ReadCloser.Read(p)
	r.n.Add(int64(k))
	return k, err
}
