package lakefixture

import (
	"context"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"

	"github.com/lagoon-dev/lagoon/lake"
)

// PrdTable writes an Iceberg table as a user's pipeline would: under
// prd/<db>/<table>/ of l, through a catalog of its own (not l's), with n
// rows of Ints (id, name).
func PrdTable(tb testing.TB, l *lake.Lake, db, name string, n int) {
	tb.Helper()
	ctx := context.Background()
	other := Open(tb) // the pipeline's own catalog
	sc := iceberg.NewSchema(0, iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64},
		iceberg.NestedField{ID: 2, Name: "name", Type: iceberg.PrimitiveTypes.String})
	if err := lake.EnsureNamespace(ctx, other.Catalog, db); err != nil {
		tb.Fatal(err)
	}
	loc := strings.TrimSuffix(l.Store.URL(lake.PrefixPrd+db+"/"+name+"/"), "/")
	tbl, err := other.Catalog.CreateTable(ctx, table.Identifier{db, name}, sc, catalog.WithLocation(loc))
	if err != nil {
		tb.Fatal(err)
	}
	rec := Ints(0, n)
	defer rec.Release()
	rdr, err := array.NewRecordReader(rec.Schema(), []arrow.RecordBatch{rec})
	if err != nil {
		tb.Fatal(err)
	}
	tx := tbl.NewTransaction()
	if err := tx.Append(ctx, rdr, nil); err != nil {
		tb.Fatal(err)
	}
	if _, err := tx.Commit(ctx); err != nil {
		tb.Fatal(err)
	}
}
