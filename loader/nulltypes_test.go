package loader_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/internal/pqcraft"
)

// TestAllNullElementsLoadAsStrings: a list, map or struct whose elements,
// values or fields are all null (the Arrow Null type: pyarrow writes
// {"emptylist": []} so, parquet-testing's null_list.parquet) has no type
// to infer; it loads as the nearest faithful type, strings holding only
// nulls, with the rows DuckDB reads.
func TestAllNullElementsLoadAsStrings(t *testing.T) {
	cases := []struct {
		name, typ string
		dt        arrow.DataType
		rows      string
	}{
		{"list", "list<string>", arrow.ListOf(arrow.Null), `[{"id":1,"v":[]},{"id":2,"v":[null,null]},{"id":3,"v":null}]`},
		{"map values", "map<string, string>", arrow.MapOf(arrow.BinaryTypes.String, arrow.Null), `[{"id":1,"v":[{"key":"a","value":null}]},{"id":2,"v":null}]`},
		{"struct", "struct<3: x: optional string>", arrow.StructOf(arrow.Field{Name: "x", Type: arrow.Null, Nullable: true}), `[{"id":1,"v":{"x":null}},{"id":2,"v":null}]`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := lakefixture.Open(t)
			body := lakefixture.Parquet(t, lakefixture.Schema("id", arrow.PrimitiveTypes.Int64, "v", tc.dt), tc.rows)
			path := filepath.Join(t.TempDir(), "x.parquet")
			if err := os.WriteFile(path, body, 0o644); err != nil {
				t.Fatal(err)
			}
			lakefixture.Drop(t, l, "load/db/t/x.parquet", body)
			if res := loadAll(t, newLoader(t, l)); res.Files != 1 {
				t.Fatalf("result = %+v", res)
			}
			if got, want := schemaString(t, l), "id:long v:"+tc.typ; got != want {
				t.Errorf("schema = %s, want %s", got, want)
			}
			assertSameAsDuckDB(t, l, path)
		})
	}
}

// TestNullMapKeyIsRejected: a MAP with optional keys loads as a map, but
// one whose data holds a null key cannot (Iceberg map keys are required):
// the file is rejected saying so.
func TestNullMapKeyIsRejected(t *testing.T) {
	f := pqcraft.File{NumRows: 1, Schema: []pqcraft.Node{
		leaf("id", pqcraft.Int32, pqcraft.Required),
		group("m", pqcraft.Optional, group("key_value", pqcraft.Repeated,
			leaf("key", pqcraft.Int32, pqcraft.Optional),
			leaf("value", pqcraft.Int32, pqcraft.Optional))).Annotated(pqcraft.Map),
	}, Columns: []pqcraft.Column{idColumn(1),
		{Pages: []pqcraft.Page{{Rep: []int{0, 1}, Def: []int{3, 2}, MaxRep: 1, MaxDef: 3, Values: i32s(1)}}},
		{Pages: []pqcraft.Page{{Rep: []int{0, 1}, Def: []int{3, 3}, MaxRep: 1, MaxDef: 3, Values: i32s(10, 20)}}},
	}}
	l, _, res := loadCrafted(t, f)
	if len(res.Rejected) != 1 || !strings.Contains(res.Rejected[0].Reason, "map key is null") {
		t.Fatalf("result = %+v, want the file rejected for its null key", res)
	}
	assertRejected(t, l, "load/db/t/x.parquet", "Iceberg map keys cannot be null")
}

// TestRowsShortOfTheFootersAreRejected: a file whose pages hold fewer rows
// than its row group declares is rejected, never loaded short (a reader
// that stops early would otherwise lose the rest silently).
func TestRowsShortOfTheFootersAreRejected(t *testing.T) {
	f := pqcraft.File{NumRows: 3, Schema: []pqcraft.Node{leaf("id", pqcraft.Int32, pqcraft.Required)},
		Columns: []pqcraft.Column{idColumn(2)}}
	l, _, res := loadCrafted(t, f)
	if len(res.Rejected) != 1 || res.Files != 0 || !strings.Contains(res.Rejected[0].Reason, "2 of 3") {
		t.Fatalf("result = %+v, want the file rejected for its 2 rows of 3", res)
	}
	assertRejected(t, l, "load/db/t/x.parquet", "rows read differ from the file's row count")
}
