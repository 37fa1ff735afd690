package loader_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/maintain"
	"github.com/lagoon-dev/lagoon/stats"
)

// at is a microsecond timestamp: 2026-11-01 10:00 UTC plus h hours.
func at(h int) int64 { return (1793527200 + int64(h)*3600) * 1_000_000 }

func orderRow(id, h int, amount string) string {
	return fmt.Sprintf(`{"entity_id":%d,"updated_at":%d,"amount":%q}`, id, at(h), amount)
}

func orderRows(rows ...string) string { return "[" + strings.Join(rows, ",") + "]" }

// TestUpsertKeepsTheNewestRowPerKey: under a contract with keys and
// order_by, files that overlap leave one row per key, the newest: a newer
// row replaces the stored one, an older (late) one is kept out, the same
// file again changes nothing, and within a batch the newest row of a key
// wins. lagoon reads the table so, and so does DuckDB applying the
// equality delete files itself (by sequence number and partition).
func TestUpsertKeepsTheNewestRowPerKey(t *testing.T) {
	l := lakefixture.Open(t)
	putContract(t, l, "keys: [entity_id]\norder_by: updated_at\n")
	first := orders(t, orderRows(orderRow(1, 10, "1.00"), orderRow(2, 10, "2.00"), orderRow(3, 10, "3.00")))
	steps := [][]byte{
		first,
		orders(t, orderRows(orderRow(2, 20, "2.20"), orderRow(3, 5, "3.05 late"), orderRow(4, 10, "4.10"), orderRow(4, 11, "4.11"))),
		first, // re-sent under another name
		orders(t, orderRows(orderRow(1, 9, "1.09 late"))),
	}
	for i, body := range steps {
		lakefixture.Drop(t, l, fmt.Sprintf("load/db/t/f%d.parquet", i), body)
		if res := loadAll(t, newLoader(t, l)); res.Files != 1 || len(res.Rejected) != 0 {
			t.Fatalf("step %d: result = %+v", i, res)
		}
	}
	want := []string{"1 1.00", "2 2.20", "3 3.00", "4 4.11"}
	var got []string
	for _, r := range lakefixture.Rows(t, l, "db.t") {
		got = append(got, fmt.Sprintf("%v %v", r["entity_id"], r["amount"]))
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("lagoon reads %q, want %q", got, want)
	}
	if got := duckApplyingDeletes(t, l); !slices.Equal(got, want) {
		t.Errorf("DuckDB (applying the delete files) reads %q, want %q", got, want)
	}
}

// duckApplyingDeletes reads db.t's rows ("entity_id amount") with DuckDB
// applying the delete files (lakefixture.DuckApplyingDeletes).
func duckApplyingDeletes(tb testing.TB, l *lake.Lake) []string {
	tb.Helper()
	return lakefixture.DuckApplyingDeletes(tb, l, "db.t", []string{"entity_id"}, "d.entity_id::VARCHAR || ' ' || d.amount")
}

// TestUpsertWithoutOrderByTakesTheLastArrival: with keys and no order_by,
// each arrival replaces the stored row of its key.
func TestUpsertWithoutOrderByTakesTheLastArrival(t *testing.T) {
	l := lakefixture.Open(t)
	putContract(t, l, "keys: [entity_id, amount]\n") // composite key
	for i, body := range [][]byte{
		orders(t, orderRows(orderRow(1, 10, "a"), orderRow(1, 10, "b"))),
		orders(t, orderRows(orderRow(1, 5, "a"), orderRow(2, 1, "a"))),
	} {
		lakefixture.Drop(t, l, fmt.Sprintf("load/db/t/f%d.parquet", i), body)
		loadAll(t, newLoader(t, l))
	}
	want := []string{"1 a 2026-11-01T15:00:00Z", "1 b 2026-11-01T20:00:00Z", "2 a 2026-11-01T11:00:00Z"}
	var got []string
	for _, r := range lakefixture.Rows(t, l, "db.t") {
		got = append(got, fmt.Sprintf("%v %v %v", r["entity_id"], r["amount"], r["updated_at"]))
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("rows %q, want %q", got, want)
	}
}

// TestUpsertAcrossPartitions: a row whose update moves it to another
// partition (the contract partitions by day(updated_at)) leaves no copy in
// the old one: the delete is written in the stored row's partition.
func TestUpsertAcrossPartitions(t *testing.T) {
	l := lakefixture.Open(t)
	putContract(t, l, "keys: [entity_id]\norder_by: updated_at\npartition: [day(updated_at)]\n")
	for i, body := range [][]byte{
		orders(t, orderRows(orderRow(1, 0, "day 1"), orderRow(2, 0, "day 1"))),
		orders(t, orderRows(orderRow(1, 30, "day 2"))),
	} {
		lakefixture.Drop(t, l, fmt.Sprintf("load/db/t/f%d.parquet", i), body)
		loadAll(t, newLoader(t, l))
	}
	want := []string{"1 day 2", "2 day 1"}
	if got := duckApplyingDeletes(t, l); !slices.Equal(got, want) {
		t.Errorf("DuckDB reads %q, want %q", got, want)
	}
	if n := len(lakefixture.Rows(t, l, "db.t")); n != 2 {
		t.Errorf("lagoon reads %d rows, want 2", n)
	}
}

// TestCompactionAppliesUpsertDeletes: compacting an upserted table (table
// maintenance) keeps exactly the current rows: no replaced row comes back.
func TestCompactionAppliesUpsertDeletes(t *testing.T) {
	l := lakefixture.Open(t)
	putContract(t, l, "keys: [entity_id]\norder_by: updated_at\n")
	for i := range 6 {
		rows := orderRows(orderRow(1, i, fmt.Sprint("v", i)), orderRow(i+2, 0, "x"))
		lakefixture.Drop(t, l, fmt.Sprintf("load/db/t/f%d.parquet", i), orders(t, rows))
		loadAll(t, newLoader(t, l))
	}
	want := []string{"1 v5", "2 x", "3 x", "4 x", "5 x", "6 x", "7 x"}
	if got := duckApplyingDeletes(t, l); !slices.Equal(got, want) {
		t.Fatalf("before compaction DuckDB reads %q, want %q", got, want)
	}
	if rep := compact(t, l); rep.FilesRewritten == 0 {
		t.Fatalf("report %+v: nothing compacted", rep)
	}
	if got := duckApplyingDeletes(t, l); !slices.Equal(got, want) {
		t.Errorf("after compaction DuckDB reads %q, want %q", got, want)
	}
	var got []string
	for _, r := range lakefixture.Rows(t, l, "db.t") {
		got = append(got, fmt.Sprintf("%v %v", r["entity_id"], r["amount"]))
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("after compaction lagoon reads %q, want %q", got, want)
	}
}

// compact runs table maintenance on db.t, compacting from 2 files up.
func compact(tb testing.TB, l *lake.Lake) maintain.Report {
	tb.Helper()
	cfg := maintain.DefaultConfig()
	cfg.MinInputFiles = 2
	m := maintain.Maintainer{Store: l.Store, Catalog: l.Catalog, Lake: l.Identity, Config: cfg, Log: quietLog()}
	rep, err := m.Table(context.Background(), ordersRef)
	if err != nil {
		tb.Fatal(err)
	}
	return rep
}

// TestSummaryCountsCurrentRows: after upserts, and after compacting them,
// the snapshot summary's records less its equality deletes are the rows a
// reader sees (lagoon writes one delete row per row it replaces): what
// tables, stats and show report.
func TestSummaryCountsCurrentRows(t *testing.T) {
	l := lakefixture.Open(t)
	putContract(t, l, "keys: [entity_id]\norder_by: updated_at\n")
	live := func() int64 {
		tbl, err := l.LoadTable(context.Background(), ordersRef)
		if err != nil {
			t.Fatal(err)
		}
		return lake.LiveRecords(tbl.Metadata(), tbl.CurrentSnapshot())
	}
	for i := range 6 {
		rows := orderRows(orderRow(1, i, fmt.Sprint("v", i)), orderRow(i+2, 0, "x"))
		lakefixture.Drop(t, l, fmt.Sprintf("load/db/t/f%d.parquet", i), orders(t, rows))
		loadAll(t, newLoader(t, l))
	}
	if got := live(); got != 7 {
		t.Errorf("before compaction: %d live records, want 7", got)
	}
	compact(t, l)
	if got := live(); got != 7 {
		t.Errorf("after compaction: %d live records, want 7", got)
	}
}

// TestColumnStatsCountCurrentRows: the column statistics of an upserted
// table count the rows readers see (the manifests' counts include the
// rows the deletes removed).
func TestColumnStatsCountCurrentRows(t *testing.T) {
	l := lakefixture.Open(t)
	putContract(t, l, "keys: [entity_id]\norder_by: updated_at\n")
	for i, rows := range []string{
		orderRows(orderRow(1, 0, "a"), orderRow(2, 0, "b")),
		orderRows(orderRow(1, 1, "c"), `{"entity_id":3,"updated_at":1793527200000000,"amount":null}`),
	} {
		lakefixture.Drop(t, l, fmt.Sprintf("load/db/t/f%d.parquet", i), orders(t, rows))
		loadAll(t, newLoader(t, l))
	}
	tbl, err := l.LoadTable(context.Background(), ordersRef)
	if err != nil {
		t.Fatal(err)
	}
	cols, err := stats.Columns(context.Background(), tbl)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range cols {
		if c.ValueCount != nil && c.NullCount != nil {
			got[c.Column] = fmt.Sprintf("%d/%d", *c.ValueCount, *c.NullCount)
		}
	}
	if got["entity_id"] != "3/0" || got["amount"] != "3/1" {
		t.Errorf("values/nulls = %v, want entity_id 3/0 and amount 3/1", got)
	}
}
