package trail_test

import (
	"context"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/maintain"
	"github.com/lagoon-dev/lagoon/trail"
)

// tableSeqs reads the trail table and returns its seq column, sorted.
func tableSeqs(tb testing.TB, lk *lake.Lake) []int64 {
	tb.Helper()
	var out []int64
	for _, r := range lakefixture.Rows(tb, lk, "lagoon.trail") {
		out = append(out, int64(r["seq"].(float64)))
	}
	slices.Sort(out)
	return out
}

func upTo(n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(i)
	}
	return out
}

func TestTableHoldsEachRecordOnce(t *testing.T) {
	ctx := context.Background()
	lk := lakefixture.Open(t)
	s := trail.NewSyncer(lk, slog.Default())
	fill(t, lk.Store, nil, 12)
	if n, err := s.Sync(ctx); err != nil || n != 12 {
		t.Fatalf("first sync: %d records, %v", n, err)
	}
	if n, err := s.Sync(ctx); err != nil || n != 0 {
		t.Fatalf("second sync: %d records, %v; want nothing new", n, err)
	}
	fill(t, lk.Store, nil, 3)
	if n, err := s.Sync(ctx); err != nil || n != 3 {
		t.Fatalf("third sync: %d records, %v", n, err)
	}
	if got := tableSeqs(t, lk); !slices.Equal(got, upTo(15)) {
		t.Fatalf("table seqs = %v", got)
	}
	if !lakefixture.Exists(lk, trail.TableDef.Dir+"metadata/version-hint.text") {
		t.Fatal("no version hint for path-based readers")
	}
}

func TestConcurrentSyncsAndRebuild(t *testing.T) {
	ctx := context.Background()
	lk := lakefixture.Open(t)
	fill(t, lk.Store, nil, 40)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := trail.NewSyncer(lk, slog.Default()).Sync(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := tableSeqs(t, lk); !slices.Equal(got, upTo(40)) {
		t.Fatalf("after 4 concurrent syncs, table seqs = %v", got)
	}
	n, err := trail.NewSyncer(lk, slog.Default()).Rebuild(ctx)
	if err != nil || n != 40 {
		t.Fatalf("rebuild: %d records, %v", n, err)
	}
	if got := tableSeqs(t, lk); !slices.Equal(got, upTo(40)) {
		t.Fatalf("after rebuild, table seqs = %v", got)
	}
}

// Months of small syncs stay fast to read: maintenance compacts the small
// files and expires old snapshots, and the table keeps every record once.
func TestMaintenanceCompactsAndExpires(t *testing.T) {
	ctx := context.Background()
	lk := lakefixture.Open(t)
	s := trail.NewSyncer(lk, slog.Default())
	for range 12 {
		fill(t, lk.Store, nil, 1)
		if _, err := s.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// A sync killed between writing its file and committing left this.
	orphan := lk.Store.(*lake.Local).Path(trail.TableDef.Dir + "data/time_day=2026-01-01/orphan.parquet")
	lakefixture.DropFile(t, orphan, []byte("PAR1"))
	if err := os.Chtimes(orphan, time.Now().Add(-2*time.Hour), time.Now().Add(-2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	// Only the compacted snapshot is kept: the old files are unreferenced.
	cfg := maintain.SideConfig()
	cfg.MinInputFiles, cfg.KeepSnapshots, cfg.SnapshotAge = 4, 1, 0
	m := maintain.Maintainer{Store: lk.Store, Catalog: lk.Catalog, Lake: lk.Identity, Config: cfg, Log: slog.Default()}
	rep, err := m.Table(ctx, trail.TableDef.Ref())
	if err != nil {
		t.Fatal(err)
	}
	did := rep.Summary()
	tbl, err := lk.LoadTable(ctx, trail.TableDef.Ref())
	if err != nil {
		t.Fatal(err)
	}
	files, err := lake.DataFiles(ctx, tbl)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) > 2 || len(tbl.Metadata().Snapshots()) != 1 {
		t.Fatalf("after maintenance (%s): %d data files, %d snapshots", did, len(files), len(tbl.Metadata().Snapshots()))
	}
	onDisk := 0
	for info, err := range lk.Store.List(ctx, trail.TableDef.Dir+"data/") {
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(info.Key, ".parquet") {
			onDisk++
		}
	}
	if onDisk != len(files) {
		t.Errorf("%d data files on disk, %d in the table: expired files not deleted", onDisk, len(files))
	}
	fill(t, lk.Store, nil, 2)
	if n, err := s.Sync(ctx); err != nil || n != 2 {
		t.Fatalf("sync after maintenance: %d, %v", n, err)
	}
	if got := tableSeqs(t, lk); !slices.Equal(got, upTo(14)) {
		t.Fatalf("table seqs after maintenance = %v", got)
	}
	t.Log(did)
}
