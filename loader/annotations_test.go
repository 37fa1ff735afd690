package loader_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/internal/pqcraft"
	"github.com/lagoon-dev/lagoon/pqcompat"
)

// logical is a LogicalType union member id with fields.
func logical(id int16, fields ...pqcompat.Field) *pqcompat.Value {
	v := pqcompat.Struct(pqcompat.Field{ID: id, Value: pqcompat.Struct(fields...)})
	return &v
}

// TestAnnotatedTypes: each logical or converted type a writer may put on
// a column loads as the nearest faithful Iceberg type, with the values
// DuckDB reads (or, where DuckDB reads other than the specification says,
// the values given).
func TestAnnotatedTypes(t *testing.T) {
	uuid := make([]byte, 16)
	uuid[0] = 1
	wkbPoint := "\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\xf0\x3f\x00\x00\x00\x00\x00\x00\x00\x40"
	interval := []byte{1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0} // 1 month, 2 days, 3 ms
	node := func(typ, converted int, lt *pqcompat.Value) pqcraft.Node {
		return pqcraft.Node{Name: "v", Type: typ, Rep: pqcraft.Optional, Converted: converted, Logical: lt}
	}
	cases := []struct {
		name, typ string
		node      pqcraft.Node
		val       any
		want      string // row 1 as stored, when DuckDB reads the file otherwise
	}{
		// JSON is UTF-8 text by the specification (DuckDB reads the
		// logical type's bytes as a BLOB)
		{"JSON", "string", node(pqcraft.ByteArray, pqcraft.None, logical(12)), `{"a":1}`, `{"id":1,"v":"{\"a\":1}"}`},
		{"JSON converted", "string", node(pqcraft.ByteArray, 19, nil), `{"a":1}`, ""},
		{"ENUM", "string", node(pqcraft.ByteArray, pqcraft.None, logical(4)), "RED", ""},
		{"ENUM converted", "string", node(pqcraft.ByteArray, 4, nil), "RED", ""},
		{"BSON", "binary", node(pqcraft.ByteArray, pqcraft.None, logical(13)), "\x05\x00\x00\x00\x00", ""},
		{"UUID", "uuid", node(pqcraft.FixedLen, pqcraft.None, logical(14)), uuid, ""},
		{"GEOMETRY (WKB)", "binary", node(pqcraft.ByteArray, pqcraft.None, logical(17)), wkbPoint, ""},
		{"GEOGRAPHY (WKB)", "binary", node(pqcraft.ByteArray, pqcraft.None, logical(18)), wkbPoint, ""},
		{"INTERVAL", "struct<3: months: optional int, 4: days: optional int, 5: micros: optional long>", node(pqcraft.FixedLen, 21, nil), interval, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := tc.node
			if n.Type == pqcraft.FixedLen {
				n.Length = len(tc.val.([]byte))
			}
			f := pqcraft.File{NumRows: 2, Schema: []pqcraft.Node{leaf("id", pqcraft.Int32, pqcraft.Required), n},
				Columns: []pqcraft.Column{idColumn(2), {Pages: []pqcraft.Page{{Def: []int{1, 0}, MaxDef: 1, Values: []any{tc.val}}}}}}
			l, path, res := loadCrafted(t, f)
			if res.Files != 1 {
				t.Fatalf("result = %+v", res)
			}
			if got, want := schemaString(t, l), "id:int v:"+tc.typ; got != want {
				t.Errorf("schema = %s, want %s", got, want)
			}
			if tc.want == "" {
				assertSameAsDuckDB(t, l, path)
				return
			}
			got := lakefixture.DuckCanonicalRows(t, "SELECT * EXCLUDE (_etl_loaded_at) FROM "+lakefixture.DuckTable(t, l, "db.t"))
			if want := lakefixture.Canonical(t, tc.want, `{"id":2,"v":null}`); !slices.Equal(got, want) {
				t.Errorf("rows = %s, want %s", strings.Join(got, " "), strings.Join(want, " "))
			}
		})
	}
}

// TestVariantLoadsAsItsBytes: a VARIANT column (Iceberg v3's type; lagoon's
// tables are v2) loads as its metadata and value bytes, exactly as written,
// rather than blocking the table.
func TestVariantLoadsAsItsBytes(t *testing.T) {
	v := group("v", pqcraft.Optional, leaf("metadata", pqcraft.ByteArray, pqcraft.Required), leaf("value", pqcraft.ByteArray, pqcraft.Required))
	v.Logical = logical(16, pqcompat.Field{ID: 1, Value: pqcompat.Value{Type: pqcompat.TypeI8, Int: 1}})
	meta, val := "\x01\x00\x00", "\x0c\x2a" // an empty dictionary; the int8 42
	f := pqcraft.File{NumRows: 2, Schema: []pqcraft.Node{leaf("id", pqcraft.Int32, pqcraft.Required), v},
		Columns: []pqcraft.Column{idColumn(2),
			{Pages: []pqcraft.Page{{Def: []int{1, 0}, MaxDef: 1, Values: strs(meta)}}},
			{Pages: []pqcraft.Page{{Def: []int{1, 0}, MaxDef: 1, Values: strs(val)}}}}}
	l, _, res := loadCrafted(t, f)
	if res.Files != 1 {
		t.Fatalf("result = %+v", res)
	}
	if got, want := schemaString(t, l), "id:int v:struct<3: metadata: optional binary, 4: value: optional binary>"; got != want {
		t.Errorf("schema = %s, want %s", got, want)
	}
	got := lakefixture.DuckCanonicalRows(t, "SELECT * EXCLUDE (_etl_loaded_at) FROM "+lakefixture.DuckTable(t, l, "db.t"))
	if want := lakefixture.Canonical(t, `{"id":1,"v":{"metadata":"\\x01\\x00\\x00","value":"\\x0C*"}}`, `{"id":2,"v":null}`); !slices.Equal(got, want) {
		t.Errorf("rows = %s, want %s", strings.Join(got, " "), strings.Join(want, " "))
	}
}
