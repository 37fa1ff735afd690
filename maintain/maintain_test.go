package maintain_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go/table"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/internal/loadfixture"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/maintain"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

var ref = lake.TableRef{DB: "db", Table: "t"}

// loadOne drops a file of n rows (from first) and loads it: one commit.
func loadOne(tb testing.TB, l *lake.Lake, name string, first, n int) {
	tb.Helper()
	lakefixture.Drop(tb, l, "load/db/t/"+name+".parquet", lakefixture.ParquetBytes(tb, lakefixture.Ints(first, n)))
	loadfixture.Load(tb, l)
}

// loads makes a table of n one-row commits.
func loads(tb testing.TB, l *lake.Lake, n int) {
	tb.Helper()
	for i := range n {
		loadOne(tb, l, fmt.Sprintf("f%04d", i), i, 1)
	}
}

func maintainer(l *lake.Lake, tweak ...func(*maintain.Config)) maintain.Maintainer {
	cfg := maintain.DefaultConfig()
	for _, f := range tweak {
		f(&cfg)
	}
	return maintain.Maintainer{Store: l.Store, Catalog: l.Catalog, Lake: l.Identity, Config: cfg, Log: quiet()}
}

func run(tb testing.TB, m maintain.Maintainer) maintain.Report {
	tb.Helper()
	rep, err := m.Table(context.Background(), ref)
	if err != nil {
		tb.Fatal(err)
	}
	return rep
}

// allRows reads the table whole, _etl_loaded_at included, as JSON lines
// sorted.
func allRows(tb testing.TB, l *lake.Lake) []string {
	tb.Helper()
	tbl, err := l.LoadTable(context.Background(), ref)
	if err != nil {
		tb.Fatal(err)
	}
	data, err := lake.ReadTable(context.Background(), tbl, -1)
	if err != nil {
		tb.Fatal(err)
	}
	defer data.Release()
	var out []string
	tr := array.NewTableReader(data, 1024)
	defer tr.Release()
	for tr.Next() {
		st := array.RecordToStructArray(tr.RecordBatch())
		for i := range st.Len() {
			b, _ := json.Marshal(st.GetOneForMarshal(i))
			out = append(out, string(b))
		}
		st.Release()
	}
	slices.Sort(out)
	return out
}

// liveFiles are the table's current data files.
func liveFiles(tb testing.TB, l *lake.Lake) []string {
	tb.Helper()
	tbl, err := l.LoadTable(context.Background(), ref)
	if err != nil {
		tb.Fatal(err)
	}
	files, err := lake.DataFiles(context.Background(), tbl)
	if err != nil {
		tb.Fatal(err)
	}
	return files
}

// TestCompactionKeepsEveryValue: 12 one-row commits are compacted into
// one file holding the same rows, _etl_loaded_at included (read by
// lagoon and by DuckDB over the live files).
func TestCompactionKeepsEveryValue(t *testing.T) {
	l := lakefixture.Open(t)
	loads(t, l, 12)
	before := allRows(t, l)
	rep := run(t, maintainer(l))
	if rep.FilesRewritten != 12 || rep.FilesWritten != 1 {
		t.Errorf("report %+v; want 12 files rewritten into 1", rep)
	}
	if got := allRows(t, l); !slices.Equal(got, before) {
		t.Errorf("rows changed:\n%v\n%v", before, got)
	}
	if n := len(liveFiles(t, l)); n != 1 {
		t.Errorf("%d live files, want 1", n)
	}
	if rows, ids := lakefixture.DuckIDs(t, l, "db.t"); rows != 12 || ids != 12 {
		t.Errorf("DuckDB reads %d rows (%d ids), want 12", rows, ids)
	}
}

// TestFewSmallFilesWait: fewer small files than MinInputFiles are left.
func TestFewSmallFilesWait(t *testing.T) {
	l := lakefixture.Open(t)
	loads(t, l, 4)
	if rep := run(t, maintainer(l)); rep.FilesRewritten != 0 {
		t.Errorf("report %+v; want nothing compacted", rep)
	}
}

// TestMaintenanceRacingLoadsLosesNothing: maintenance run again and again
// while loaders append: every row is in the table once.
func TestMaintenanceRacingLoadsLosesNothing(t *testing.T) {
	l := lakefixture.Open(t)
	loads(t, l, 6)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var runs, conflicts atomic.Int64
	wg.Go(func() {
		m := maintainer(l, func(c *maintain.Config) { c.SnapshotAge, c.KeepSnapshots, c.MaxManifests = 0, 3, 2 })
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := m.Table(context.Background(), ref); err != nil {
				conflicts.Add(1) // beaten (by an append, in the instant after the check): tried again
			}
			runs.Add(1)
		}
	})
	n := 0
	for ; n < 40; n++ {
		loadOne(t, l, fmt.Sprintf("r%04d", n), 1000+n, 1)
		time.Sleep(20 * time.Millisecond) // files arrive over time
		if n%8 == 7 {
			// let maintenance finish a run now and then, however slow
			// its commits (beaten, retried with backoff) on a busy machine
			for seen := runs.Load(); runs.Load() == seen; {
				time.Sleep(5 * time.Millisecond)
			}
		}
	}
	close(stop)
	wg.Wait()
	run(t, maintainer(l))
	t.Logf("%d loads, %d maintenance runs, %d beaten", n, runs.Load(), conflicts.Load())
	if runs.Load() < 5 {
		t.Errorf("%d maintenance runs during the loads; want several", runs.Load())
	}
	rows := allRows(t, l)
	if len(rows) != 6+n {
		t.Errorf("%d rows, want %d", len(rows), 6+n)
	}
	if rows, ids := lakefixture.DuckIDs(t, l, "db.t"); rows != 6+n || ids != 6+n {
		t.Errorf("DuckDB reads %d rows (%d ids), want %d each once", rows, ids, 6+n)
	}
}

// TestManifestsStayFew: past MaxManifests, the current snapshot's
// manifests are merged.
func TestManifestsStayFew(t *testing.T) {
	l := lakefixture.Open(t)
	loads(t, l, 12)
	rep := run(t, maintainer(l, func(c *maintain.Config) { c.MinInputFiles = 1000 })) // no compaction
	if rep.ManifestsRewritten != 12 || rep.ManifestsWritten > 2 {
		t.Errorf("report %+v; want 12 manifests merged into 1 or 2", rep)
	}
	if n := len(allRows(t, l)); n != 12 {
		t.Errorf("%d rows, want 12", n)
	}
}

// objects counts the files under the table's metadata/ and data/.
func objects(tb testing.TB, l *lake.Lake) (meta, data int) {
	tb.Helper()
	for info, err := range l.Store.List(context.Background(), "stg/db/t/") {
		if err != nil {
			tb.Fatal(err)
		}
		switch {
		case strings.Contains(info.Key, "/metadata/"):
			meta++
		case strings.Contains(info.Key, "/data/"):
			data++
		}
	}
	return meta, data
}

// TestExpiryKeepsTheRetention: snapshots past the retention are expired
// and the files only they referenced deleted; the table's own
// history.expire properties win over the config; snapshots since the
// oldest batch in flight are kept; a retained snapshot still reads.
func TestExpiryKeepsTheRetention(t *testing.T) {
	l := lakefixture.Open(t)
	loads(t, l, 12)
	run(t, maintainer(l, func(c *maintain.Config) { c.SnapshotAge = time.Hour })) // compacts; expires nothing
	metaBefore, dataBefore := objects(t, l)

	inFlight := func(c *maintain.Config) {
		c.SnapshotAge, c.KeepSnapshots = 0, 3
		c.Journal = func(context.Context, lake.TableRef) (time.Time, error) { return time.Now().Add(-time.Hour), nil }
	}
	if rep := run(t, maintainer(l, inFlight)); rep.SnapshotsExpired != 0 {
		t.Errorf("with a batch in flight for an hour: %+v; want nothing expired", rep)
	}
	snapshots := func() int {
		tbl, _ := l.LoadTable(context.Background(), ref)
		return len(tbl.Metadata().Snapshots())
	}
	all := snapshots() // 12 appends, 1 compaction
	setProperty(t, l, "history.expire.min-snapshots-to-keep", "5")
	rep := run(t, maintainer(l, func(c *maintain.Config) { c.SnapshotAge, c.KeepSnapshots = 0, 3 }))
	if left := snapshots(); left != 5 || rep.SnapshotsExpired != all-5 {
		t.Errorf("report %+v, %d snapshots left; want 5 kept (the table's property over the config's 3)", rep, left)
	}
	assertTimeTravel(t, l)
	setProperty(t, l, "history.expire.min-snapshots-to-keep", "1") // only the compaction's snapshot
	run(t, maintainer(l, func(c *maintain.Config) { c.SnapshotAge = 0 }))
	metaAfter, dataAfter := objects(t, l)
	if dataAfter != 1 || metaAfter >= metaBefore {
		t.Errorf("objects: data %d→%d, metadata %d→%d; want the expired snapshots' files gone", dataBefore, dataAfter, metaBefore, metaAfter)
	}
	if n := len(allRows(t, l)); n != 12 {
		t.Errorf("%d rows, want 12", n)
	}
}

// assertTimeTravel reads every snapshot the table keeps: each holds the
// rows it had (as many as its summary says), its files all there.
func assertTimeTravel(tb testing.TB, l *lake.Lake) {
	tb.Helper()
	ctx := context.Background()
	tbl, err := l.LoadTable(ctx, ref)
	if err != nil {
		tb.Fatal(err)
	}
	for _, snap := range tbl.Metadata().Snapshots() {
		data, err := tbl.Scan(table.WithSnapshotID(snap.SnapshotID)).ToArrowTable(ctx)
		if err != nil {
			tb.Fatalf("snapshot %d: %v", snap.SnapshotID, err)
		}
		if want := snap.Summary.Properties["total-records"]; fmt.Sprint(data.NumRows()) != want {
			tb.Errorf("snapshot %d reads %d rows, its summary says %s", snap.SnapshotID, data.NumRows(), want)
		}
		data.Release()
	}
}

func setProperty(tb testing.TB, l *lake.Lake, k, v string) {
	tb.Helper()
	tbl, err := l.LoadTable(context.Background(), ref)
	if err != nil {
		tb.Fatal(err)
	}
	tx := tbl.NewTransaction()
	if err := tx.SetProperties(map[string]string{k: v}); err != nil {
		tb.Fatal(err)
	}
	if _, err := tx.Commit(context.Background()); err != nil {
		tb.Fatal(err)
	}
}

// TestOrphansOnlyOldAndUnreferenced: a stray data file older than the
// orphan age is deleted; a recent one, the version hint and a file of a
// batch in flight stay.
func TestOrphansOnlyOldAndUnreferenced(t *testing.T) {
	l := lakefixture.Open(t)
	loads(t, l, 2)
	root := lakefixture.Root(l)
	old, recent := filepath.Join(root, "stg/db/t/data/stray-old.parquet"), filepath.Join(root, "stg/db/t/data/stray-new.parquet")
	inPartition := filepath.Join(root, "stg/db/t/data/_etl_loaded_at_day=2026-01-01/stray.parquet") // a killed attempt's
	for _, p := range []string{old, recent, inPartition} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("PAR1 not really"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	week := time.Now().Add(-7 * 24 * time.Hour)
	hint := filepath.Join(root, "stg/db/t/metadata/version-hint.text")
	for _, p := range []string{old, hint, inPartition} {
		if err := os.Chtimes(p, week, week); err != nil {
			t.Fatal(err)
		}
	}
	inFlight := func(c *maintain.Config) {
		c.Journal = func(context.Context, lake.TableRef) (time.Time, error) { return week.Add(-time.Hour), nil }
	}
	if rep := run(t, maintainer(l, inFlight)); rep.OrphansDeleted != 0 {
		t.Errorf("with a batch in flight since before the stray file: %+v; want it kept", rep)
	}
	if rep := run(t, maintainer(l)); rep.OrphansDeleted != 2 {
		t.Errorf("report %+v; want the 2 old stray files deleted", rep)
	}
	for p, want := range map[string]bool{old: false, inPartition: false, recent: true, hint: true} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s exists: %v, want %v", p, err == nil, want)
		}
	}
	if n := len(allRows(t, l)); n != 2 {
		t.Errorf("%d rows, want 2", n)
	}
}

// TestDryRunChangesNothing: a dry run reports what is due, and the lake
// is byte for byte as it was.
func TestDryRunChangesNothing(t *testing.T) {
	l := lakefixture.Open(t)
	loads(t, l, 12)
	before := lakefixture.TreeDigest(t, lakefixture.Root(l))
	rep := run(t, maintainer(l, func(c *maintain.Config) { c.DryRun, c.SnapshotAge, c.KeepSnapshots = true, 0, 3 }))
	if !rep.DryRun || rep.FilesRewritten != 12 || rep.SnapshotsExpired == 0 {
		t.Errorf("dry run report %+v; want 12 files to compact and snapshots to expire", rep)
	}
	if lakefixture.TreeDigest(t, lakefixture.Root(l)) != before {
		t.Error("a dry run changed the lake")
	}
}

// TestTaskLooksWhenDue: the daemon's task maintains a table when it has
// a new snapshot, and sweeps its orphans at most once every Every (a
// sweep reads every manifest of every snapshot).
func TestTaskLooksWhenDue(t *testing.T) {
	l := lakefixture.Open(t)
	loads(t, l, 2)
	cfg := maintain.DefaultConfig()
	task := &maintain.Task{Lake: l, Users: &cfg, Every: time.Hour, Log: quiet()}
	sync := func() {
		t.Helper()
		if _, err := task.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	sync() // the first look sweeps
	stray := filepath.Join(lakefixture.Root(l), "stg/db/t/data/stray.parquet")
	if err := os.WriteFile(stray, []byte("PAR1"), 0o644); err != nil {
		t.Fatal(err)
	}
	week := time.Now().Add(-7 * 24 * time.Hour)
	if err := os.Chtimes(stray, week, week); err != nil {
		t.Fatal(err)
	}
	loads(t, l, 4) // 6 small files: due, and compacted
	sync()
	if n := len(liveFiles(t, l)); n != 1 {
		t.Errorf("%d live files after the table changed; want it compacted into 1", n)
	}
	if _, err := os.Stat(stray); err != nil {
		t.Errorf("the old stray file went within the hour after a sweep: %v", err)
	}
	task.Every = 0
	sync()
	if _, err := os.Stat(stray); !os.IsNotExist(err) {
		t.Errorf("the old stray file stays after Every: %v", err)
	}
}
