package daemon

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/lagoon-dev/lagoon/lake"
)

// SideTask keeps one side table (or a few) current: the trail, the
// statistics, the log, their maintenance. Sync does what is due and
// returns how many rows it added; it must be safe to run again at any
// time, including after a crash half-way.
type SideTask interface {
	Name() string
	Sync(ctx context.Context) (int, error)
}

// SideZone names the side tasks' claims.
const SideZone = "side/"

// SideConfig tunes the side tasks.
type SideConfig struct {
	// Every is the period between syncs: the longest a pipeline event
	// waits to appear in a side table, plus one sync's duration.
	Every time.Duration
	// Grace bounds the last sync at shutdown.
	Grace time.Duration
	// Claims, when set, makes each task claim its name first, so that
	// one worker of several syncs a side table at a time.
	Claims Claimer
}

// DefaultSideConfig syncs every 15 s, with 30 s for the last sync.
func DefaultSideConfig() SideConfig {
	return SideConfig{Every: 15 * time.Second, Grace: 30 * time.Second}
}

// RunSide runs the side tasks every cfg.Every until ctx ends, then once
// more so that what the pipeline did last reaches the tables. Failures
// are logged and retried next round: a side table never stops or fails
// loading, and its sources (trail records, the log inbox, table
// metadata) keep everything until it is synced.
func RunSide(ctx context.Context, tasks []SideTask, cfg SideConfig, log *slog.Logger) {
	t := time.NewTicker(cfg.Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.Grace)
			defer cancel()
			_ = SyncSide(fctx, tasks, cfg.Claims, log)
			return
		case <-t.C:
			_ = SyncSide(ctx, tasks, cfg.Claims, log)
		}
	}
}

// SyncSide runs each side task once, in order, and returns their joined
// errors (each also logged). A task another worker holds is skipped.
func SyncSide(ctx context.Context, tasks []SideTask, claims Claimer, log *slog.Logger) error {
	var errs []error
	for _, t := range tasks {
		n, err := syncOne(ctx, t, claims)
		if err != nil {
			log.Error("side table sync failed; will retry", "stage", "side", "task", t.Name(), "err", err)
			errs = append(errs, err)
		} else if n > 0 {
			log.Debug("side table synced", "task", t.Name(), "rows", n)
		}
	}
	return errors.Join(errs...)
}

func syncOne(ctx context.Context, t SideTask, claims Claimer) (int, error) {
	if claims != nil {
		cctx, release, ok, err := claims.Claim(ctx, SideZone, lake.TableRef{DB: lake.SideNamespace, Table: t.Name()})
		if err != nil || !ok {
			return 0, err
		}
		defer release()
		ctx = cctx
	}
	return t.Sync(ctx)
}
