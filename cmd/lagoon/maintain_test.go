package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/maintain"
)

// tableShape is what a table's current state costs a reader.
type tableShape struct {
	maxFilesPerPartition int
	manifests            int
	metadataBytes        int64
	metadataObjects      int
}

func shapeOf(tb testing.TB, l *lake.Lake, name string) tableShape {
	tb.Helper()
	ctx := context.Background()
	ref, _ := lake.ParseTableRef(name)
	tbl, err := l.LoadTable(ctx, ref)
	if err != nil {
		tb.Fatal(err)
	}
	var s tableShape
	tasks, err := tbl.Scan().PlanFiles(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	per := map[string]int{}
	for _, t := range tasks {
		k := fmt.Sprint(t.File.Partition())
		per[k]++
		s.maxFilesPerPartition = max(s.maxFilesPerPartition, per[k])
	}
	fs, _ := tbl.FS(ctx)
	if snap := tbl.CurrentSnapshot(); snap != nil {
		list, err := snap.Manifests(fs)
		if err != nil {
			tb.Fatal(err)
		}
		s.manifests = len(list)
	}
	if fi, err := os.Stat(strings.TrimPrefix(tbl.MetadataLocation(), "file://")); err == nil {
		s.metadataBytes = fi.Size()
	}
	for info, err := range l.Store.List(ctx, ref.Dir(lake.PrefixStg)+"metadata/") {
		if err == nil && !lake.Ignored(info.Key) {
			s.metadataObjects++
		}
	}
	return s
}

// fast reports whether the table is as the maintenance issue asks.
func (s tableShape) fast() bool {
	return s.maxFilesPerPartition <= 5 && s.manifests <= 10 && s.metadataBytes < 64<<10 && s.metadataObjects <= 200
}

// TestTablesStayFast is the maintenance acceptance test: many one-row
// files dropped one at a time into a running daemon leave a table of few
// files and manifests, a small metadata.json and a bounded metadata/
// folder — and every row once, read by DuckDB over the live data files.
// $LAGOON_ACCEPT_LOADS sets the number of files (300 here; 2,000 in the
// issue's acceptance, scripts/accept-maintenance). The retention is set
// to none (and 20 snapshots kept): the default keeps 5 days of snapshots,
// as many as the table takes in 5 days.
func TestTablesStayFast(t *testing.T) {
	n := 300
	if v, err := strconv.Atoi(os.Getenv("LAGOON_ACCEPT_LOADS")); err == nil && v > 0 {
		n = v
	}
	root := t.TempDir()
	l := lakefixture.OpenAt(t, root)
	var stderr syncBuffer
	cmd := exec.Command(lagoonBin, "run", "--root", root, "--settle", "0", "--side-every", "500ms", "--maintain-every", "1s",
		"--snapshot-retention", "0s", "--keep-snapshots", "20", "--log-level", "warn")
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	start := time.Now()
	for i := range n {
		lakefixture.DropFile(t, filepath.Join(root, fmt.Sprintf("prepare/acc/events/f%05d.ndjson", i)), fmt.Appendf(nil, `{"id":%d}`+"\n", i))
		time.Sleep(5 * time.Millisecond)
	}
	waitFor(t, time.Duration(n)*200*time.Millisecond+30*time.Second, func() bool {
		tbl, err := l.LoadTable(context.Background(), lake.TableRef{DB: "acc", Table: "events"})
		return err == nil && tbl.CurrentSnapshot() != nil && tbl.CurrentSnapshot().Summary.Properties["total-records"] == strconv.Itoa(n)
	})
	loaded := time.Since(start)
	var shape tableShape
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if shape = shapeOf(t, l, "acc.events"); shape.fast() {
			break
		}
	}
	t.Logf("%d files loaded in %v; then %+v", n, loaded, shape)
	if !shape.fast() {
		t.Errorf("table after %d loads: %+v; want ≤ 5 files per partition, ≤ 10 manifests, metadata.json < 64 KiB, ≤ 200 objects in metadata/", n, shape)
	}
	if rows, ids := lakefixture.DuckIDs(t, l, "acc.events"); rows != n || ids != n {
		t.Errorf("DuckDB reads %d rows (%d ids) from the live files, want %d each once", rows, ids, n)
	}
	stop(t, cmd, &stderr)
}

// stop sends the daemon SIGTERM and waits for it to exit cleanly.
func stop(tb testing.TB, cmd *exec.Cmd, stderr *syncBuffer) {
	tb.Helper()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			tb.Errorf("daemon exit: %v\n%s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		tb.Fatalf("daemon did not stop on SIGTERM\n%s", stderr.String())
	}
}

// TestMaintenanceCrashExactlyOnce SIGKILLs the daemon again and again
// while files arrive and maintenance runs at every pass (compaction,
// expiry down to 2 snapshots, orphans of any age): every row once, no
// file left behind, no orphan.
func TestMaintenanceCrashExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: skipped with -short")
	}
	const files, rowsPerFile, kills = 120, 5, 40
	root := t.TempDir()
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 2))
	bodies := make([][]byte, files)
	for i := range files {
		bodies[i] = lakefixture.ParquetBytes(t, lakefixture.Ints(i*rowsPerFile, rowsPerFile))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { dropSlowly(ctx, t, root, bodies) })
	maint := []string{"--side-every", "100ms", "--maintain-every", "0s", "--snapshot-retention", "0s", "--keep-snapshots", "2", "--orphan-age", "1ms"}
	killRepeatedly(t, rng, kills, append([]string{"run", "--root", root, "--settle", "0", "--max-batch-files", "2", "--rescan", "300ms"}, maint...)...)
	wg.Wait()
	code, out, errOut := lagoon(t, append([]string{"run", "--root", root, "--once", "--settle", "0", "--log-level", "warn"}, maint...)...)
	if code != exitOK {
		t.Fatalf("final run --once exit %d: %s %s", code, out, errOut)
	}
	defer func() {
		if t.Failed() { // what the final run's maintenance said, for the orphans it left
			t.Logf("final run --once: %s\n%s", out, errOut)
		}
	}()
	assertExactlyOnce(t, root, files*rowsPerFile)
	l := lakefixture.OpenAt(t, root)
	if rows, ids := lakefixture.DuckIDs(t, l, "crash.events"); rows != files*rowsPerFile || ids != files*rowsPerFile {
		t.Errorf("DuckDB reads %d rows (%d ids), want %d each once", rows, ids, files*rowsPerFile)
	}
	maintained := 0
	for _, r := range trailRecords(t, root) {
		if r == "maintained" {
			maintained++
		}
	}
	if maintained == 0 {
		t.Error("no maintenance in the trail: the test did not exercise it")
	}
}

// trailRecords are the kinds of the lake's trail records.
func trailRecords(tb testing.TB, root string) []string {
	tb.Helper()
	code, out, errOut := lagoon(tb, "trail", "list", "--root", root, "--json")
	if code != exitOK {
		tb.Fatalf("trail list: %d %s", code, errOut)
	}
	var recs []struct {
		Kind string `json:"kind"`
	}
	if err := json.Unmarshal([]byte(out), &recs); err != nil {
		tb.Fatalf("trail list --json: %v", err)
	}
	kinds := make([]string, len(recs))
	for i, r := range recs {
		kinds[i] = r.Kind
	}
	return kinds
}

// TestMaintainCommand: lagoon maintain reports what is due (--dry-run
// changes nothing), then does it; --json is an array of reports.
func TestMaintainCommand(t *testing.T) {
	root := t.TempDir()
	for i := range 6 {
		lakefixture.DropFile(t, filepath.Join(root, fmt.Sprintf("load/db/t/f%d.parquet", i)), lakefixture.ParquetBytes(t, lakefixture.Ints(i, 1)))
		runOnce(t, root, exitOK, "--maintain=false")
	}
	code, out, _ := lagoon(t, "maintain", "--root", root, "--dry-run")
	if code != exitOK || !strings.Contains(out, "dry run") || !strings.Contains(out, "db.t") {
		t.Fatalf("dry run: %d\n%s", code, out)
	}
	if n := shapeOf(t, lakefixture.OpenAt(t, root), "db.t").maxFilesPerPartition; n != 6 {
		t.Errorf("after a dry run: %d files, want 6", n)
	}
	code, out, errOut := lagoon(t, "maintain", "--root", root, "--json", "--snapshot-retention", "0s", "--keep-snapshots", "1")
	var reps []maintain.Report
	if err := json.Unmarshal([]byte(out), &reps); code != exitOK || err != nil || len(reps) != 1 {
		t.Fatalf("maintain --json: %d %v\n%s\n%s", code, err, out, errOut)
	}
	if r := reps[0]; r.Table != "db.t" || r.FilesRewritten != 6 || r.FilesWritten != 1 || r.SnapshotsExpired != 6 {
		t.Errorf("report %+v; want 6 files into 1 and 6 snapshots expired", r)
	}
	if rows, ids := lakefixture.DuckIDs(t, lakefixture.OpenAt(t, root), "db.t"); rows != 6 || ids != 6 {
		t.Errorf("DuckDB reads %d rows (%d ids), want 6", rows, ids)
	}
	if code, _, errOut := lagoon(t, "maintain", "--root", root, "nosuch.table"); code != exitError || !strings.Contains(errOut, "nosuch.table") {
		t.Errorf("maintain of a missing table: %d %s", code, errOut)
	}
}
