// Package daemon schedules the pipeline's work: it turns event hints and
// sweeps into per-table jobs of each stage (prepare, load), runs at most
// one job per stage and table at a time and a bounded number overall,
// retries failures with backoff, and shuts down gracefully.
package daemon

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/lagoon-dev/lagoon/lake"
)

// Stage is one step of the pipeline, working on one zone of the lake.
type Stage interface {
	// Zone is the prefix the stage takes files from (lake.PrefixLoad…).
	Zone() string
	Recover(ctx context.Context) error
	Scan(ctx context.Context) (lake.Plan, error)
	Process(ctx context.Context, ref lake.TableRef, dirs []string) (lake.Result, error)
}

// Claimer gives a worker exclusive use of one stage's work on one table
// for a while, across processes (several workers on one lake). Claim
// returns ok=false when another worker holds it; the returned context ends
// if the claim is lost; release gives it back.
type Claimer interface {
	Claim(ctx context.Context, zone string, ref lake.TableRef) (jobCtx context.Context, release func(), ok bool, err error)
}

// Config tunes the daemon.
type Config struct {
	// Workers bounds the jobs run at once.
	Workers int
	// RetryMin and RetryMax bound the backoff after a failed job.
	RetryMin, RetryMax time.Duration
	// ShutdownTimeout is how long jobs in flight may run on after a stop
	// request before they are cancelled (which is safe, only slower).
	ShutdownTimeout time.Duration
	// Claims, when set, makes every job claim its stage and table first,
	// so that several workers can share a lake. Start-up recovery is then
	// done per table, under the claim, by each job.
	Claims Claimer
	// ClaimRetry is how soon a job whose table another worker holds is
	// tried again.
	ClaimRetry time.Duration
	// Observer, when set, is told what each job did (metrics).
	Observer Observer
	// Finished, shared with the stages, learns the files an event says
	// their writer closed (events.Event.Closed): they are taken without
	// settling. Nil: every file settles.
	Finished *lake.Finished
}

// Observer is told the result of every job: stage zone, table, counts.
type Observer interface {
	Observe(zone string, r lake.Result)
}

// DefaultConfig returns 2 workers, 5 s to 5 min backoff, a 30 s grace.
func DefaultConfig() Config {
	return Config{Workers: 2, RetryMin: 5 * time.Second, RetryMax: 5 * time.Minute, ShutdownTimeout: 30 * time.Second,
		ClaimRetry: 5 * time.Second}
}

// Daemon runs the pipeline's stages over one lake.
type Daemon struct {
	stages []Stage // in pipeline order
	cfg    Config
	log    *slog.Logger
}

// New returns a daemon over stages, given in pipeline order.
func New(stages []Stage, cfg Config, log *slog.Logger) *Daemon {
	if cfg.Workers < 1 {
		cfg.Workers = 1
	}
	return &Daemon{stages: stages, cfg: cfg, log: log}
}

// Totals are one stage's counts.
type Totals struct {
	Files      int   `json:"files"`
	Rows       int64 `json:"rows"`
	Bytes      int64 `json:"bytes"`
	BadRecords int64 `json:"bad_records,omitempty"`
}

// Summary totals what a run did. Files, Rows and Tables count what reached
// the tables (the load stage); Prepared counts the prepare stage.
type Summary struct {
	Tables     int             `json:"tables"`
	Files      int             `json:"files"`
	Rows       int64           `json:"rows"`
	Bytes      int64           `json:"bytes"`
	Commits    int             `json:"commits"`
	Prepared   Totals          `json:"prepared"`
	BadRecords int64           `json:"bad_records"`
	Rejected   []lake.Rejected `json:"rejected"`
	// SkippedDuplicates counts files left out because their table took
	// their content in already (lake.Dedupe), in either stage.
	SkippedDuplicates int `json:"skipped_duplicates"`
	tables            map[lake.TableRef]bool
}

func (s *Summary) add(zone string, r lake.Result) {
	s.Rejected = append(s.Rejected, r.Rejected...)
	s.BadRecords += r.BadRecords
	s.SkippedDuplicates += r.Skipped
	if zone == lake.PrefixPrepare {
		s.Prepared.Files += r.Files
		s.Prepared.Rows += r.Rows
		s.Prepared.Bytes += r.Bytes
		s.Prepared.BadRecords += r.BadRecords
		return
	}
	if s.tables == nil {
		s.tables = map[lake.TableRef]bool{}
	}
	if r.Files > 0 && !s.tables[r.Table] {
		s.tables[r.Table] = true
		s.Tables++
	}
	s.Files += r.Files
	s.Rows += r.Rows
	s.Bytes += r.Bytes
	s.Commits += r.Commits
}

// recoverAll runs every stage's start-up recovery, unless jobs recover
// their own table under a claim.
func (d *Daemon) recoverAll(ctx context.Context) error {
	if d.cfg.Claims != nil {
		return nil
	}
	for _, st := range d.stages {
		if err := st.Recover(ctx); err != nil {
			return err
		}
	}
	return nil
}

// process runs one job, under a claim when the daemon uses claims. A table
// another worker holds comes back as waiting, to be tried again.
func (d *Daemon) process(ctx context.Context, st Stage, ref lake.TableRef, dirs []string) (lake.Result, error) {
	r, err := d.claimed(ctx, st, ref, dirs)
	if d.cfg.Observer != nil {
		if r.Table.Table == "" {
			r.Table = ref
		}
		d.cfg.Observer.Observe(st.Zone(), r)
	}
	return r, err
}

func (d *Daemon) claimed(ctx context.Context, st Stage, ref lake.TableRef, dirs []string) (lake.Result, error) {
	if d.cfg.Claims == nil {
		return st.Process(ctx, ref, dirs)
	}
	jobCtx, release, ok, err := d.cfg.Claims.Claim(ctx, st.Zone(), ref)
	if err != nil {
		return lake.Result{Table: ref}, err
	}
	if !ok {
		return lake.Result{Table: ref, Waiting: 1, NextReady: time.Now().Add(d.cfg.ClaimRetry)}, nil
	}
	defer release()
	return st.Process(jobCtx, ref, dirs)
}

// Once processes everything waiting in every stage, waiting for files
// still being written to settle, and returns. Failed tables are reported
// in the joined error after the others have been processed.
func (d *Daemon) Once(ctx context.Context) (Summary, error) {
	var sum Summary
	if err := d.recoverAll(ctx); err != nil {
		return sum, err
	}
	for {
		pass, err := d.pass(ctx, &sum)
		if err != nil || pass.Waiting == 0 {
			return sum, err
		}
		if pass.Files+len(pass.Rejected) == 0 {
			sleepUntil(ctx, pass.NextReady)
		}
		if ctx.Err() != nil {
			return sum, ctx.Err()
		}
	}
}

// pass runs every stage once over what waits, in order. A stage that
// fails for some table does not keep the later stages from running: their
// other tables go on, and the errors are joined.
func (d *Daemon) pass(ctx context.Context, sum *Summary) (lake.Result, error) {
	var total lake.Result
	var errs []error
	for _, st := range d.stages {
		plan, err := st.Scan(ctx)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		sum.Rejected = append(sum.Rejected, plan.Rejected...)
		total.Rejected = append(total.Rejected, plan.Rejected...)
		total.Waiting += plan.Waiting
		results, err := d.processAll(ctx, st, plan)
		for _, r := range results {
			sum.add(st.Zone(), r)
			total.Add(r)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return total, errors.Join(errs...)
}

// processAll runs a stage on every table of a plan, Workers at a time.
func (d *Daemon) processAll(ctx context.Context, st Stage, plan lake.Plan) ([]lake.Result, error) {
	var (
		mu      sync.Mutex
		results []lake.Result
		errs    []error
	)
	refs := make([]lake.TableRef, 0, len(plan.Tables))
	for ref := range plan.Tables {
		refs = append(refs, ref)
	}
	d.parallel(refs, func(ref lake.TableRef) {
		r, err := d.process(ctx, st, ref, plan.Tables[ref])
		mu.Lock()
		defer mu.Unlock()
		results = append(results, r)
		if err != nil {
			d.log.Error("stage failed", "zone", st.Zone(), "table", ref.String(), "err", err)
			errs = append(errs, err)
		}
	})
	return results, errors.Join(errs...)
}

// sleepUntil waits until t (at most a second, at least 50 ms; 250 ms when t
// is unknown) or ctx's end.
func sleepUntil(ctx context.Context, t time.Time) {
	d := 250 * time.Millisecond
	if !t.IsZero() {
		d = min(max(time.Until(t), 50*time.Millisecond), time.Second)
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
	case <-timer.C:
	}
}
