package loader_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
)

// TestIndependentReaderSeesSameRows: DuckDB reads the data files that the
// table's current snapshot lists and finds exactly the rows lagoon reports,
// with the Iceberg field ids lagoon wrote, across schema evolution (each
// file holds the columns its source had: a column a file lacks is null).
func TestIndependentReaderSeesSameRows(t *testing.T) {
	l := lakefixture.Open(t)
	ld := newLoader(t, l)
	lakefixture.Drop(t, l, "load/db/t/a.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(0, 3000)))
	loadAll(t, ld)
	lakefixture.Drop(t, l, "load/db/t/b.parquet", lakefixture.Parquet(t, sch("id", i64, "extra", str), `[{"id":5000,"extra":"x"},{"id":5001,"extra":null}]`))
	loadAll(t, ld)

	ctx := context.Background()
	tbl, err := l.LoadTable(ctx, lake.TableRef{DB: "db", Table: "t"})
	if err != nil {
		t.Fatal(err)
	}
	files, err := lake.DataFiles(ctx, tbl)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 {
		t.Fatalf("data files = %v", files)
	}
	quoted := make([]string, len(files))
	for i, f := range files {
		quoted[i] = "'" + strings.TrimPrefix(f, "file://") + "'"
	}
	list := "[" + strings.Join(quoted, ",") + "]"
	rows := lakefixture.DuckDB(t, fmt.Sprintf(
		`SELECT count(*) AS n, sum(id) AS s, count(DISTINCT _etl_loaded_at) AS loads, count(extra) AS extras
		 FROM read_parquet(%s, union_by_name = true)`, list))
	got := fmt.Sprint(rows[0])
	want := fmt.Sprintf("map[extras:1 loads:2 n:3002 s:%d]", 2999*3000/2+5000+5001)
	if got != want {
		t.Errorf("duckdb sees %s, want %s", got, want)
	}
	if n := len(lakefixture.Rows(t, l, "db.t")); n != 3002 {
		t.Errorf("lagoon reads %d rows", n)
	}
	ids := lakefixture.DuckDB(t, fmt.Sprintf(
		`SELECT DISTINCT name, field_id FROM parquet_schema(%s) WHERE field_id IS NOT NULL ORDER BY field_id`, list))
	if got := fmt.Sprint(ids); got != "[map[field_id:1 name:id] map[field_id:2 name:name] map[field_id:3 name:_etl_loaded_at] map[field_id:4 name:extra]]" {
		t.Errorf("field ids in the data file = %s", got)
	}
}
