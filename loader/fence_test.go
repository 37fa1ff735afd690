package loader_test

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/loader"
)

// TestFencedCommit: a worker that stalls mid-commit (a GC pause, SIGSTOP,
// its claim taken over) while another worker loads the same files does
// not load them a second time: its commit meets the other's, and the
// retry finds the files in the table already and leaves them out.
func TestFencedCommit(t *testing.T) {
	l := lakefixture.Open(t)
	lakefixture.Drop(t, l, "load/db/t/first.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(0, 10)))
	loadAll(t, newLoader(t, l))
	lakefixture.Drop(t, l, "load/db/t/a.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(10, 10)))
	lakefixture.Drop(t, l, "load/db/t/b.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(20, 10)))

	paused, resume := make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	loader.OnBatch(t, func(string) {
		if first.CompareAndSwap(false, true) {
			close(paused)
			<-resume
		}
	})
	ctx := context.Background()
	a := newLoader(t, l)
	plan, err := a.Scan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	type outcome struct {
		files int
		err   error
	}
	done := make(chan outcome, 1)
	go func() {
		var o outcome
		for ref, dirs := range plan.Tables {
			r, err := a.LoadTable(ctx, ref, dirs)
			o.files, o.err = o.files+r.Files, err
		}
		done <- o
	}()
	<-paused
	if res := loadAll(t, newLoader(t, l)); res.Files != 2 { // the other worker
		t.Fatalf("other worker: %+v", res)
	}
	close(resume)
	o := <-done
	if o.err != nil || o.files != 0 {
		t.Fatalf("paused worker: %d files, %v; want 0 files (both were committed by the other)", o.files, o.err)
	}
	if n := len(lakefixture.Rows(t, l, "db.t")); n != 30 {
		t.Errorf("table rows = %d, want 30 (each once)", n)
	}
}

// TestChangedFileIsLeftOut: a file written again (in place) while its
// batch is read is left out of the commit and waits; the rest commits;
// the next run loads the file as it is now, once.
func TestChangedFileIsLeftOut(t *testing.T) {
	l := lakefixture.Open(t)
	lakefixture.Drop(t, l, "load/db/t/first.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(0, 10)))
	loadAll(t, newLoader(t, l))
	lakefixture.Drop(t, l, "load/db/t/a.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(10, 10)))
	body := lakefixture.ParquetBytes(t, lakefixture.Ints(20, 10))
	lakefixture.Drop(t, l, "load/db/t/b.parquet", body)
	var rewritten atomic.Bool
	loader.OnBatch(t, func(key string) {
		if key == "load/db/t/b.parquet" && rewritten.CompareAndSwap(false, true) {
			if err := os.WriteFile(filepath.Join(lakefixture.Root(l), key), body, 0o644); err != nil {
				t.Error(err)
			}
		}
	})
	if res := loadAll(t, newLoader(t, l)); res.Files != 1 || res.Waiting != 1 {
		t.Fatalf("first run: %+v; want a loaded and b waiting", res)
	}
	if res := loadAll(t, newLoader(t, l)); res.Files != 1 {
		t.Fatalf("second run: %+v; want b", res)
	}
	if n := len(lakefixture.Rows(t, l, "db.t")); n != 30 {
		t.Errorf("table rows = %d, want 30 (each once)", n)
	}
}
