// Package daemon schedules the pipeline's work: it turns event hints and
// sweeps into per-table jobs, runs at most one job per table at a time and
// a bounded number overall, retries failures with backoff, and shuts down
// gracefully.
package daemon

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/loader"
)

// Loader is what the daemon needs of the load stage.
type Loader interface {
	Recover(ctx context.Context) error
	Scan(ctx context.Context) (loader.Plan, error)
	LoadTable(ctx context.Context, ref lake.TableRef, dirs []string) (loader.Result, error)
}

var _ Loader = (*loader.Loader)(nil)

// Config tunes the daemon.
type Config struct {
	// Workers bounds the tables processed at once.
	Workers int
	// RetryMin and RetryMax bound the backoff after a failed job.
	RetryMin, RetryMax time.Duration
	// ShutdownTimeout is how long jobs in flight may run on after a stop
	// request before they are cancelled (which is safe, only slower).
	ShutdownTimeout time.Duration
}

// DefaultConfig returns 2 workers, 5 s to 5 min backoff, a 30 s grace.
func DefaultConfig() Config {
	return Config{Workers: 2, RetryMin: 5 * time.Second, RetryMax: 5 * time.Minute, ShutdownTimeout: 30 * time.Second}
}

// Daemon runs the pipeline over one lake.
type Daemon struct {
	ld  Loader
	cfg Config
	log *slog.Logger
}

// New returns a daemon over a loader.
func New(ld Loader, cfg Config, log *slog.Logger) *Daemon {
	if cfg.Workers < 1 {
		cfg.Workers = 1
	}
	return &Daemon{ld: ld, cfg: cfg, log: log}
}

// Summary totals what a run did.
type Summary struct {
	Tables   int               `json:"tables"`
	Files    int               `json:"files"`
	Rows     int64             `json:"rows"`
	Bytes    int64             `json:"bytes"`
	Commits  int               `json:"commits"`
	Rejected []loader.Rejected `json:"rejected"`
	tables   map[lake.TableRef]bool
}

func (s *Summary) add(r loader.Result) {
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
	s.Rejected = append(s.Rejected, r.Rejected...)
}

// Once processes everything waiting, waiting for files still being
// written to settle, and returns. Failed tables are reported in the
// joined error after the others have been processed.
func (d *Daemon) Once(ctx context.Context) (Summary, error) {
	var sum Summary
	if err := d.ld.Recover(ctx); err != nil {
		return sum, err
	}
	for {
		plan, err := d.ld.Scan(ctx)
		if err != nil {
			return sum, err
		}
		sum.Rejected = append(sum.Rejected, plan.Rejected...)
		results, err := d.loadAll(ctx, plan)
		progress := len(plan.Rejected)
		waiting, next := plan.Waiting, time.Time{}
		for _, r := range results {
			sum.add(r)
			progress += r.Files + len(r.Rejected)
			waiting += r.Waiting
			if !r.NextReady.IsZero() && (next.IsZero() || r.NextReady.Before(next)) {
				next = r.NextReady
			}
		}
		if err != nil || waiting == 0 {
			return sum, err
		}
		if progress == 0 {
			sleepUntil(ctx, next)
		}
		if ctx.Err() != nil {
			return sum, ctx.Err()
		}
	}
}

// loadAll loads every table of a plan, Workers at a time.
func (d *Daemon) loadAll(ctx context.Context, plan loader.Plan) ([]loader.Result, error) {
	var (
		mu      sync.Mutex
		results []loader.Result
		errs    []error
		wg      sync.WaitGroup
		sem     = make(chan struct{}, d.cfg.Workers)
	)
	for ref, dirs := range plan.Tables {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			r, err := d.ld.LoadTable(ctx, ref, dirs)
			mu.Lock()
			defer mu.Unlock()
			results = append(results, r)
			if err != nil {
				d.log.Error("load failed", "table", ref.String(), "err", err)
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
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
