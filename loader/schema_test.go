package loader_test

import (
	"context"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
)

type drop struct {
	sc   *arrow.Schema
	rows string
}

var (
	i32 = arrow.PrimitiveTypes.Int32
	i64 = arrow.PrimitiveTypes.Int64
	f32 = arrow.PrimitiveTypes.Float32
	f64 = arrow.PrimitiveTypes.Float64
	str = arrow.BinaryTypes.String
	dec = func(p, s int32) arrow.DataType { return &arrow.Decimal128Type{Precision: p, Scale: s} }
	sch = lakefixture.Schema
)

// TestSchemaEvolution drops files one after another (one commit each) and
// checks the table's final schema and rows.
func TestSchemaEvolution(t *testing.T) {
	cases := []struct {
		name     string
		drops    []drop
		schema   string // column:type list, _etl_loaded_at left out
		rows     []string
		rejected int
	}{
		{
			name: "new column added, old rows null",
			drops: []drop{
				{sch("id", i64), `[{"id":1}]`},
				{sch("id", i64, "note", str), `[{"id":2,"note":"x"}]`},
			},
			schema: "id:long note:string",
			rows:   []string{"map[id:1 note:<nil>]", "map[id:2 note:x]"},
		},
		{
			name: "int widens to long",
			drops: []drop{
				{sch("n", i32), `[{"n":1}]`},
				{sch("n", i64), `[{"n":5000000000}]`},
			},
			schema: "n:long",
			rows:   []string{"map[n:1]", "map[n:5e+09]"},
		},
		{
			name: "narrower file into wider column",
			drops: []drop{
				{sch("n", i64, "x", f64), `[{"n":7,"x":1.5}]`},
				{sch("n", i32, "x", f32), `[{"n":8,"x":2.5}]`},
			},
			schema: "n:long x:double",
			rows:   []string{"map[n:7 x:1.5]", "map[n:8 x:2.5]"},
		},
		{
			name: "float widens to double",
			drops: []drop{
				{sch("x", f32), `[{"x":0.5}]`},
				{sch("x", f64), `[{"x":0.25}]`},
			},
			schema: "x:double",
			rows:   []string{"map[x:0.25]", "map[x:0.5]"},
		},
		{
			name: "decimal precision widens",
			drops: []drop{
				{sch("amt", dec(5, 2)), `[{"amt":"123.45"}]`},
				{sch("amt", dec(12, 2)), `[{"amt":"1234567890.12"}]`},
			},
			schema: "amt:decimal(12, 2)",
			rows:   []string{"map[amt:123.45]", "map[amt:1234567890.12]"},
		},
		{
			name: "column order does not matter, missing columns are null",
			drops: []drop{
				{sch("a", i64, "b", str, "c", f64), `[{"a":1,"b":"one","c":1.5}]`},
				{sch("c", f64, "a", i64), `[{"c":2.5,"a":2}]`},
			},
			schema: "a:long b:string c:double",
			rows:   []string{"map[a:1 b:one c:1.5]", "map[a:2 b:<nil> c:2.5]"},
		},
		{
			name: "names match case-insensitively after normalisation",
			drops: []drop{
				{sch("Order ID", i64), `[{"Order ID":1}]`},
				{sch("order_id", i64), `[{"order_id":2}]`},
			},
			schema: "order_id:long",
			rows:   []string{"map[order_id:1]", "map[order_id:2]"},
		},
		{
			name: "incompatible type change rejects the file, table untouched",
			drops: []drop{
				{sch("id", i64, "v", str), `[{"id":1,"v":"a"}]`},
				{sch("id", i64, "v", i64), `[{"id":2,"v":5}]`},
			},
			schema:   "id:long v:string",
			rows:     []string{"map[id:1 v:a]"},
			rejected: 1,
		},
		{
			name: "double into long column is not a legal widening",
			drops: []drop{
				{sch("n", i64), `[{"n":1}]`},
				{sch("n", f64), `[{"n":1.5}]`},
			},
			schema:   "n:long",
			rows:     []string{"map[n:1]"},
			rejected: 1,
		},
		{
			name: "nested struct gains a field",
			drops: []drop{
				{sch("p", arrow.StructOf(arrow.Field{Name: "a", Type: i64, Nullable: true})), `[{"p":{"a":1}}]`},
				{sch("p", arrow.StructOf(arrow.Field{Name: "b", Type: str, Nullable: true}, arrow.Field{Name: "a", Type: i32, Nullable: true})), `[{"p":{"a":2,"b":"x"}}]`},
			},
			schema: "p:struct<2: a: optional long, 4: b: optional string>",
			rows:   []string{"map[p:map[a:1 b:<nil>]]", "map[p:map[a:2 b:x]]"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := lakefixture.Open(t)
			ld := newLoader(t, l)
			rejected := 0
			for i, d := range tc.drops {
				lakefixture.Drop(t, l, "load/db/t/f"+string(rune('0'+i))+".parquet", lakefixture.Parquet(t, d.sc, d.rows))
				rejected += len(loadAll(t, ld).Rejected)
			}
			if rejected != tc.rejected {
				t.Errorf("rejected %d files, want %d", rejected, tc.rejected)
			}
			if got := schemaString(t, l); got != tc.schema {
				t.Errorf("schema = %s\nwant     %s", got, tc.schema)
			}
			assertRows(t, lakefixture.Rows(t, l, "db.t"), tc.rows)
		})
	}
}

// schemaString renders a table's columns as "name:type ...", without
// _etl_loaded_at.
func schemaString(tb testing.TB, l *lake.Lake) string {
	tb.Helper()
	tbl, err := l.LoadTable(context.Background(), lake.TableRef{DB: "db", Table: "t"})
	if err != nil {
		tb.Fatal(err)
	}
	var parts []string
	for _, f := range tbl.Schema().Fields() {
		if f.Name != "_etl_loaded_at" {
			parts = append(parts, f.Name+":"+f.Type.String())
		}
	}
	return strings.Join(parts, " ")
}

// TestBatchOfFilesAddingColumns: files of one batch that each add other
// columns (and one the same) are taken in as one schema change: before,
// a second change in the commit's transaction failed it for good, and the
// table stopped loading.
func TestBatchOfFilesAddingColumns(t *testing.T) {
	l := lakefixture.Open(t)
	lakefixture.Drop(t, l, "load/db/t/first.parquet", lakefixture.Parquet(t, sch("id", i64), `[{"id":1}]`))
	loadAll(t, newLoader(t, l))
	lakefixture.Drop(t, l, "load/db/t/a.parquet", lakefixture.Parquet(t, sch("id", i64, "a", str, "both", i32), `[{"id":2,"a":"x","both":1}]`))
	lakefixture.Drop(t, l, "load/db/t/b.parquet", lakefixture.Parquet(t, sch("id", i64, "b", f64, "both", i32), `[{"id":3,"b":1.5,"both":2}]`))
	if res := loadAll(t, newLoader(t, l)); res.Files != 2 || res.Commits != 1 {
		t.Fatalf("load: %+v; want both files in one commit", res)
	}
	if got := schemaString(t, l); got != "id:long a:string both:int b:double" {
		t.Errorf("schema %s", got)
	}
	if n := len(lakefixture.Rows(t, l, "db.t")); n != 3 {
		t.Errorf("%d rows", n)
	}
}
