package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/loader"
)

// TestDaemonWatchesAndStopsGracefully runs the daemon as a process: a file
// dropped into a folder created after start-up (three levels deep) loads
// from the file-system event alone (the sweep is set to an hour), and
// SIGTERM stops it with exit status 0.
func TestDaemonWatchesAndStopsGracefully(t *testing.T) {
	root := t.TempDir()
	l := lakefixture.OpenAt(t, root)
	var stderr syncBuffer
	cmd := exec.Command(lagoonBin, "run", "--root", root, "--settle", "700ms", "--rescan", "1h")
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitFor(t, 10*time.Second, func() bool { return strings.Contains(stderr.String(), "lagoon running") })

	if code, _, errOut := lagoon(t, "run", "--root", root, "--once"); code != exitError || !strings.Contains(errOut, "in use by another lagoon process") {
		t.Errorf("second daemon on the same lake: exit %d %s", code, errOut)
	}
	lakefixture.DropFile(t, filepath.Join(root, "load/web/hits/2026/11/22/a.parquet"), lakefixture.ParquetBytes(t, lakefixture.Ints(0, 7)))
	// Written in place, in two halves: --settle keeps it from loading half.
	slow := lakefixture.ParquetBytes(t, lakefixture.Ints(7, 5))
	p := filepath.Join(root, "load/web/hits/slow.parquet")
	writeSlowly(t, p, slow, 400*time.Millisecond)
	waitFor(t, 10*time.Second, func() bool {
		tbl, err := l.LoadTable(context.Background(), lake.TableRef{DB: "web", Table: "hits"})
		return err == nil && tbl.CurrentSnapshot() != nil && !lakefixture.Exists(l, "load/web/hits/slow.parquet")
	})
	if n := len(lakefixture.Rows(t, l, "web.hits")); n != 12 {
		t.Errorf("rows = %d, want 12", n)
	}
	if lakefixture.Exists(l, "log/rejected/load/web/hits/slow.parquet") {
		t.Errorf("the file written slowly was rejected")
	}
	// prepare/ is watched too: a CSV dropped into a new folder lands.
	lakefixture.DropFile(t, filepath.Join(root, "prepare/web/visits/2026/v.csv"), []byte("id,page\n1,/home\n2,/about\n"))
	waitFor(t, 10*time.Second, func() bool {
		tbl, err := l.LoadTable(context.Background(), lake.TableRef{DB: "web", Table: "visits"})
		return err == nil && tbl.CurrentSnapshot() != nil
	})
	if n := len(lakefixture.Rows(t, l, "web.visits")); n != 2 {
		t.Errorf("visits rows = %d, want 2", n)
	}
	stop(t, cmd, &stderr)
	if !strings.Contains(stderr.String(), "lagoon stopped") {
		t.Errorf("no shutdown log:\n%s", stderr.String())
	}
}

// writeSlowly writes the first half of body to path, waits, then the rest.
func writeSlowly(tb testing.TB, path string, body []byte, pause time.Duration) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	half := len(body) / 2
	if _, err := f.Write(body[:half]); err != nil {
		tb.Fatal(err)
	}
	time.Sleep(pause)
	if _, err := f.Write(body[half:]); err != nil {
		tb.Fatal(err)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and readers at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitFor(tb testing.TB, limit time.Duration, ok func() bool) {
	tb.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			tb.Fatalf("condition not met within %s", limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestTransientFailuresRetryVisibly: while the loader cannot write its
// intents (an I/O error, not the file's fault), the daemon keeps the file,
// says so in the log table ("job failed; will retry", with the table and
// the error) and retries with backoff; once the folder is back, the file
// loads, once, and nothing was rejected.
func TestTransientFailuresRetryVisibly(t *testing.T) {
	root := t.TempDir()
	l := lakefixture.OpenAt(t, root)
	lakefixture.DropFile(t, filepath.Join(root, "load/db/t/a.parquet"), lakefixture.ParquetBytes(t, lakefixture.Ints(0, 3)))
	if code, out, errOut := lagoon(t, "run", "--root", root, "--once", "--settle", "0"); code != exitOK {
		t.Fatalf("first run: %d %s %s", code, out, errOut)
	}
	intents := filepath.Join(root, filepath.FromSlash(strings.TrimSuffix(loader.IntentPrefix, "/")))
	if err := os.RemoveAll(intents); err != nil {
		t.Fatal(err)
	}
	lakefixture.DropFile(t, intents, []byte("not a folder")) // the loader's intents cannot be written
	var stderr syncBuffer
	cmd := exec.Command(lagoonBin, "run", "--root", root, "--settle", "0", "--rescan", "1h")
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitFor(t, 10*time.Second, func() bool { return strings.Contains(stderr.String(), "lagoon running") })
	lakefixture.DropFile(t, filepath.Join(root, "load/db/t/b.parquet"), lakefixture.ParquetBytes(t, lakefixture.Ints(3, 4)))
	waitFor(t, 10*time.Second, func() bool { return strings.Contains(stderr.String(), "job failed; will retry") })
	if err := os.Remove(intents); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, func() bool { return !lakefixture.Exists(l, "load/db/t/b.parquet") })
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("daemon exit: %v\n%s", err, stderr.String())
	}
	if n := len(lakefixture.Rows(t, l, "db.t")); n != 7 {
		t.Errorf("rows = %d, want 7", n)
	}
	if lakefixture.Exists(l, "log/rejected/load/db/t/b.parquet") {
		t.Error("the file was rejected for the store's failure")
	}
	lagoon(t, "run", "--root", root, "--once") // folds the log inbox into the log table
	code, out, errOut := lagoon(t, "log", "--root", root, "--json", "--table", "db.t")
	if code != exitOK {
		t.Fatalf("log: %d %s", code, errOut)
	}
	var entries []map[string]any
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		t.Fatalf("log --json: %v\n%s", err, out)
	}
	retried := 0
	for _, e := range entries {
		if e["message"] == "job failed; will retry" && strings.Contains(fmt.Sprint(e["error"]), "not a directory") {
			retried++
		}
	}
	if retried == 0 {
		t.Errorf("no retry in the log table: %v", entries)
	}
}

// TestSlowWriterIsWaitedFor: a writer that pauses longer than --settle
// while it holds the file open (a logger, a slow upload) loses nothing:
// the file is taken once it is closed, whole. (It once was taken at the
// first pause, deleted while still open, and the rest of it was lost.)
func TestSlowWriterIsWaitedFor(t *testing.T) {
	root := t.TempDir()
	l := lakefixture.OpenAt(t, root)
	var stderr syncBuffer
	cmd := exec.Command(lagoonBin, "run", "--root", root, "--settle", "500ms", "--rescan", "200ms")
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitFor(t, 10*time.Second, func() bool { return strings.Contains(stderr.String(), "lagoon running") })
	p := filepath.Join(root, "prepare/db/slow/feed.ndjson")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	for part := range 3 {
		for i := range 10 {
			fmt.Fprintf(f, "{\"id\":%d}\n", part*10+i)
		}
		time.Sleep(2 * time.Second) // four times the settle time
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, func() bool {
		return !lakefixture.Exists(l, "prepare/db/slow/feed.ndjson") && lakefixture.Exists(l, "stg/db/slow/metadata/version-hint.text")
	})
	waitFor(t, 20*time.Second, func() bool { return len(lakefixture.Rows(t, l, "db.slow")) >= 30 })
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if n := len(lakefixture.Rows(t, l, "db.slow")); n != 30 {
		t.Errorf("rows = %d, want 30", n)
	}
}

// TestClosedFileLoadsWithoutSettle: `lagoon run` with a settle of an hour
// takes a file whose writer closed it at once, through both stages (a
// file under prepare/) and through the loader alone (a Parquet file under
// load/): the close watch, the daemon and both stages share what is known
// whole. The tables' folders exist before the daemon starts: a file
// closed in a folder before its watch is in place settles.
func TestClosedFileLoadsWithoutSettle(t *testing.T) {
	root := t.TempDir()
	l := lakefixture.OpenAt(t, root)
	files := map[string][]byte{
		"prepare/web/closed/c.ndjson": []byte("{\"id\":1}\n{\"id\":2}\n"),
		"load/web/parquet/p.parquet":  lakefixture.ParquetBytes(t, lakefixture.Ints(0, 3)),
	}
	for key := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, filepath.FromSlash(key))), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var stderr syncBuffer
	cmd := exec.Command(lagoonBin, "run", "--root", root, "--settle", "1h", "--rescan", "1h")
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitFor(t, 10*time.Second, func() bool { return strings.Contains(stderr.String(), "lagoon running") })
	for key, body := range files {
		p := filepath.Join(root, filepath.FromSlash(key))
		if err := os.WriteFile(p, body, 0o644); err != nil { // modified now: only its close says it is whole
			t.Fatal(err)
		}
	}
	for name, rows := range map[string]int{"web.closed": 2, "web.parquet": 3} {
		ref, _ := lake.ParseTableRef(name)
		waitFor(t, 10*time.Second, func() bool {
			tbl, err := l.LoadTable(context.Background(), ref)
			return err == nil && tbl.CurrentSnapshot() != nil
		})
		if n := len(lakefixture.Rows(t, l, name)); n != rows {
			t.Errorf("%s: %d rows, want %d", name, n, rows)
		}
	}
	stop(t, cmd, &stderr)
}
