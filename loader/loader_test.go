package loader_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/loader"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newLoader(tb testing.TB, l *lake.Lake, tweak ...func(*loader.Config)) *loader.Loader {
	tb.Helper()
	cfg := loader.DefaultConfig()
	cfg.Settle = 0
	cfg.Lineage = false // TestLineage has it
	for _, f := range tweak {
		f(&cfg)
	}
	return loader.New(l.Store, l.Catalog, cfg, quietLog())
}

// loadAll scans load/ and loads every table once.
func loadAll(tb testing.TB, ld *loader.Loader) lake.Result {
	tb.Helper()
	ctx := context.Background()
	plan, err := ld.Scan(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	total := lake.Result{Rejected: plan.Rejected, Waiting: plan.Waiting}
	for ref, dirs := range plan.Tables {
		r, err := ld.LoadTable(ctx, ref, dirs)
		if err != nil {
			tb.Fatalf("load %s: %v", ref, err)
		}
		total.Add(r)
	}
	return total
}

func TestLoadCreatesPartitionedTableAndDeletesFiles(t *testing.T) {
	l := lakefixture.Open(t)
	lakefixture.Drop(t, l, "load/Sales/orders/a.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(0, 10)))
	lakefixture.Drop(t, l, "load/Sales/orders/b.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(10, 5)))
	res := loadAll(t, newLoader(t, l))
	if res.Files != 2 || res.Rows != 15 || res.Commits != 1 || len(res.Rejected) != 0 {
		t.Fatalf("result = %+v, want 2 files, 15 rows, 1 commit", res)
	}
	for _, k := range []string{"load/Sales/orders/a.parquet", "load/Sales/orders/b.parquet"} {
		if lakefixture.Exists(l, k) {
			t.Errorf("%s still exists after its commit", k)
		}
	}
	ctx := context.Background()
	tbl, err := l.LoadTable(ctx, lake.TableRef{DB: "sales", Table: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(tbl.Metadata().Snapshots()); n != 1 {
		t.Errorf("snapshots = %d, want 1 (one commit per batch)", n)
	}
	if v := tbl.Metadata().Version(); v != 2 {
		t.Errorf("format version = %d, want 2", v)
	}
	if got := tbl.Location(); got != l.Store.URL("stg/sales/orders") {
		t.Errorf("location = %s", got)
	}
	f, ok := tbl.Schema().FindFieldByName(loader.LoadedAtColumn)
	if !ok || f.Type.String() != "timestamptz" {
		t.Fatalf("_etl_loaded_at = %v, %v", f, ok)
	}
	spec := tbl.Spec()
	if spec.NumFields() != 1 || spec.Field(0).Transform.String() != "day" || spec.Field(0).SourceID() != f.ID {
		t.Errorf("partition spec = %v, want day(_etl_loaded_at)", spec)
	}
	hint, err := os.ReadFile(filepath.Join(lakefixture.Root(l), "stg/sales/orders/metadata/version-hint.text"))
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimSuffix(filepath.Base(tbl.MetadataLocation()), ".metadata.json"); string(hint) != want {
		t.Errorf("version-hint = %q, want %q", hint, want)
	}
	rows := lakefixture.Rows(t, l, "sales.orders")
	if len(rows) != 15 {
		t.Fatalf("rows = %d", len(rows))
	}
}

func TestBatchBounds(t *testing.T) {
	l := lakefixture.Open(t)
	for i := range 5 {
		lakefixture.Drop(t, l, "load/db/t/f"+string(rune('a'+i))+".parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(i*10, 10)))
	}
	res := loadAll(t, newLoader(t, l, func(c *loader.Config) { c.MaxBatchFiles = 2 }))
	if res.Files != 5 || res.Commits != 3 || res.Rows != 50 {
		t.Fatalf("result = %+v, want 5 files in 3 commits", res)
	}
}

func TestTablesAreIndependent(t *testing.T) {
	l := lakefixture.Open(t)
	lakefixture.Drop(t, l, "load/a/one/x.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(0, 3)))
	lakefixture.Drop(t, l, "load/a/two/x.parquet", []byte("not parquet"))
	lakefixture.Drop(t, l, "load/b/one/x.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(0, 4)))
	res := loadAll(t, newLoader(t, l))
	if res.Files != 2 || len(res.Rejected) != 1 {
		t.Fatalf("result = %+v", res)
	}
	if n := len(lakefixture.Rows(t, l, "b.one")); n != 4 {
		t.Errorf("b.one rows = %d", n)
	}
}

func TestPathColumns(t *testing.T) {
	l := lakefixture.Open(t)
	lakefixture.Drop(t, l, "load/db/events/ingest_date=2025-10-23/Region=EU/x.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(0, 2)))
	lakefixture.Drop(t, l, "load/db/events/plain/sub/y.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(2, 1)))
	if res := loadAll(t, newLoader(t, l)); res.Files != 2 {
		t.Fatalf("result = %+v", res)
	}
	rows := lakefixture.Rows(t, l, "db.events")
	want := []string{
		`map[id:0 ingest_date:2025-10-23 name:n0 region:EU]`,
		`map[id:1 ingest_date:2025-10-23 name:n1 region:EU]`,
		`map[id:2 ingest_date:<nil> name:n2 region:<nil>]`,
	}
	assertRows(t, rows, want)
}

func TestIgnoredAndUnsettledFilesWait(t *testing.T) {
	l := lakefixture.Open(t)
	body := lakefixture.ParquetBytes(t, lakefixture.Ints(0, 1))
	for _, k := range []string{"load/db/t/.hidden.parquet", "load/db/t/x.parquet.tmp", "load/db/t/_SUCCESS", "load/db/t/_temporary/0/y.parquet", "load/db/t/z.parquet.part"} {
		lakefixture.Drop(t, l, k, body)
	}
	fresh := filepath.Join(lakefixture.Root(l), "load/db/t/fresh.parquet")
	if err := os.WriteFile(fresh, body, 0o644); err != nil {
		t.Fatal(err)
	}
	res := loadAll(t, newLoader(t, l, func(c *loader.Config) { c.Settle = time.Hour }))
	if res.Files != 0 || len(res.Rejected) != 0 || res.Waiting != 1 {
		t.Fatalf("result = %+v, want nothing loaded and one file waiting", res)
	}
	for _, k := range []string{"load/db/t/.hidden.parquet", "load/db/t/_SUCCESS", "load/db/t/x.parquet.tmp", "load/db/t/fresh.parquet"} {
		if !lakefixture.Exists(l, k) {
			t.Errorf("%s was touched", k)
		}
	}
}

func assertRows(tb testing.TB, rows []map[string]any, want []string) {
	tb.Helper()
	if len(rows) != len(want) {
		tb.Fatalf("got %d rows %v, want %d", len(rows), rows, len(want))
	}
	for i, r := range rows {
		if got := fmtRow(r); got != want[i] {
			tb.Errorf("row %d = %s, want %s", i, got, want[i])
		}
	}
}

func fmtRow(r map[string]any) string { return strings.ReplaceAll(fmtAny(r), "\n", " ") }

var _ = arrow.Null
