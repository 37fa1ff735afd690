package stats_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go/table"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/loader"
	"github.com/lagoon-dev/lagoon/stats"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

var orders = lakefixture.Schema("id", arrow.PrimitiveTypes.Int64, "amount", arrow.PrimitiveTypes.Float64,
	"name", arrow.BinaryTypes.String)

func load(tb testing.TB, lk *lake.Lake) {
	tb.Helper()
	ctx := context.Background()
	cfg := loader.DefaultConfig()
	cfg.Settle = 0
	ld := loader.New(lk.Store, lk.Catalog, cfg, quiet())
	plan, err := ld.Scan(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	for ref, dirs := range plan.Tables {
		if _, err := ld.LoadTable(ctx, ref, dirs); err != nil {
			tb.Fatal(err)
		}
	}
}

// scanned is what a scan of the table finds, computed here independently.
type scanned struct {
	rows, amountNulls int64
	minID, maxID      int64
	minName, maxName  string
}

func scan(tb testing.TB, lk *lake.Lake, ref lake.TableRef) (scanned, int) {
	tb.Helper()
	ctx := context.Background()
	tbl, err := lk.LoadTable(ctx, ref)
	if err != nil {
		tb.Fatal(err)
	}
	files, err := lake.DataFiles(ctx, tbl)
	if err != nil {
		tb.Fatal(err)
	}
	at, err := lake.ReadTable(ctx, tbl, -1)
	if err != nil {
		tb.Fatal(err)
	}
	defer at.Release()
	s := scanned{rows: at.NumRows(), minID: 1 << 62, maxID: -1 << 62}
	tr := array.NewTableReader(at, 1024)
	defer tr.Release()
	for tr.Next() {
		rec := tr.RecordBatch()
		idx := func(n string) arrow.Array { return rec.Column(rec.Schema().FieldIndices(n)[0]) }
		ids, amounts, names := idx("id").(*array.Int64), idx("amount"), idx("name").(*array.String)
		for i := range int(rec.NumRows()) {
			s.minID, s.maxID = min(s.minID, ids.Value(i)), max(s.maxID, ids.Value(i))
			if amounts.IsNull(i) {
				s.amountNulls++
			}
			if n := names.Value(i); s.minName == "" || n < s.minName {
				s.minName = n
			}
			if n := names.Value(i); n > s.maxName {
				s.maxName = n
			}
		}
	}
	return s, len(files)
}

func column(tb testing.TB, ts stats.TableStats, name string) stats.ColumnRow {
	tb.Helper()
	i := slices.IndexFunc(ts.Columns, func(c stats.ColumnRow) bool { return c.Column == name })
	if i < 0 {
		tb.Fatalf("no column stats for %s in %+v", name, ts.Columns)
	}
	return ts.Columns[i]
}

func TestStatsEqualAScan(t *testing.T) {
	ctx := context.Background()
	lk := lakefixture.Open(t)
	lakefixture.Drop(t, lk, "load/shop/orders/a.parquet", lakefixture.Parquet(t, orders,
		`[{"id":5,"amount":1.5,"name":"kiwi"},{"id":-3,"amount":null,"name":"apple"}]`))
	lakefixture.Drop(t, lk, "load/shop/users/u.parquet", lakefixture.Parquet(t, orders, `[{"id":1,"amount":2,"name":"x"}]`))
	load(t, lk)
	lakefixture.Drop(t, lk, "load/shop/orders/b.parquet", lakefixture.Parquet(t, orders,
		`[{"id":40,"amount":null,"name":"zucchini"},{"id":7,"amount":9.25,"name":"fig"}]`))
	load(t, lk)

	s := stats.NewSyncer(lk, stats.DefaultConfig(), quiet())
	if n, err := s.Sync(ctx); err != nil || n != 3 {
		t.Fatalf("sync: %d table rows, %v; want 3 (2 snapshots of orders, 1 of users)", n, err)
	}
	if n, err := s.Sync(ctx); err != nil || n != 0 {
		t.Fatalf("second sync: %d rows, %v; want none", n, err)
	}
	all, err := stats.Latest(ctx, lk, "")
	if err != nil || len(all) != 2 {
		t.Fatalf("latest: %+v, %v", all, err)
	}
	got := all[0]
	want, files := scan(t, lk, lake.TableRef{DB: "shop", Table: "orders"})
	if got.Table != "shop.orders" || got.Zone != "stg" || got.RecordCount != want.rows || got.DataFiles != int64(files) ||
		got.RowsAdded != 2 || got.Bytes <= 0 || got.LoadLatencyMS == nil {
		t.Fatalf("table stats %+v; scan found %d rows in %d files", got.TableRow, want.rows, files)
	}
	amount := column(t, got, "amount")
	if amount.NullCount == nil || *amount.NullCount != want.amountNulls {
		t.Errorf("amount null_count = %v, scan %d", amount.NullCount, want.amountNulls)
	}
	id := column(t, got, "id")
	if *id.Min != "-3" || *id.Max != "40" || want.minID != -3 || want.maxID != 40 {
		t.Errorf("id min/max = %s/%s, scan %d/%d", *id.Min, *id.Max, want.minID, want.maxID)
	}
	name := column(t, got, "name")
	if *name.Min != want.minName || *name.Max != want.maxName {
		t.Errorf("name min/max = %s/%s, scan %s/%s", *name.Min, *name.Max, want.minName, want.maxName)
	}

	lakefixture.Drop(t, lk, "load/shop/orders/c.parquet", lakefixture.Parquet(t, orders, `[{"id":100,"amount":1,"name":"b"}]`))
	load(t, lk)
	if n, err := s.Sync(ctx); err != nil || n != 1 {
		t.Fatalf("sync after a load: %d rows, %v; want 1", n, err)
	}
	one, err := stats.Latest(ctx, lk, "shop.orders")
	if err != nil || len(one) != 1 || one[0].RecordCount != 5 || *column(t, one[0], "id").Max != "100" {
		t.Fatalf("latest after the third load: %+v, %v", one, err)
	}

	// The snapshot the statistics stopped at expires (a maintenance job):
	// the next sync adds the new snapshot only, nothing twice.
	tbl, err := lk.LoadTable(ctx, lake.TableRef{DB: "shop", Table: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	lakefixture.Drop(t, lk, "load/shop/orders/d.parquet", lakefixture.Parquet(t, orders, `[{"id":101,"amount":1,"name":"c"}]`))
	load(t, lk)
	if tbl, err = lk.LoadTable(ctx, lake.TableRef{DB: "shop", Table: "orders"}); err != nil {
		t.Fatal(err)
	}
	tx := tbl.NewTransaction()
	if err := tx.ExpireSnapshots(table.WithRetainLast(1), table.WithOlderThan(0)); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Sync(ctx); err != nil || n != 1 {
		t.Fatalf("sync after expiry: %d rows, %v; want the one new snapshot", n, err)
	}
}

// A table a user's pipeline writes under prd/ with its own catalog is
// covered when asked, found by its metadata files.
func TestPrdTablesWhenAsked(t *testing.T) {
	ctx := context.Background()
	lk := lakefixture.Open(t)
	lakefixture.PrdTable(t, lk, "sales", "daily", 7)
	if n, err := stats.NewSyncer(lk, stats.DefaultConfig(), quiet()).Sync(ctx); err != nil || n != 0 {
		t.Fatalf("without prd: %d rows, %v", n, err)
	}
	if n, err := stats.NewSyncer(lk, stats.Config{Prd: true}, quiet()).Sync(ctx); err != nil || n != 1 {
		t.Fatalf("with prd: %d rows, %v", n, err)
	}
	all, err := stats.Latest(ctx, lk, "sales.daily")
	if err != nil || len(all) != 1 || all[0].Zone != "prd" || all[0].RecordCount != 7 || *column(t, all[0], "id").Max != "6" {
		t.Fatalf("prd stats: %+v, %v", all, err)
	}
}

// TestBoundsNeverWrong: a minimum or maximum is a value some row holds,
// or marked a bound (strings past 16 characters, which writers cut), or
// not given — never one no row holds, as when a file without bounds (an
// empty string's) was left out of the reckoning.
func TestBoundsNeverWrong(t *testing.T) {
	ctx := context.Background()
	lk := lakefixture.Open(t)
	lakefixture.Drop(t, lk, "load/shop/orders/a.parquet", lakefixture.Parquet(t, orders,
		`[{"id":1,"amount":1,"name":"second"},{"id":2,"amount":2,"name":"third"}]`))
	load(t, lk)
	lakefixture.Drop(t, lk, "load/shop/orders/b.parquet", lakefixture.Parquet(t, orders,
		`[{"id":3,"amount":3,"name":""},{"id":4,"amount":4,"name":"zebra"}]`))
	load(t, lk)
	long := "a-very-long-name-of-forty-characters-xx"
	lakefixture.Drop(t, lk, "load/shop/users/u.parquet", lakefixture.Parquet(t, orders,
		`[{"id":1,"amount":1,"name":"`+long+`"},{"id":2,"amount":2,"name":"`+long+`z"}]`))
	load(t, lk)
	if _, err := stats.NewSyncer(lk, stats.DefaultConfig(), quiet()).Sync(ctx); err != nil {
		t.Fatal(err)
	}
	all, err := stats.Latest(ctx, lk, "")
	if err != nil || len(all) != 2 {
		t.Fatalf("latest: %v %v", all, err)
	}
	name := column(t, all[0], "name")
	if name.Min != nil && (*name.Min != "" || name.MinExact == nil) {
		t.Errorf("orders name min = %q (exact %v): no row holds it", *name.Min, name.MinExact)
	}
	if name.Max == nil || *name.Max != "zebra" || name.MaxExact == nil || !*name.MaxExact {
		t.Errorf("orders name max = %v (exact %v), want zebra exactly", name.Max, name.MaxExact)
	}
	id := column(t, all[0], "id")
	if id.Min == nil || *id.Min != "1" || id.MinExact == nil || !*id.MinExact {
		t.Errorf("orders id min = %v (exact %v)", id.Min, id.MinExact)
	}
	uname := column(t, all[1], "name")
	t.Logf("orders name %v/%v %v/%v; users name %v/%v %v/%v", deref(name.Min), deref(name.Max), deref(name.MinExact), deref(name.MaxExact),
		deref(uname.Min), deref(uname.Max), deref(uname.MinExact), deref(uname.MaxExact))
	for _, b := range []struct {
		v     *string
		exact *bool
	}{{uname.Min, uname.MinExact}, {uname.Max, uname.MaxExact}} {
		if b.v != nil && *b.v != long && *b.v != long+"z" && (b.exact == nil || *b.exact) {
			t.Errorf("users name bound %q is no value and not marked a bound", *b.v)
		}
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
