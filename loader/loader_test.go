package loader_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/loader"
)

func newLoader(tb testing.TB, l *lake.Lake) *loader.Loader {
	tb.Helper()
	cfg := loader.DefaultConfig()
	cfg.Settle = 0
	return loader.New(l.Store, l.Catalog, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// loadAll scans load/ and loads every table once.
func loadAll(tb testing.TB, ld *loader.Loader) loader.Result {
	tb.Helper()
	ctx := context.Background()
	plan, err := ld.Scan(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	total := loader.Result{Rejected: plan.Rejected}
	for ref, dirs := range plan.Tables {
		r, err := ld.LoadTable(ctx, ref, dirs)
		if err != nil {
			tb.Fatalf("load %s: %v", ref, err)
		}
		total.Files += r.Files
		total.Rows += r.Rows
		total.Rejected = append(total.Rejected, r.Rejected...)
	}
	return total
}

func TestLoadCreatesTable(t *testing.T) {
	l := lakefixture.Open(t)
	lakefixture.Drop(t, l, "load/Sales/orders/a.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(0, 10)))
	lakefixture.Drop(t, l, "load/Sales/orders/b.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(10, 5)))
	res := loadAll(t, newLoader(t, l))
	if res.Files != 2 || res.Rows != 15 || len(res.Rejected) != 0 {
		t.Fatalf("result = %+v", res)
	}
	tbl, err := l.LoadTable(context.Background(), lake.TableRef{DB: "sales", Table: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := lake.ReadTable(context.Background(), tbl, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Release()
	if got.NumRows() != 15 {
		t.Fatalf("rows = %d", got.NumRows())
	}
	t.Log(tbl.Schema(), tbl.Spec())
	_ = array.NewTableReader
}
