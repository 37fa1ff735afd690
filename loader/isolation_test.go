package loader_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/loader"
)

// panicStore is a real lake store whose object under one key panics when
// read — in its footer (at open) or in its data pages only — as arrow-go
// does on some hostile files.
type panicStore struct {
	lake.Store
	key      string
	dataOnly bool
}

func (s *panicStore) Open(ctx context.Context, key string) (lake.Object, error) {
	obj, err := s.Store.Open(ctx, key)
	if err != nil || key != s.key {
		return obj, err
	}
	return panicObject{Object: obj, dataOnly: s.dataOnly}, nil
}

type panicObject struct {
	lake.Object
	dataOnly bool
}

func (o panicObject) ReadAt(p []byte, off int64) (int, error) {
	if !o.dataOnly || off < o.Size()/2 {
		panic("invalid logical type")
	}
	return o.Object.ReadAt(p, off)
}

// TestPanicRejectsOnlyItsFile: a panic while a Parquet file is opened or
// its rows read (arrow-go, say) rejects that file as "internal error: …";
// the other files of its batch load, once.
func TestPanicRejectsOnlyItsFile(t *testing.T) {
	for _, dataOnly := range []bool{false, true} {
		name := map[bool]string{false: "in the footer", true: "in the data"}[dataOnly]
		t.Run(name, func(t *testing.T) {
			l := lakefixture.Open(t)
			lakefixture.Drop(t, l, "load/db/t/first.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(0, 10)))
			loadAll(t, newLoader(t, l)) // the table exists: the batch below commits through the reader
			lakefixture.Drop(t, l, "load/db/t/a.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(10, 10)))
			lakefixture.Drop(t, l, "load/db/t/bad.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(20, 10)))
			lakefixture.Drop(t, l, "load/db/t/c.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(30, 10)))
			cp := *l
			cp.Store = &panicStore{Store: l.Store, key: "load/db/t/bad.parquet", dataOnly: dataOnly}
			res := loadAll(t, newLoader(t, &cp))
			if res.Files != 2 || len(res.Rejected) != 1 || !strings.HasPrefix(res.Rejected[0].Reason, "internal error: invalid logical type") {
				t.Fatalf("result = %+v", res)
			}
			if n := len(lakefixture.Rows(t, l, "db.t")); n != 30 {
				t.Errorf("table rows = %d, want 30", n)
			}
			assertRejected(t, l, "load/db/t/bad.parquet", "internal error")
		})
	}
}

// TestHostileFootersAreRejected: Parquet files whose footers made arrow-go
// exhaust memory or panic on its own goroutines (see
// ../testdata/hostile-footers/README.md) are rejected with a reason, and a
// good file of the same table loads. Without the footer checks the test
// process dies.
func TestHostileFootersAreRejected(t *testing.T) {
	paths, err := filepath.Glob("../testdata/hostile-footers/*.parquet")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	l := lakefixture.Open(t)
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		lakefixture.Drop(t, l, "load/db/t/"+filepath.Base(p), b)
	}
	lakefixture.Drop(t, l, "load/db/t/good.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(0, 10)))
	res := loadAll(t, newLoader(t, l))
	if res.Files != 1 || len(res.Rejected) != len(paths) {
		t.Fatalf("result = %+v", res)
	}
	for _, rj := range res.Rejected {
		if !strings.Contains(rj.Reason, "not a readable Parquet file") {
			t.Errorf("%s rejected for %q", rj.Key, rj.Reason)
		}
	}
}

// blockStore is a real lake store whose object under one key never answers
// the reads blocks picks until hold is closed.
type blockStore struct {
	lake.Store
	key    string
	hold   chan struct{}
	blocks func(off, size int64) bool
}

// Which reads of a Parquet file a blockStore stalls.
var (
	dataReads   = func(off, size int64) bool { return off < size/2 }
	footerReads = func(off, size int64) bool { return off >= size-8 }
)

func (s *blockStore) Open(ctx context.Context, key string) (lake.Object, error) {
	obj, err := s.Store.Open(ctx, key)
	if err != nil || key != s.key {
		return obj, err
	}
	return blockObject{Object: obj, hold: s.hold, blocks: s.blocks}, nil
}

type blockObject struct {
	lake.Object
	hold   chan struct{}
	blocks func(off, size int64) bool
}

func (o blockObject) ReadAt(p []byte, off int64) (int, error) {
	if o.blocks(off, o.Size()) {
		<-o.hold
	}
	return o.Object.ReadAt(p, off)
}

// stallFixture: a table with 10 rows, then a.parquet, stuck.parquet and
// c.parquet (10 rows each) waiting.
func stallFixture(t *testing.T) *lake.Lake {
	t.Helper()
	l := lakefixture.Open(t)
	lakefixture.Drop(t, l, "load/db/t/first.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(0, 10)))
	loadAll(t, newLoader(t, l))
	lakefixture.Drop(t, l, "load/db/t/a.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(10, 10)))
	lakefixture.Drop(t, l, "load/db/t/stuck.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(20, 10)))
	lakefixture.Drop(t, l, "load/db/t/c.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(30, 10)))
	return l
}

// TestStallRejectsOnlyItsFile: a file whose decoding makes no progress for
// the stall timeout is rejected at once; the others of its batch load,
// once.
func TestStallRejectsOnlyItsFile(t *testing.T) {
	l := stallFixture(t)
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	loader.OnBatch(t, func(key string) {
		if key == "load/db/t/stuck.parquet" {
			<-hold
		}
	})
	res := loadAll(t, newLoader(t, l, func(c *loader.Config) { c.StallTimeout = 200 * time.Millisecond }))
	if res.Files != 2 || len(res.Rejected) != 1 || !strings.Contains(res.Rejected[0].Reason, "no progress for 200ms") {
		t.Fatalf("result = %+v", res)
	}
	if n := len(lakefixture.Rows(t, l, "db.t")); n != 30 {
		t.Errorf("table rows = %d, want 30", n)
	}
	assertRejected(t, l, "load/db/t/stuck.parquet", "no progress")
}

// TestStoreStallIsNotTheFiles: a read the store never answers — of a
// file's footer, when it is opened, or of its pages — fails the batch as
// lake.ErrStoreStalled (transient: retried later); no file is rejected,
// nothing is committed, and the next run loads all three once.
func TestStoreStallIsNotTheFiles(t *testing.T) {
	for name, blocks := range map[string]func(off, size int64) bool{"footer": footerReads, "pages": dataReads} {
		t.Run(name, func(t *testing.T) { storeStall(t, blocks) })
	}
}

func storeStall(t *testing.T, blocks func(off, size int64) bool) {
	l := stallFixture(t)
	hold := make(chan struct{})
	cp := *l
	cp.Store = &blockStore{Store: l.Store, key: "load/db/t/stuck.parquet", hold: hold, blocks: blocks}
	ld := newLoader(t, &cp, func(c *loader.Config) { c.StallTimeout = 200 * time.Millisecond })
	ctx := context.Background()
	plan, err := ld.Scan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for ref, dirs := range plan.Tables {
		res, err := ld.LoadTable(ctx, ref, dirs)
		if !errors.Is(err, lake.ErrStoreStalled) || len(res.Rejected) != 0 {
			t.Fatalf("load %s: %+v, %v; want lake.ErrStoreStalled and nothing rejected", ref, res, err)
		}
	}
	if n := len(lakefixture.Rows(t, l, "db.t")); n != 10 {
		t.Errorf("table rows = %d, want 10", n)
	}
	close(hold)
	if res := loadAll(t, newLoader(t, l)); res.Files != 3 {
		t.Fatalf("second run: %+v", res)
	}
	if n := len(lakefixture.Rows(t, l, "db.t")); n != 40 {
		t.Errorf("table rows = %d, want 40", n)
	}
	if left, _ := filepath.Glob(filepath.Join(lakefixture.Root(l), loader.IntentPrefix, "db.t", "*")); len(left) != 0 {
		t.Errorf("intents left: %v", left)
	}
}
