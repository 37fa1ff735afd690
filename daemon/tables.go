package daemon

import (
	"context"
	"errors"
	"sync"

	"github.com/lagoon-dev/lagoon/lake"
)

// Tables runs the stages on the tables named alone, each from the stage
// whose zone it is given (lake.PrefixPrepare, lake.PrefixLoad) through
// the last, so that a file prepared is loaded in the same call. It runs
// Workers tables at a time, under claims, and waits for nothing: files
// not finished yet and tables another worker holds stay where they are for
// the caller to come back to. Failed tables' errors are joined; a table's
// later stages still run after an earlier one fails (they may hold files
// of their own).
func (d *Daemon) Tables(ctx context.Context, from map[lake.TableRef]string) (Summary, error) {
	var (
		mu   sync.Mutex
		sum  Summary
		errs []error
	)
	refs := make([]lake.TableRef, 0, len(from))
	for ref := range from {
		refs = append(refs, ref)
	}
	d.parallel(refs, func(ref lake.TableRef) {
		for _, st := range d.stagesFrom(from[ref]) {
			r, err := d.process(ctx, st, ref, []string{ref.Dir(st.Zone())})
			mu.Lock()
			sum.add(st.Zone(), r)
			if err != nil {
				errs = append(errs, err)
			}
			mu.Unlock()
		}
	})
	return sum, errors.Join(errs...)
}

// stagesFrom returns the stages from the one working zone on (none when
// no stage works it).
func (d *Daemon) stagesFrom(zone string) []Stage {
	for i, st := range d.stages {
		if st.Zone() == zone {
			return d.stages[i:]
		}
	}
	return nil
}

// parallel calls fn for every ref, Workers at a time, and waits for all.
func (d *Daemon) parallel(refs []lake.TableRef, fn func(lake.TableRef)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, d.cfg.Workers)
	for _, ref := range refs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			fn(ref)
		})
	}
	wg.Wait()
}
