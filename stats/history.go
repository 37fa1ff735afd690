package stats

import (
	"context"
	"slices"
	"time"

	"github.com/lagoon-dev/lagoon/lake"
)

// History reads every table row of the statistics (one per snapshot),
// oldest first.
func History(ctx context.Context, lk *lake.Lake) ([]TableRow, error) {
	var rows []TableRow
	if err := lk.ScanSide(ctx, TablesDef, func(c lake.Cols) { rows = append(rows, tableRows(c)...) }); err != nil {
		return nil, err
	}
	slices.SortFunc(rows, func(a, b TableRow) int { return a.CommittedAt.Compare(b.CommittedAt) })
	return rows, nil
}

// Freshness is how a table's loads keep up.
type Freshness struct {
	LastLoad time.Time
	// Usual is the median time between its loads (0: fewer than three
	// loads, too few to say).
	Usual time.Duration
	// Stale: no load for much longer than usual (StaleFactor times, and
	// at least MinStale).
	Stale bool
}

// StaleFactor and MinStale say when a table is stale: no load for
// StaleFactor times its usual interval, and for MinStale at least (a table
// loaded every second is not stale after four).
const (
	StaleFactor = 4
	MinStale    = 10 * time.Minute
)

// FreshnessOf says how the loads of one table (its rows, oldest first,
// maintenance left out) keep up at now.
func FreshnessOf(rows []TableRow, now time.Time) Freshness {
	var loads []time.Time
	for _, r := range rows {
		if r.Maintenance == "" && r.RowsAdded > 0 {
			loads = append(loads, r.CommittedAt)
		}
	}
	if len(loads) == 0 {
		return Freshness{}
	}
	f := Freshness{LastLoad: loads[len(loads)-1]}
	if len(loads) < 3 {
		return f
	}
	gaps := make([]time.Duration, 0, len(loads)-1)
	for i := 1; i < len(loads); i++ {
		gaps = append(gaps, loads[i].Sub(loads[i-1]))
	}
	slices.Sort(gaps)
	f.Usual = gaps[len(gaps)/2]
	f.Stale = now.Sub(f.LastLoad) > max(StaleFactor*f.Usual, MinStale)
	return f
}

// RowsPerDay adds up the rows loaded per UTC day (maintenance left out),
// for the days from since to now.
func RowsPerDay(rows []TableRow, since time.Time) map[string]int64 {
	out := map[string]int64{}
	for _, r := range rows {
		if r.Maintenance == "" && !r.CommittedAt.Before(since) {
			out[r.CommittedAt.UTC().Format(time.DateOnly)] += r.RowsAdded
		}
	}
	return out
}
