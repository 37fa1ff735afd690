package loader_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/journal"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/loader"
	"github.com/lagoon-dev/lagoon/maintain"
)

// TestFencedCommit: a worker that stalls mid-commit (a GC pause, SIGSTOP,
// its claim taken over) while another worker loads the same files does
// not load them a second time: its commit meets the other's, and the
// retry finds the files in the table already and leaves them out.
// Paused while it reads its files, or with its commit ready; on SQLite
// and on Glue (moto).
func TestFencedCommit(t *testing.T) {
	points := map[string]func(testing.TB, func(string)){
		"reading":    loader.OnBatch,      // while it reads its files
		"committing": loader.BeforeCommit, // with its commit ready
	}
	for point, pauseAt := range points {
		t.Run("sqlite/"+point, func(t *testing.T) { fencedCommit(t, lakefixture.Open(t), pauseAt) })
	}
	moto := lakefixture.Moto(t)
	proxy := lakefixture.NewGlueProxy(t, moto)
	t.Setenv("AWS_ENDPOINT_URL_GLUE", proxy.URL)
	for point, pauseAt := range points {
		t.Run("glue/"+point, func(t *testing.T) {
			lakefixture.Bucket(t, lakefixture.S3Client(t), "fence-"+point)
			l, err := lake.Open(context.Background(), lake.Config{Root: "s3://fence-" + point + "/lake", S3PathStyle: true,
				CatalogPrefix: point + "_"}) // one Glue account, a lake per subtest
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Close() })
			fencedCommit(t, l, pauseAt)
		})
	}
}

func put(tb testing.TB, l *lake.Lake, key string, body []byte) {
	tb.Helper()
	if err := l.Store.Put(context.Background(), key, bytesReader(body)); err != nil {
		tb.Fatal(err)
	}
}

func fencedCommit(t *testing.T, l *lake.Lake, pauseAt func(testing.TB, func(string))) {
	put(t, l, "load/db/t/first.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(0, 10)))
	loadAll(t, newLoader(t, l))
	put(t, l, "load/db/t/a.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(10, 10)))
	put(t, l, "load/db/t/b.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(20, 10)))

	paused, resume := make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	pauseAt(t, func(string) {
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
	select {
	case <-paused:
	case o := <-done:
		t.Fatalf("the worker to pause finished without reaching the point: %d files, %v", o.files, o.err)
	}
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

// TestUnreadableIntentOfACommittedBatch: a batch that committed and
// crashed before finishing, whose intent then cannot be read, neither
// blocks its table nor loads twice: recovery moves the intent aside, and
// the fence finds its file in the table and finishes it (deletes it).
func TestUnreadableIntentOfACommittedBatch(t *testing.T) {
	l := lakefixture.Open(t)
	root := lakefixture.Root(l)
	body := lakefixture.ParquetBytes(t, lakefixture.Ints(0, 10))
	lakefixture.Drop(t, l, "load/db/t/a.parquet", body)
	info, err := os.Stat(filepath.Join(root, "load/db/t/a.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	loadAll(t, newLoader(t, l))
	// The file back as it was committed (same bytes, same mtime), and the
	// batch's intent turned to garbage: a finish that never ran.
	p := filepath.Join(root, "load/db/t/a.parquet")
	if err := os.WriteFile(p, body, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, info.ModTime(), info.ModTime()); err != nil {
		t.Fatal(err)
	}
	tbl, err := l.LoadTable(context.Background(), lake.TableRef{DB: "db", Table: "t"})
	if err != nil {
		t.Fatal(err)
	}
	batch := tbl.CurrentSnapshot().Summary.Properties[loader.BatchProperty]
	intentKey := loader.IntentPrefix + "db.t/" + batch + ".json"
	lakefixture.Drop(t, l, intentKey, []byte("{not json"))

	if res := loadAll(t, newLoader(t, l)); res.Files != 0 || len(res.Rejected) != 0 {
		t.Fatalf("result = %+v", res)
	}
	if n := len(lakefixture.Rows(t, l, "db.t")); n != 10 {
		t.Errorf("table rows = %d, want 10", n)
	}
	if lakefixture.Exists(l, "load/db/t/a.parquet") {
		t.Error("the committed file is still in load/")
	}
	if !lakefixture.Exists(l, journal.CorruptPrefix+intentKey) {
		t.Error("the unreadable intent was not moved aside")
	}
}

// TestPreparedAgainByAnotherBatch: prepare outputs whose sources reached
// the table through another prepare batch's output (a prepare worker
// paused while its claim was taken over converted them too) do not load
// those rows twice. An output all of whose sources are in is skipped as
// a duplicate; one only some of whose sources are in is rejected, with a
// reason, for its other rows are in it alone.
func TestPreparedAgainByAnotherBatch(t *testing.T) {
	l := lakefixture.Open(t)
	s1, s2 := lake.SourceID("prepare/db/t/a.ndjson", "v1"), lake.SourceID("prepare/db/t/b.ndjson", "v1")
	output := func(batch string, from int, origins ...string) []byte {
		return lakefixture.ParquetWithMetadata(t, lakefixture.Ints(from, 5), map[string]string{
			lake.OriginsMetadata: strings.Join(origins, ","), lake.PrepareBatchMetadata: batch})
	}
	lakefixture.Drop(t, l, "load/db/t/first.parquet", output("aaaaaaaa-0000-0000-0000-000000000001", 0, s1))
	loadAll(t, newLoader(t, l))

	lakefixture.Drop(t, l, "load/db/t/again.parquet", output("bbbbbbbb-0000-0000-0000-000000000002", 0, s1))
	lakefixture.Drop(t, l, "load/db/t/partly.parquet", output("cccccccc-0000-0000-0000-000000000003", 10, s1, s2))
	res := loadAll(t, newLoader(t, l))
	if res.Files != 0 || res.Skipped != 1 || len(res.Rejected) != 1 || res.Rejected[0].Key != "load/db/t/partly.parquet" {
		t.Fatalf("result %+v; want again.parquet skipped and partly.parquet rejected", res)
	}
	if n := len(lakefixture.Rows(t, l, "db.t")); n != 5 {
		t.Errorf("table rows = %d, want 5 (the first output's, once)", n)
	}
	for key, want := range map[string]bool{"load/db/t/again.parquet": false, "load/db/t/partly.parquet": false,
		"log/rejected/load/db/t/partly.parquet": true} {
		if lakefixture.Exists(l, key) != want {
			t.Errorf("%s exists: %v, want %v", key, !want, want)
		}
	}
	reason, err := os.ReadFile(filepath.Join(lakefixture.Root(l), "log/rejected/load/db/t/partly.parquet.reason.json"))
	if err != nil || !strings.Contains(string(reason), "another prepare batch") {
		t.Errorf("reason: %s %v", reason, err)
	}
}

// TestSameFileTwiceInOneBatch: two files of one batch with the same
// content load once; the second is skipped as a duplicate and both are
// gone.
func TestSameFileTwiceInOneBatch(t *testing.T) {
	l := lakefixture.Open(t)
	body := lakefixture.ParquetBytes(t, lakefixture.Ints(0, 7))
	lakefixture.Drop(t, l, "load/db/t/a.parquet", body)
	lakefixture.Drop(t, l, "load/db/t/b.parquet", body)
	res := loadAll(t, newLoader(t, l, func(c *loader.Config) {
		c.Dedupe = lake.Dedupe{Store: l.Store, Window: lake.DefaultDedupeWindow, Audit: lake.NoAudit{}}
	}))
	if res.Files != 1 || res.Skipped != 1 {
		t.Fatalf("result %+v; want 1 file loaded, 1 skipped", res)
	}
	if n := len(lakefixture.Rows(t, l, "db.t")); n != 7 {
		t.Errorf("table rows = %d, want 7", n)
	}
	if lakefixture.Exists(l, "load/db/t/a.parquet") || lakefixture.Exists(l, "load/db/t/b.parquet") {
		t.Error("a file is left")
	}
}

// racingCatalog is a real catalog whose first commit of a table, once
// armed, meets a commit that lands just before it: race runs (another
// worker loads), then the commit fails as the catalog's compare-and-swap
// does (table.ErrCommitFailed), committing nothing.
type racingCatalog struct {
	catalog.Catalog
	race  func()
	armed atomic.Bool
}

// LoadTable returns the table bound to c, so that its commits come here.
func (c *racingCatalog) LoadTable(ctx context.Context, ident table.Identifier) (*table.Table, error) {
	tbl, err := c.Catalog.LoadTable(ctx, ident)
	if err != nil {
		return nil, err
	}
	return table.New(tbl.Identifier(), tbl.Metadata(), tbl.MetadataLocation(), tbl.FS, c), nil
}

func (c *racingCatalog) CommitTable(ctx context.Context, ident table.Identifier, reqs []table.Requirement, updates []table.Update) (table.Metadata, string, error) {
	if c.armed.CompareAndSwap(true, false) {
		c.race()
		return nil, "", fmt.Errorf("%w: metadata location moved underneath us (test)", table.ErrCommitFailed)
	}
	return c.Catalog.CommitTable(ctx, ident, reqs, updates)
}

// TestCatalogConflictIsFenced: a commit that loses the catalog's
// compare-and-swap to another worker's commit of the same files is not
// replayed onto the new head as it is (iceberg-go would: the fence would
// not run again and the rows would land twice); the batch tries again,
// finds its files in the table, and commits nothing.
func TestCatalogConflictIsFenced(t *testing.T) {
	l := lakefixture.Open(t)
	put(t, l, "load/db/t/first.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(0, 10)))
	loadAll(t, newLoader(t, l))
	put(t, l, "load/db/t/a.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(10, 10)))
	cat := &racingCatalog{Catalog: l.Catalog}
	cat.race = func() {
		if res := loadAll(t, newLoader(t, l)); res.Files != 1 {
			t.Errorf("other worker: %+v", res)
		}
	}
	cat.armed.Store(true)
	cfg := loader.DefaultConfig()
	cfg.Settle = 0
	a := loader.New(l.Store, cat, cfg, quietLog())
	if res := loadAll(t, a); res.Files != 0 {
		t.Errorf("worker that lost the race: %+v; want no file (the other committed it)", res)
	}
	if n := len(lakefixture.Rows(t, l, "db.t")); n != 20 {
		t.Errorf("table rows = %d, want 20 (each once)", n)
	}
}

// TestAppendBeatenByMaintenanceIsNotRedone: an append whose commit loses
// to a compaction of its table (a replace: no row, no schema changed) is
// committed again onto the compacted table with the files it wrote: the
// batch is not read and written a second time, and every row is once.
func TestAppendBeatenByMaintenanceIsNotRedone(t *testing.T) {
	l := lakefixture.Open(t)
	for i := range 6 {
		put(t, l, fmt.Sprintf("load/db/t/f%d.parquet", i), lakefixture.ParquetBytes(t, lakefixture.Ints(i*10, 10)))
		loadAll(t, newLoader(t, l))
	}
	put(t, l, "load/db/t/a.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(100, 10)))
	var reads atomic.Int64
	loader.OnBatch(t, func(key string) {
		if key == "load/db/t/a.parquet" {
			reads.Add(1)
		}
	})
	cat := &racingCatalog{Catalog: l.Catalog}
	cat.race = func() {
		m := maintain.Maintainer{Store: l.Store, Catalog: l.Catalog, Lake: l.Identity, Config: maintain.DefaultConfig(), Log: quietLog()}
		if rep, err := m.Table(context.Background(), lake.TableRef{DB: "db", Table: "t"}); err != nil || rep.FilesRewritten != 6 {
			t.Errorf("compaction: %+v %v", rep, err)
		}
	}
	cat.armed.Store(true)
	cfg := loader.DefaultConfig()
	cfg.Settle = 0
	if res := loadAll(t, loader.New(l.Store, cat, cfg, quietLog())); res.Files != 1 {
		t.Errorf("load: %+v; want a.parquet loaded", res)
	}
	if n := reads.Load(); n != 1 {
		t.Errorf("a.parquet read %d times; want once (committed again as written)", n)
	}
	if n := len(lakefixture.Rows(t, l, "db.t")); n != 70 {
		t.Errorf("table rows = %d, want 70", n)
	}
	lakefixture.AssertNoOrphans(t, l, lake.TableRef{DB: "db", Table: "t"})
}
