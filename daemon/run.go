package daemon

import (
	"context"
	"strings"
	"time"

	"github.com/lagoon-dev/lagoon/events"
	"github.com/lagoon-dev/lagoon/lake"
)

// jobKey names a job: one stage's work on one table.
type jobKey struct {
	stage int
	ref   lake.TableRef
}

// job is the scheduling state of one stage and table.
type job struct {
	dirs     map[string]bool
	dirty    bool // work arrived since the last run started
	running  bool
	failures int
	queued   bool
}

// done reports a finished job to the scheduler.
type done struct {
	key jobKey
	res lake.Result
	err error
}

// scheduler is Run's state; only Run's goroutine touches it.
type scheduler struct {
	d       *Daemon
	jobs    map[jobKey]*job
	queue   []jobKey
	running int
	done    chan done
	wake    chan jobKey // stage -1: rescan
	sum     Summary
}

// Run processes what waits, then follows events until ctx ends; then it
// lets jobs in flight finish (up to ShutdownTimeout) and returns. Event
// hints come from ev, which the caller's event source owns.
func (d *Daemon) Run(ctx context.Context, ev <-chan events.Event) (Summary, error) {
	if err := d.recoverAll(ctx); err != nil {
		return Summary{}, err
	}
	s := &scheduler{d: d, jobs: map[jobKey]*job{}, done: make(chan done), wake: make(chan jobKey, 64)}
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
		case k := <-s.wake:
			if k == rescanKey {
				s.rescan(ctx)
			} else {
				s.mark(k, nil)
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
	if e.Closed && s.d.cfg.Finished != nil {
		s.d.cfg.Finished.Mark(e.Key)
	}
	stage := s.stageOf(e.Key)
	if stage < 0 {
		return
	}
	k, err := lake.ParseKey(e.Key)
	dir, ok := lake.TableDir(e.Key)
	if err != nil || !ok {
		// A key that maps to no table is rejected by a sweep, once it
		// has settled.
		s.after(ctx, time.Second, rescanKey)
		return
	}
	s.mark(jobKey{stage, k.Table}, []string{dir})
}

// rescanKey asks for a sweep of every stage.
var rescanKey = jobKey{stage: -1}

func (s *scheduler) stageOf(key string) int {
	for i, st := range s.d.stages {
		if strings.HasPrefix(key, st.Zone()) {
			return i
		}
	}
	return -1
}

func (s *scheduler) rescan(ctx context.Context) {
	for i, st := range s.d.stages {
		plan, err := st.Scan(ctx)
		if ctx.Err() != nil {
			return // stopping
		}
		if err != nil {
			s.d.log.Error("scan failed", "zone", st.Zone(), "err", err)
			continue
		}
		s.sum.Rejected = append(s.sum.Rejected, plan.Rejected...)
		for ref, dirs := range plan.Tables {
			s.mark(jobKey{i, ref}, dirs)
		}
		if plan.Waiting > 0 {
			s.after(ctx, time.Second, rescanKey)
		}
	}
}

// mark notes work for a table and queues it unless it is queued or
// running (a running job is rerun when it finishes).
func (s *scheduler) mark(k jobKey, dirs []string) {
	j := s.jobs[k]
	if j == nil {
		j = &job{dirs: map[string]bool{}}
		s.jobs[k] = j
	}
	for _, d := range dirs {
		j.dirs[d] = true
	}
	j.dirty = true
	if !j.running && !j.queued {
		j.queued = true
		s.queue = append(s.queue, k)
	}
}

func (s *scheduler) start(ctx context.Context) {
	for s.running < s.d.cfg.Workers && len(s.queue) > 0 {
		k := s.queue[0]
		s.queue = s.queue[1:]
		j := s.jobs[k]
		j.queued, j.dirty, j.running = false, false, true
		dirs := make([]string, 0, len(j.dirs))
		for d := range j.dirs {
			dirs = append(dirs, d)
		}
		s.running++
		go func() {
			res, err := s.d.process(ctx, s.d.stages[k.stage], k.ref, dirs)
			s.done <- done{key: k, res: res, err: err}
		}()
	}
}

func (s *scheduler) finished(ctx context.Context, r done) {
	s.running--
	j := s.jobs[r.key]
	j.running = false
	zone := s.d.stages[r.key.stage].Zone()
	s.sum.add(zone, r.res)
	if next := r.key.stage + 1; r.res.Files > 0 && next < len(s.d.stages) {
		// What this stage published waits for the next one: its job for
		// the table is marked now, not left to an event or a sweep.
		s.mark(jobKey{next, r.key.ref}, []string{r.key.ref.Dir(s.d.stages[next].Zone())})
	}
	switch {
	case r.err != nil:
		j.failures++
		wait := lake.Backoff{Min: s.d.cfg.RetryMin, Max: s.d.cfg.RetryMax}.Delay(j.failures)
		s.d.log.Error("job failed; will retry", "zone", zone, "table", r.key.ref.String(), "err", r.err, "retry_in", wait)
		s.after(ctx, wait, r.key)
	case r.res.Waiting > 0:
		j.failures = 0
		s.after(ctx, time.Until(r.res.NextReady)+10*time.Millisecond, r.key)
	default:
		j.failures = 0
	}
	if j.dirty && !j.queued {
		j.queued = true
		s.queue = append(s.queue, r.key)
	}
	if !j.dirty && !j.queued && r.err == nil && r.res.Waiting == 0 {
		delete(s.jobs, r.key) // nothing pending: forget the folders
	}
}

// after wakes the scheduler for job k (rescanKey: a sweep) once d has passed.
// The timer's goroutine ends at the send or when ctx ends.
func (s *scheduler) after(ctx context.Context, d time.Duration, k jobKey) {
	time.AfterFunc(max(d, 0), func() {
		select {
		case s.wake <- k:
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
			s.sum.add(s.d.stages[r.key.stage].Zone(), r.res)
		case <-grace.C:
			s.d.log.Warn("grace period over: cancelling jobs in flight", "jobs", s.running)
			cancel()
		}
	}
}
