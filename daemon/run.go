package daemon

import (
	"context"
	"time"

	"github.com/lagoon-dev/lagoon/events"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/loader"
)

// job is the scheduling state of one table.
type job struct {
	dirs     map[string]bool
	dirty    bool // work arrived since the last run started
	running  bool
	failures int
	queued   bool
}

// done reports a finished job to the scheduler.
type done struct {
	ref lake.TableRef
	res loader.Result
	err error
}

// scheduler is Run's state; only Run's goroutine touches it.
type scheduler struct {
	d       *Daemon
	jobs    map[lake.TableRef]*job
	queue   []lake.TableRef
	running int
	done    chan done
	wake    chan lake.TableRef // zero ref: rescan
	sum     Summary
}

// Run processes what waits, then follows events until ctx ends; then it
// lets jobs in flight finish (up to ShutdownTimeout) and returns. Event
// hints come from ev, which the caller's event source owns.
func (d *Daemon) Run(ctx context.Context, ev <-chan events.Event) (Summary, error) {
	if err := d.ld.Recover(ctx); err != nil {
		return Summary{}, err
	}
	s := &scheduler{d: d, jobs: map[lake.TableRef]*job{}, done: make(chan done), wake: make(chan lake.TableRef, 64)}
	// Jobs run on their own context so that a stop request lets a commit
	// in flight finish instead of abandoning it.
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	s.rescan(ctx)
	for {
		s.start(workCtx)
		select {
		case <-ctx.Done():
			s.drain(cancelWork)
			return s.sum, nil
		case e := <-ev:
			s.event(ctx, e)
		case r := <-s.done:
			s.finished(ctx, r)
		case ref := <-s.wake:
			if ref == (lake.TableRef{}) {
				s.rescan(ctx)
			} else {
				s.mark(ref, nil)
			}
		}
	}
}

func (s *scheduler) event(ctx context.Context, e events.Event) {
	if e.Rescan {
		s.rescan(ctx)
		return
	}
	if lake.Ignored(e.Key) {
		return
	}
	k, err := lake.ParseKey(e.Key)
	dir, ok := loader.TableDir(e.Key)
	if err != nil || !ok {
		// A key that maps to no table is rejected by a sweep, once it
		// has settled.
		s.after(ctx, time.Second, lake.TableRef{})
		return
	}
	s.mark(k.Table, []string{dir})
}

func (s *scheduler) rescan(ctx context.Context) {
	plan, err := s.d.ld.Scan(ctx)
	if err != nil {
		s.d.log.Error("scan failed", "err", err)
		return
	}
	s.sum.Rejected = append(s.sum.Rejected, plan.Rejected...)
	for ref, dirs := range plan.Tables {
		s.mark(ref, dirs)
	}
	if plan.Waiting > 0 {
		s.after(ctx, time.Second, lake.TableRef{})
	}
}

// mark notes work for a table and queues it unless it is queued or
// running (a running job is rerun when it finishes).
func (s *scheduler) mark(ref lake.TableRef, dirs []string) {
	j := s.jobs[ref]
	if j == nil {
		j = &job{dirs: map[string]bool{}}
		s.jobs[ref] = j
	}
	for _, d := range dirs {
		j.dirs[d] = true
	}
	j.dirty = true
	if !j.running && !j.queued {
		j.queued = true
		s.queue = append(s.queue, ref)
	}
}

func (s *scheduler) start(ctx context.Context) {
	for s.running < s.d.cfg.Workers && len(s.queue) > 0 {
		ref := s.queue[0]
		s.queue = s.queue[1:]
		j := s.jobs[ref]
		j.queued, j.dirty, j.running = false, false, true
		dirs := make([]string, 0, len(j.dirs))
		for d := range j.dirs {
			dirs = append(dirs, d)
		}
		s.running++
		go func() {
			res, err := s.d.ld.LoadTable(ctx, ref, dirs)
			s.done <- done{ref: ref, res: res, err: err}
		}()
	}
}

func (s *scheduler) finished(ctx context.Context, r done) {
	s.running--
	j := s.jobs[r.ref]
	j.running = false
	s.sum.add(r.res)
	switch {
	case r.err != nil:
		j.failures++
		wait := min(s.d.cfg.RetryMin<<min(j.failures-1, 16), s.d.cfg.RetryMax)
		s.d.log.Error("load failed; will retry", "table", r.ref.String(), "err", r.err, "retry_in", wait)
		s.after(ctx, wait, r.ref)
	case r.res.Waiting > 0:
		j.failures = 0
		s.after(ctx, time.Until(r.res.NextReady)+10*time.Millisecond, r.ref)
	default:
		j.failures = 0
	}
	if j.dirty && !j.queued {
		j.queued = true
		s.queue = append(s.queue, r.ref)
	}
	if !j.dirty && !j.queued && r.err == nil && r.res.Waiting == 0 {
		delete(s.jobs, r.ref) // nothing pending: forget the folders
	}
}

// after wakes the scheduler for ref (zero: a rescan) once d has passed.
// The timer's goroutine ends at the send or when ctx ends.
func (s *scheduler) after(ctx context.Context, d time.Duration, ref lake.TableRef) {
	time.AfterFunc(max(d, 0), func() {
		select {
		case s.wake <- ref:
		case <-ctx.Done():
		}
	})
}

// drain waits for running jobs, cancelling them after the grace period.
func (s *scheduler) drain(cancel context.CancelFunc) {
	if s.running == 0 {
		return
	}
	s.d.log.Info("stopping: waiting for jobs in flight", "jobs", s.running)
	grace := time.NewTimer(s.d.cfg.ShutdownTimeout)
	defer grace.Stop()
	for s.running > 0 {
		select {
		case r := <-s.done:
			s.running--
			s.sum.add(r.res)
		case <-grace.C:
			s.d.log.Warn("grace period over: cancelling jobs in flight", "jobs", s.running)
			cancel()
		}
	}
}
