package loader_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/loader"
)

// TestLineage: rows appended from a Parquet file dropped into load/ carry
// its key in _etl_source_key, as prepared rows carry their source's; a
// file that has the column already (exported from a lake) keeps its
// values; with lineage off there is no such column.
func TestLineage(t *testing.T) {
	withLineage := func(c *loader.Config) { c.Lineage = true }
	t.Run("added", func(t *testing.T) {
		l := lakefixture.Open(t)
		lakefixture.Drop(t, l, "load/db/t/day=1/a.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(0, 2)))
		lakefixture.Drop(t, l, "load/db/t/day=1/b.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(2, 1)))
		if res := loadAll(t, newLoader(t, l, withLineage)); res.Files != 2 {
			t.Fatalf("result = %+v", res)
		}
		assertLineage(t, l, "load/db/t/day=1/a.parquet", "load/db/t/day=1/a.parquet", "load/db/t/day=1/b.parquet")
		if got, want := schemaString(t, l), "id:long name:string day:string _etl_source_key:string"; got != want {
			t.Errorf("schema = %s, want %s", got, want)
		}
	})
	t.Run("kept", func(t *testing.T) {
		l := lakefixture.Open(t)
		sc := lakefixture.Schema("id", arrow.PrimitiveTypes.Int64, loader.LineageColumn, arrow.BinaryTypes.String)
		lakefixture.Drop(t, l, "load/db/t/x.parquet", lakefixture.Parquet(t, sc, `[{"id":1,"_etl_source_key":"prepare/db/t/old.json"}]`))
		loadAll(t, newLoader(t, l, withLineage))
		assertLineage(t, l, "prepare/db/t/old.json")
	})
	t.Run("off", func(t *testing.T) {
		l := lakefixture.Open(t)
		lakefixture.Drop(t, l, "load/db/t/x.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(0, 1)))
		loadAll(t, newLoader(t, l))
		if got := schemaString(t, l); got != "id:long name:string" {
			t.Errorf("schema = %s, want no lineage column", got)
		}
	})
}

func assertLineage(tb testing.TB, l *lake.Lake, want ...string) {
	tb.Helper()
	var got []string
	for _, r := range lakefixture.Rows(tb, l, "db.t") {
		got = append(got, fmt.Sprint(r[loader.LineageColumn]))
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		tb.Errorf("%s = %q, want %q", loader.LineageColumn, got, want)
	}
}
