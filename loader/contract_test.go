package loader_test

import (
	"context"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/lagoon-dev/lagoon/contract"
	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/loader"
)

var ordersRef = lake.TableRef{DB: "db", Table: "t"}

func putContract(tb testing.TB, l *lake.Lake, yaml string) {
	tb.Helper()
	lakefixture.Drop(tb, l, contract.Key(ordersRef), []byte(yaml))
}

// orders are rows of an invoice-like feed.
func orders(tb testing.TB, rows string) []byte {
	tb.Helper()
	sc := lakefixture.Schema("entity_id", arrow.PrimitiveTypes.Int64, "updated_at", arrow.FixedWidthTypes.Timestamp_us, "amount", arrow.BinaryTypes.String)
	return lakefixture.Parquet(tb, sc, rows)
}

// duckCount counts db.t's rows with DuckDB over its live data files.
func duckCount(tb testing.TB, l *lake.Lake) int {
	tb.Helper()
	res := lakefixture.DuckDB(tb, "SELECT count(*)::INTEGER AS n FROM "+lakefixture.DuckTable(tb, l, "db.t"))
	n, _ := res[0]["n"].(float64)
	return int(n)
}

func specOf(tb testing.TB, l *lake.Lake) string {
	tb.Helper()
	tbl, err := l.LoadTable(context.Background(), ordersRef)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	spec := tbl.Spec()
	for _, f := range spec.Fields() {
		col, _ := tbl.Schema().FindColumnName(f.SourceIDs[0])
		out = append(out, f.Name+"="+f.Transform.String()+"("+col+")")
	}
	return strings.Join(out, " ")
}

// TestContractPartitionsANewTable: a table created under a contract takes
// its partition spec, sort order and hash; its rows land in the contract's
// partitions, read back whole by DuckDB.
func TestContractPartitionsANewTable(t *testing.T) {
	l := lakefixture.Open(t)
	putContract(t, l, "partition:\n  - day(updated_at)\n  - bucket[4](entity_id)\nsort_order: [\"updated_at desc\"]\n")
	lakefixture.Drop(t, l, "load/db/t/a.parquet", orders(t, `[{"entity_id":1,"updated_at":1793527200000000,"amount":"1.5"},
		{"entity_id":2,"updated_at":1793613600000000,"amount":"2.5"}]`))
	if res := loadAll(t, newLoader(t, l)); res.Files != 1 || res.Rows != 2 {
		t.Fatalf("result = %+v", res)
	}
	if got, want := specOf(t, l), "updated_at_day=day(updated_at) entity_id_bucket_4=bucket[4](entity_id)"; got != want {
		t.Errorf("spec = %s, want %s", got, want)
	}
	tbl, err := l.LoadTable(context.Background(), ordersRef)
	if err != nil {
		t.Fatal(err)
	}
	order := tbl.SortOrder()
	if got := order.String(); !strings.Contains(got, "desc") {
		t.Errorf("sort order = %s", got)
	}
	if tbl.Properties()[loader.ContractProperty] == "" {
		t.Errorf("no %s property", loader.ContractProperty)
	}
	if n := duckCount(t, l); n != 2 {
		t.Errorf("DuckDB reads %d rows, want 2", n)
	}
}

// TestContractEvolvesAnExistingTable: a contract put beside a table made
// before it evolves the table's spec at the next load (partition
// evolution: the old files keep theirs), and every row reads back.
func TestContractEvolvesAnExistingTable(t *testing.T) {
	l := lakefixture.Open(t)
	lakefixture.Drop(t, l, "load/db/t/a.parquet", orders(t, `[{"entity_id":1,"updated_at":1793527200000000,"amount":"1"}]`))
	loadAll(t, newLoader(t, l))
	if got := specOf(t, l); got != "_etl_loaded_at_day=day(_etl_loaded_at)" {
		t.Fatalf("spec before = %s", got)
	}
	putContract(t, l, "partition: [month(updated_at)]\n")
	lakefixture.Drop(t, l, "load/db/t/b.parquet", orders(t, `[{"entity_id":2,"updated_at":1796119200000000,"amount":"2"}]`))
	if res := loadAll(t, newLoader(t, l)); res.Files != 1 {
		t.Fatalf("result = %+v", res)
	}
	if got := specOf(t, l); got != "updated_at_month=month(updated_at)" {
		t.Errorf("spec after = %s", got)
	}
	if rows := lakefixture.Rows(t, l, "db.t"); len(rows) != 2 {
		t.Errorf("%d rows, want 2", len(rows))
	}
	if n := duckCount(t, l); n != 2 {
		t.Errorf("DuckDB reads %d rows, want 2", n)
	}
}

// TestBrokenContractStopsItsTableOnly: a contract that does not parse
// stops its table's loading with an error naming the contract; the files
// wait, and another table loads.
func TestBrokenContractStopsItsTableOnly(t *testing.T) {
	l := lakefixture.Open(t)
	putContract(t, l, "mode: append\n")
	lakefixture.Drop(t, l, "load/db/t/a.parquet", orders(t, `[{"entity_id":1,"updated_at":1793527200000000,"amount":"1"}]`))
	lakefixture.Drop(t, l, "load/db/u/a.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(0, 3)))
	ld := newLoader(t, l)
	ctx := context.Background()
	plan, err := ld.Scan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for ref, dirs := range plan.Tables {
		_, err := ld.LoadTable(ctx, ref, dirs)
		switch ref.Table {
		case "t":
			if err == nil || !strings.Contains(err.Error(), contract.Key(ordersRef)) || !strings.Contains(err.Error(), `mode: "append"`) {
				t.Errorf("db.t: err = %v, want the contract's error", err)
			}
		case "u":
			if err != nil {
				t.Errorf("db.u: %v", err)
			}
		}
	}
	if !lakefixture.Exists(l, "load/db/t/a.parquet") {
		t.Error("db.t's file is gone: it must wait for the contract's fix")
	}
	if rows := lakefixture.Rows(t, l, "db.u"); len(rows) != 3 {
		t.Errorf("db.u holds %d rows, want 3", len(rows))
	}
}

// TestContractColumnMissingRejectsTheFirstFile: a contract that partitions
// by a column the table's first file lacks rejects that file with the
// reason, and makes no table.
func TestContractColumnMissingRejectsTheFirstFile(t *testing.T) {
	l := lakefixture.Open(t)
	putContract(t, l, "partition: [day(event_time)]\n")
	lakefixture.Drop(t, l, "load/db/t/a.parquet", orders(t, `[{"entity_id":1,"updated_at":1793527200000000,"amount":"1"}]`))
	res := loadAll(t, newLoader(t, l))
	if len(res.Rejected) != 1 || !strings.Contains(res.Rejected[0].Reason, "the table has no column event_time") {
		t.Fatalf("result = %+v", res)
	}
	assertRejected(t, l, "load/db/t/a.parquet", "does not fit the table's contract")
}

// TestContractModes: freeze rejects a file that would change the table's
// schema (a new column, a wider type) and loads one that fits;
// discard_columns loads a file without its new or conflicting columns;
// discard_rows takes a Parquet file whole or rejects it (prepare discards
// rows).
func TestContractModes(t *testing.T) {
	narrow := lakefixture.Schema("entity_id", arrow.PrimitiveTypes.Int32)
	wide := lakefixture.Schema("entity_id", arrow.PrimitiveTypes.Int64, "extra", arrow.BinaryTypes.String)
	first := func(tb testing.TB, l *lake.Lake) {
		tb.Helper()
		lakefixture.Drop(tb, l, "load/db/t/a.parquet", lakefixture.Parquet(tb, narrow, `[{"entity_id":1}]`))
		loadAll(tb, newLoader(tb, l))
	}
	for mode, reason := range map[string]string{
		"freeze":       "the table's contract freezes its schema (mode freeze)",
		"discard_rows": "a Parquet file in load/ is not split",
	} {
		t.Run(mode, func(t *testing.T) {
			l := lakefixture.Open(t)
			first(t, l)
			putContract(t, l, "mode: "+mode+"\n")
			lakefixture.Drop(t, l, "load/db/t/b.parquet", lakefixture.Parquet(t, wide, `[{"entity_id":2,"extra":"x"}]`))
			lakefixture.Drop(t, l, "load/db/t/c.parquet", lakefixture.Parquet(t, narrow, `[{"entity_id":3}]`))
			res := loadAll(t, newLoader(t, l))
			if res.Files != 1 || len(res.Rejected) != 1 {
				t.Fatalf("result = %+v, want c loaded and b rejected whole", res)
			}
			assertRejected(t, l, "load/db/t/b.parquet", reason)
			if got := schemaString(t, l); got != "entity_id:int" {
				t.Errorf("schema = %s, want it unchanged", got)
			}
		})
	}
	t.Run("discard_columns", func(t *testing.T) {
		l := lakefixture.Open(t)
		first(t, l)
		putContract(t, l, "mode: discard_columns\n")
		lakefixture.Drop(t, l, "load/db/t/b.parquet", lakefixture.Parquet(t, lakefixture.Schema("entity_id", arrow.PrimitiveTypes.Int32, "extra", arrow.BinaryTypes.String), `[{"entity_id":2,"extra":"x"}]`))
		if res := loadAll(t, newLoader(t, l)); res.Files != 1 || res.Rows != 1 {
			t.Fatalf("result = %+v", res)
		}
		if got := schemaString(t, l); got != "entity_id:int" {
			t.Errorf("schema = %s, want the new column left out", got)
		}
		if n := len(lakefixture.Rows(t, l, "db.t")); n != 2 {
			t.Errorf("%d rows, want 2", n)
		}
	})
	t.Run("discard_columns conflict", func(t *testing.T) {
		l := lakefixture.Open(t)
		first(t, l)
		putContract(t, l, "mode: discard_columns\n")
		lakefixture.Drop(t, l, "load/db/t/b.parquet", lakefixture.Parquet(t, lakefixture.Schema("entity_id", arrow.BinaryTypes.String), `[{"entity_id":"x"}]`))
		if res := loadAll(t, newLoader(t, l)); res.Files != 1 || res.Rows != 1 {
			t.Fatalf("result = %+v, want the file loaded without its conflicting column", res)
		}
		rows := lakefixture.Rows(t, l, "db.t")
		if len(rows) != 2 || schemaString(t, l) != "entity_id:int" {
			t.Errorf("rows %v, schema %s", rows, schemaString(t, l))
		}
	})
}

// TestContractColumnTypes: a Parquet file's column takes the contract's
// type when its values convert to it exactly (int to long); a column that
// does not (double to decimal) rejects the file; a contract that widens a
// column of an existing table widens it at the next load.
func TestContractColumnTypes(t *testing.T) {
	ints := lakefixture.Schema("entity_id", arrow.PrimitiveTypes.Int32, "amount", arrow.PrimitiveTypes.Float64)
	t.Run("new table", func(t *testing.T) {
		l := lakefixture.Open(t)
		putContract(t, l, "columns:\n  entity_id: long\n")
		lakefixture.Drop(t, l, "load/db/t/a.parquet", lakefixture.Parquet(t, ints, `[{"entity_id":1,"amount":1.5}]`))
		if res := loadAll(t, newLoader(t, l)); res.Files != 1 {
			t.Fatalf("result = %+v", res)
		}
		if got := schemaString(t, l); got != "entity_id:long amount:double" {
			t.Errorf("schema = %s", got)
		}
	})
	t.Run("inexact", func(t *testing.T) {
		l := lakefixture.Open(t)
		putContract(t, l, "columns:\n  amount: decimal(18,4)\n")
		lakefixture.Drop(t, l, "load/db/t/a.parquet", lakefixture.Parquet(t, ints, `[{"entity_id":1,"amount":1.5}]`))
		res := loadAll(t, newLoader(t, l))
		if len(res.Rejected) != 1 || !strings.Contains(res.Rejected[0].Reason, "amount is double, and the contract's decimal(18, 4) is not a type its values convert to exactly") {
			t.Fatalf("result = %+v", res)
		}
	})
	t.Run("widened later", func(t *testing.T) {
		l := lakefixture.Open(t)
		lakefixture.Drop(t, l, "load/db/t/a.parquet", lakefixture.Parquet(t, ints, `[{"entity_id":1,"amount":1.5}]`))
		loadAll(t, newLoader(t, l))
		putContract(t, l, "columns:\n  entity_id: long\n")
		lakefixture.Drop(t, l, "load/db/t/b.parquet", lakefixture.Parquet(t, ints, `[{"entity_id":2,"amount":2.5}]`))
		if res := loadAll(t, newLoader(t, l)); res.Files != 1 {
			t.Fatalf("result = %+v", res)
		}
		if got := schemaString(t, l); got != "entity_id:long amount:double" {
			t.Errorf("schema = %s", got)
		}
		if n := len(lakefixture.Rows(t, l, "db.t")); n != 2 {
			t.Errorf("%d rows", n)
		}
	})
}

// TestPIIInParquetFromLoad: a Parquet file dropped into load/ has its
// contract's personal-data columns hashed, masked or dropped before its
// rows reach the table (and without a key the table stops).
func TestPIIInParquetFromLoad(t *testing.T) {
	l := lakefixture.Open(t)
	putContract(t, l, "pii:\n  email: hash\n  phone: mask\n  ssn: drop\n")
	sc := lakefixture.Schema("id", arrow.PrimitiveTypes.Int64, "email", arrow.BinaryTypes.String, "phone", arrow.PrimitiveTypes.Int64, "ssn", arrow.BinaryTypes.String)
	lakefixture.Drop(t, l, "load/db/t/a.parquet", lakefixture.Parquet(t, sc, `[{"id":1,"email":"alice@example.com","phone":5551234567,"ssn":"078-05-1120"},{"id":2,"email":null,"phone":null,"ssn":null}]`))
	ld := newLoader(t, l)
	plan, err := ld.Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ld.LoadTable(context.Background(), ordersRef, plan.Tables[ordersRef]); err == nil || !strings.Contains(err.Error(), "no key is set") {
		t.Fatalf("without a key: %v", err)
	}
	key := []byte("0123456789abcdef")
	if res := loadAll(t, newLoader(t, l, func(c *loader.Config) { c.PIIKey = key })); res.Files != 1 {
		t.Fatalf("result = %+v", res)
	}
	if got := schemaString(t, l); got != "id:long email:string phone:string" {
		t.Errorf("schema = %s", got)
	}
	rows := lakefixture.Rows(t, l, "db.t")
	if rows[0]["email"] != contract.Hash.Transform(key, "alice@example.com") || rows[0]["phone"] != "******4567" || rows[1]["email"] != nil {
		t.Errorf("rows = %v", rows)
	}
	res := lakefixture.DuckDB(t, "SELECT count(*)::INTEGER AS n FROM "+lakefixture.DuckTable(t, l, "db.t")+" t WHERE t::VARCHAR LIKE '%alice%' OR t::VARCHAR LIKE '%078-05%' OR t::VARCHAR LIKE '%5551234%'")
	if n, _ := res[0]["n"].(float64); n != 0 {
		t.Errorf("DuckDB finds clear values in %v rows", n)
	}
}
