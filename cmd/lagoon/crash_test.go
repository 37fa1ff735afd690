package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/internal/orccraft"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/logs"
	"github.com/lagoon-dev/lagoon/prepare/orc"
	"github.com/lagoon-dev/lagoon/stats"
	"github.com/lagoon-dev/lagoon/trail"
)

// TestCrashExactlyOnce SIGKILLs the daemon at many random moments while
// files keep arriving, restarting it each time, and then proves that the
// table holds every dropped row exactly once and load/ is empty.
func TestCrashExactlyOnce(t *testing.T) {
	const files, rowsPerFile = 150, 40
	// A compaction killed half-way leaves its new files unreferenced, for
	// the orphan sweep: here at once (nothing else runs), not 3 days on.
	crashLoads(t, files*rowsPerFile, 60, []string{"--max-batch-files", "3"}, []string{"--orphan-age", "1ms"},
		func(i int) []byte { return lakefixture.ParquetBytes(t, lakefixture.Ints(i*rowsPerFile, rowsPerFile)) }, files)
}

// TestCopyCrashExactlyOnce is TestCrashExactlyOnce with files of row
// groups large enough to be loaded by copying their column chunks (each
// under a path column, a constant of the copy): SIGKILLed while copies are
// written or committed, the daemon loads every row once and leaves no copy
// behind — without maintenance, whose orphan sweep would hide a copy left
// (and whose compaction would re-encode the copies).
func TestCopyCrashExactlyOnce(t *testing.T) {
	const files, rowsPerFile = 36, 25000
	noMaintenance := []string{"--maintain=false"}
	root := crashLoads(t, files*rowsPerFile, 30, append([]string{"--max-batch-files", "4"}, noMaintenance...), noMaintenance,
		func(i int) []byte { return lakefixture.ParquetBytes(t, lakefixture.Blobs(i*rowsPerFile, rowsPerFile)) }, files)
	assertCopied(t, root)
}

// crashLoads drops files (body(i) each) into load/ slowly while `lagoon
// run` (with flags) is SIGKILLed kills times and restarted, then runs
// --once (with final flags) and checks the table holds want rows, each
// once (assertExactlyOnce). It returns the lake's root.
func crashLoads(t *testing.T, want, kills int, flags, final []string, body func(i int) []byte, files int) string {
	t.Helper()
	if testing.Short() {
		t.Skip("crash test: skipped with -short")
	}
	root := t.TempDir()
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 1))
	bodies := make([][]byte, files)
	for i := range files {
		bodies[i] = body(i)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { dropSlowly(ctx, t, root, bodies) })
	args := append([]string{"run", "--root", root, "--settle", "0", "--rescan", "500ms", "--side-every", "150ms"}, flags...)
	killRepeatedly(t, rng, kills, args...)
	wg.Wait()
	args = append([]string{"run", "--root", root, "--once", "--settle", "0", "--log-level", "error"}, final...)
	if code, out, errOut := lagoon(t, args...); code != exitOK {
		t.Fatalf("final run --once exit %d: %s %s", code, out, errOut)
	}
	assertExactlyOnce(t, root, want)
	return root
}

// assertCopied checks that the data files of crash.events were written
// by copying chunks, not re-encoded (the test would not test the copy).
func assertCopied(tb testing.TB, root string) {
	tb.Helper()
	l := lakefixture.OpenAt(tb, root)
	files, err := lake.DataFiles(context.Background(), lakefixture.Table(tb, l, "crash.events"))
	if err != nil {
		tb.Fatal(err)
	}
	copied := 0
	for _, f := range files {
		pf, err := file.OpenParquetFile(strings.TrimPrefix(f, "file://"), false)
		if err != nil {
			tb.Fatal(err)
		}
		if strings.Contains(pf.MetaData().GetCreatedBy(), "column chunks copied") {
			copied++
		}
		pf.Close()
	}
	if copied == 0 {
		tb.Fatalf("none of %d data files was copied", len(files))
	}
}

// TestPrepareCrashExactlyOnce is the crash test of the whole pipeline:
// NDJSON and CSV files arrive under prepare/ while the daemon is SIGKILLed
// again and again; batches form differently after each restart. In the
// end every row is in the table once and prepare/, load/ and the intents
// are empty.
func TestPrepareCrashExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: skipped with -short")
	}
	const files, rowsPerFile, kills = 150, 40, 60
	bodies := make([][]byte, files)
	keys := make([]string, files)
	for i := range files {
		bodies[i], keys[i] = feedFile(i, rowsPerFile)
	}
	crashWhilePreparing(t, keys, bodies, files*rowsPerFile, kills, "--prepare-batch-files", "3")
}

// crashWhilePreparing drops the files (keys, bodies) one by one under
// prepare/ while the daemon is SIGKILLed kills times (args added to its
// run), then runs it once to the end: every row (want) must be in
// crash.events once, as the table's reader and DuckDB count them, and
// prepare/, load/ and the intents empty.
func crashWhilePreparing(t *testing.T, keys []string, bodies [][]byte, want, kills int, args ...string) {
	t.Helper()
	root := t.TempDir()
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 2))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { dropKeys(ctx, t, root, keys, bodies) })
	killRepeatedly(t, rng, kills, append([]string{"run", "--root", root, "--settle", "0", "--max-batch-files", "4",
		"--rescan", "500ms", "--side-every", "150ms"}, args...)...)
	wg.Wait()
	// A compaction killed half-way leaves its new files unreferenced, for
	// the orphan sweep: here at once (nothing else runs), not 3 days on.
	code, out, errOut := lagoon(t, "run", "--root", root, "--once", "--settle", "0", "--log-level", "error", "--orphan-age", "1ms")
	if code != exitOK {
		t.Fatalf("final run --once exit %d: %s %s", code, out, errOut)
	}
	assertExactlyOnce(t, root, want)
	l := lakefixture.OpenAt(t, root)
	if rows, ids := lakefixture.DuckIDs(t, l, "crash.events"); rows != want || ids != rows {
		t.Errorf("DuckDB reads %d rows, %d ids, want %d once each", rows, ids, want)
	}
	for _, p := range []string{"prepare/", "tmp/lagoon/prepare/"} {
		for info, err := range l.Store.List(context.Background(), p) {
			if err == nil {
				t.Errorf("left behind: %s", info.Key)
			}
		}
	}
}

// TestORCCrashExactlyOnce: ORC files arrive under prepare/ while the
// daemon is SIGKILLed again and again, mid-conversion among other
// moments. In the end every row is in the table once (counted by the
// table's reader and by DuckDB) and prepare/, load/ and the intents are
// empty.
func TestORCCrashExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: skipped with -short")
	}
	const files, rowsPerFile, kills = 40, 2000, 30
	bodies := make([][]byte, files)
	keys := make([]string, files)
	for i := range files {
		ids := make([]int64, rowsPerFile)
		for j := range ids {
			ids[j] = int64(i*rowsPerFile + j)
		}
		comp := []orc.Compression{orc.Zlib, orc.Snappy, orc.Zstd, orc.None}[i%4]
		bodies[i], keys[i] = orccraft.IDs(comp, ids...), fmt.Sprintf("prepare/crash/events/f%04d.orc", i)
	}
	crashWhilePreparing(t, keys, bodies, files*rowsPerFile, kills)
}

// killRepeatedly starts lagoon with args and SIGKILLs it after a random
// 20–420 ms, kills times over.
func killRepeatedly(tb testing.TB, rng *rand.Rand, kills int, args ...string) {
	tb.Helper()
	for k := range kills {
		cmd := exec.Command(lagoonBin, append(args, "--log-level", crashLogLevel)...)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			tb.Fatal(err)
		}
		time.Sleep(time.Duration(20+rng.IntN(400)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			tb.Fatalf("kill %d: %v", k, err)
		}
		_ = cmd.Wait()
	}
}

// feedFile makes file i: NDJSON or CSV rows with ids i*n … i*n+n-1.
func feedFile(i, n int) ([]byte, string) {
	var b strings.Builder
	if i%2 == 0 {
		for j := range n {
			fmt.Fprintf(&b, `{"id":%d,"name":"n%d","payload":{"k":%d}}`+"\n", i*n+j, j, j)
		}
		return []byte(b.String()), fmt.Sprintf("prepare/crash/events/part=%d/f%04d.ndjson", i%3, i)
	}
	b.WriteString("id,name\n")
	for j := range n {
		fmt.Fprintf(&b, "%d,n%d\n", i*n+j, j)
	}
	return []byte(b.String()), fmt.Sprintf("prepare/crash/events/f%04d.csv", i)
}

func dropKeys(ctx context.Context, tb testing.TB, root string, keys []string, bodies [][]byte) {
	for i, b := range bodies {
		lakefixture.DropFile(tb, filepath.Join(root, filepath.FromSlash(keys[i])), b)
		select {
		case <-ctx.Done():
			return
		case <-time.After(80 * time.Millisecond):
		}
	}
}

// dropSlowly drops the files one by one into a few tables' folders.
func dropSlowly(ctx context.Context, tb testing.TB, root string, bodies [][]byte) {
	for i, b := range bodies {
		key := fmt.Sprintf("load/crash/events/part=%d/f%04d.parquet", i%3, i)
		lakefixture.DropFile(tb, filepath.Join(root, filepath.FromSlash(key)), b)
		select {
		case <-ctx.Done():
			return
		case <-time.After(80 * time.Millisecond):
		}
	}
}

func assertExactlyOnce(tb testing.TB, root string, want int) {
	tb.Helper()
	l := lakefixture.OpenAt(tb, root)
	ctx := context.Background()
	assertIDsOnce(tb, l, "crash.events", want)
	left := 0
	for info, err := range l.Store.List(ctx, "load/") {
		if err == nil && !lake.Ignored(info.Key) {
			left++
		}
	}
	for info, err := range l.Store.List(ctx, "tmp/lagoon/intents/") {
		if err == nil {
			tb.Errorf("intent left behind: %s", info.Key)
		}
	}
	if left != 0 {
		tb.Errorf("%d files left under load/", left)
	}
	lakefixture.AssertNoOrphans(tb, l, lake.TableRef{DB: "crash", Table: "events"})
	assertTrail(tb, l)
	assertSideTables(tb, l, "crash.events", want)
}

// assertSideTables checks the side tables after the crashes and the final
// run --once (which syncs them): the trail table holds each record once,
// the statistics count the rows, the log's inbox and intents are empty.
func assertSideTables(tb testing.TB, l *lake.Lake, name string, rows int) {
	tb.Helper()
	ctx := context.Background()
	recs, err := trail.List(ctx, l.Store, trail.Filter{})
	if err != nil {
		tb.Fatal(err)
	}
	seqs := lakefixture.Rows(tb, l, "lagoon.trail")
	seen := map[any]bool{}
	for _, r := range seqs {
		if seen[r["seq"]] {
			tb.Errorf("trail table holds record %v twice", r["seq"])
		}
		seen[r["seq"]] = true
	}
	if len(seqs) != len(recs) || len(seen) != len(recs) {
		tb.Errorf("trail table: %d rows (%d distinct) for %d records", len(seqs), len(seen), len(recs))
	}
	st, err := stats.Latest(ctx, l, name)
	if err != nil || len(st) != 1 || st[0].RecordCount != int64(rows) {
		tb.Errorf("stats of %s after crashes: %+v, %v; want %d records", name, st, err, rows)
	}
	for _, p := range []string{logs.InboxPrefix, "tmp/lagoon/side/"} {
		for info, err := range l.Store.List(ctx, p) {
			if err == nil && !lake.Ignored(info.Key) {
				tb.Errorf("left behind: %s", info.Key)
			}
		}
	}
}

// assertTrail checks that the trail verifies after the crashes and that
// every file loaded has a "loaded" record, written before its deletion.
func assertTrail(tb testing.TB, l *lake.Lake) {
	tb.Helper()
	ctx := context.Background()
	if rep, err := trail.Verify(ctx, l.Store, nil); err != nil {
		tb.Fatalf("trail after crashes: %+v %v", rep, err)
	}
	recs, err := trail.List(ctx, l.Store, trail.Filter{})
	if err != nil {
		tb.Fatal(err)
	}
	loaded, deleted := map[string]bool{}, map[string]bool{}
	for _, r := range recs {
		for _, k := range r.Event.Keys() {
			switch r.Kind {
			case trail.KindLoaded:
				loaded[k] = true
			case trail.KindDeleted:
				deleted[k] = true
			}
		}
	}
	for k := range deleted {
		if !loaded[k] {
			tb.Errorf("%s was deleted with no loaded record", k)
		}
	}
	if len(loaded) == 0 {
		tb.Errorf("no loaded record")
	}
}

// crashLogLevel is "info" with LAGOON_CRASH_LOG=1, to see what the
// restarts recovered.
var crashLogLevel = map[bool]string{true: "info", false: "error"}[os.Getenv("LAGOON_CRASH_LOG") == "1"]
