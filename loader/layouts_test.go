package loader_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/compress"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/internal/pqcraft"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/pqcompat"
)

// Shorthands for crafting files.
var (
	leaf  = pqcraft.Leaf
	group = pqcraft.GroupOf
)

func i32s(vs ...int32) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}

func strs(vs ...string) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}

// idColumn is a required int32 column id of 1…n, in one page.
func idColumn(n int) pqcraft.Column {
	ids := make([]int32, n)
	for i := range ids {
		ids[i] = int32(i + 1)
	}
	return pqcraft.Column{Pages: []pqcraft.Page{{Values: i32s(ids...)}}}
}

// TestParquetLayouts loads files in the layouts of the Parquet
// specification's backward-compatibility rules and others that writers
// produced, crafted page by page (internal/pqcraft): each must load with
// the rows DuckDB reads in it, or, where DuckDB cannot read it, the rows
// given.
func TestParquetLayouts(t *testing.T) {
	cases := []struct {
		name    string
		file    pqcraft.File
		columns string   // the table's columns
		want    []string // rows as DuckDB prints them, when DuckDB cannot read the file
	}{
		{
			// parquet-testing's repeated_primitive_no_list.parquet (parquet-rs)
			name: "repeated primitive without LIST",
			file: pqcraft.File{NumRows: 3, Schema: []pqcraft.Node{
				leaf("id", pqcraft.Int32, pqcraft.Required),
				leaf("Int32_list", pqcraft.Int32, pqcraft.Repeated),
				group("group_of_lists", pqcraft.Required,
					leaf("String_list_in_group", pqcraft.ByteArray, pqcraft.Repeated).Annotated(pqcraft.UTF8)),
			}, Columns: []pqcraft.Column{idColumn(3),
				{Pages: []pqcraft.Page{{Rep: []int{0, 1, 0, 0}, Def: []int{1, 1, 0, 1}, MaxRep: 1, MaxDef: 1, Values: i32s(1, 2, 3)}}},
				{Pages: []pqcraft.Page{{Rep: []int{0, 0, 1, 0}, Def: []int{0, 1, 1, 1}, MaxRep: 1, MaxDef: 1, Values: strs("a", "b", "c")}}},
			}},
			columns: "id:int int32_list:list<int> group_of_lists:struct<5: string_list_in_group: optional list<string>>",
		},
		{
			// the two-level list of old parquet-mr and Hive: the repeated
			// field is the element
			name: "two-level list",
			file: pqcraft.File{NumRows: 3, Schema: []pqcraft.Node{
				leaf("id", pqcraft.Int32, pqcraft.Required),
				group("a", pqcraft.Optional, leaf("array", pqcraft.Int32, pqcraft.Repeated)).Annotated(pqcraft.List),
			}, Columns: []pqcraft.Column{idColumn(3),
				{Pages: []pqcraft.Page{{Rep: []int{0, 1, 0, 0}, Def: []int{2, 2, 0, 1}, MaxRep: 1, MaxDef: 2, Values: i32s(7, 8)}}},
			}},
			columns: "id:int a:list<int>",
		},
		{
			// a repeated group of one field named "array" is the element
			// itself (a list of structs), not a list of its field
			name: "two-level list of structs named array",
			file: pqcraft.File{NumRows: 2, Schema: []pqcraft.Node{
				leaf("id", pqcraft.Int32, pqcraft.Required),
				group("a", pqcraft.Optional, group("array", pqcraft.Repeated, leaf("x", pqcraft.Int32, pqcraft.Required))).Annotated(pqcraft.List),
			}, Columns: []pqcraft.Column{idColumn(2),
				{Pages: []pqcraft.Page{{Rep: []int{0, 1, 0}, Def: []int{2, 2, 2}, MaxRep: 1, MaxDef: 2, Values: i32s(1, 2, 3)}}},
			}},
			columns: "id:int a:list<struct<4: x: optional int>>",
			// the specification's rule; DuckDB reads a list of x
			want: []string{`{"a":[{"x":1},{"x":2}],"id":1}`, `{"a":[{"x":3}],"id":2}`},
		},
		{
			// "<name>_tuple" likewise (old Thrift-generated files)
			name: "two-level list of structs named _tuple",
			file: pqcraft.File{NumRows: 2, Schema: []pqcraft.Node{
				leaf("id", pqcraft.Int32, pqcraft.Required),
				group("a", pqcraft.Optional, group("a_tuple", pqcraft.Repeated, leaf("x", pqcraft.Int32, pqcraft.Required))).Annotated(pqcraft.List),
			}, Columns: []pqcraft.Column{idColumn(2),
				{Pages: []pqcraft.Page{{Rep: []int{0, 1, 0}, Def: []int{2, 2, 1}, MaxRep: 1, MaxDef: 2, Values: i32s(1, 2)}}},
			}},
			columns: "id:int a:list<struct<4: x: optional int>>",
			want:    []string{`{"a":[],"id":2}`, `{"a":[{"x":1},{"x":2}],"id":1}`},
		},
		{
			// parquet-testing's old_list_structure.parquet: LIST<LIST<INT32>>
			// in two levels, the inner list the outer one's repeated group
			name: "two-level list of lists",
			file: pqcraft.File{NumRows: 2, Schema: []pqcraft.Node{
				leaf("id", pqcraft.Int32, pqcraft.Required),
				group("a", pqcraft.Optional, group("array", pqcraft.Repeated,
					leaf("array", pqcraft.Int32, pqcraft.Repeated)).Annotated(pqcraft.List)).Annotated(pqcraft.List),
			}, Columns: []pqcraft.Column{idColumn(2),
				{Pages: []pqcraft.Page{{Rep: []int{0, 2, 1, 0}, Def: []int{3, 3, 3, 0}, MaxRep: 2, MaxDef: 3, Values: i32s(1, 2, 3)}}},
			}},
			columns: "id:int a:list<list<int>>",
		},
		{
			// a record that starts on one page and ends on the next: legal
			// in V1 pages, and what parquet-mr wrote before 1.11
			name: "record straddling pages",
			file: pqcraft.File{NumRows: 3, Schema: []pqcraft.Node{
				leaf("id", pqcraft.Int32, pqcraft.Required),
				leaf("tags", pqcraft.Int32, pqcraft.Repeated),
			}, Columns: []pqcraft.Column{idColumn(3), {Pages: []pqcraft.Page{
				{Rep: []int{0, 1, 1}, Def: []int{1, 1, 1}, MaxRep: 1, MaxDef: 1, Values: i32s(10, 11, 12)},
				{Rep: []int{1, 0, 0, 1}, Def: []int{1, 0, 1, 1}, MaxRep: 1, MaxDef: 1, Values: i32s(13, 30, 31)},
			}}}},
			columns: "id:int tags:list<int>",
		},
		{
			// the same in V2 pages, which the specification forbids but
			// arrow-go's writer produced (apache/arrow-go#882)
			name: "record straddling V2 pages",
			file: pqcraft.File{NumRows: 3, Schema: []pqcraft.Node{
				leaf("id", pqcraft.Int32, pqcraft.Required),
				leaf("tags", pqcraft.Int32, pqcraft.Repeated),
			}, Columns: []pqcraft.Column{idColumn(3), {Pages: []pqcraft.Page{
				{V2: true, NumRows: 1, Rep: []int{0, 1, 1}, Def: []int{1, 1, 1}, MaxRep: 1, MaxDef: 1, Values: i32s(10, 11, 12)},
				{V2: true, NumRows: 2, Rep: []int{1, 0, 0, 1}, Def: []int{1, 0, 1, 1}, MaxRep: 1, MaxDef: 1, Values: i32s(13, 30, 31)},
			}}}},
			columns: "id:int tags:list<int>",
		},
		{
			// parquet-testing's map_no_value.parquet (parquet-rs): a MAP
			// without values is the list of its keys
			name: "MAP without values",
			file: pqcraft.File{NumRows: 2, Schema: []pqcraft.Node{
				leaf("id", pqcraft.Int32, pqcraft.Required),
				group("my_map", pqcraft.Required, group("key_value", pqcraft.Repeated,
					leaf("key", pqcraft.Int32, pqcraft.Required))).Annotated(pqcraft.Map),
			}, Columns: []pqcraft.Column{idColumn(2),
				{Pages: []pqcraft.Page{{Rep: []int{0, 1, 0}, Def: []int{1, 1, 1}, MaxRep: 1, MaxDef: 1, Values: i32s(1, 2, 3)}}},
			}},
			columns: "id:int my_map:list<int>",
			// DuckDB: "MAP_KEY_VALUE requires two children"
			want: []string{`{"id":1,"my_map":[1,2]}`, `{"id":2,"my_map":[3]}`},
		},
		{
			// an optional-key MAP inside a list
			name: "MAP with an optional key in a list",
			file: pqcraft.File{NumRows: 1, Schema: []pqcraft.Node{
				leaf("id", pqcraft.Int32, pqcraft.Required),
				group("l", pqcraft.Optional, group("list", pqcraft.Repeated,
					group("element", pqcraft.Optional, group("key_value", pqcraft.Repeated,
						leaf("key", pqcraft.Int32, pqcraft.Optional),
						leaf("value", pqcraft.Int32, pqcraft.Optional))).Annotated(pqcraft.Map))).Annotated(pqcraft.List),
			}, Columns: []pqcraft.Column{idColumn(1),
				{Pages: []pqcraft.Page{{Rep: []int{0, 2, 1}, Def: []int{5, 5, 5}, MaxRep: 2, MaxDef: 5, Values: i32s(1, 2, 3)}}},
				{Pages: []pqcraft.Page{{Rep: []int{0, 2, 1}, Def: []int{5, 4, 5}, MaxRep: 2, MaxDef: 5, Values: i32s(10, 30)}}},
			}},
			columns: "id:int l:list<map<int, int>>",
		},
		{
			// parquet-testing's incorrect_map_schema.parquet (Presto,
			// Trino, Athena): the key optional
			name: "MAP with an optional key",
			file: pqcraft.File{NumRows: 2, Schema: []pqcraft.Node{
				leaf("id", pqcraft.Int32, pqcraft.Required),
				group("my_map", pqcraft.Optional, group("key_value", pqcraft.Repeated,
					leaf("key", pqcraft.ByteArray, pqcraft.Optional).Annotated(pqcraft.UTF8),
					leaf("value", pqcraft.ByteArray, pqcraft.Optional).Annotated(pqcraft.UTF8)).Annotated(pqcraft.MapKeyValue)).Annotated(pqcraft.Map),
			}, Columns: []pqcraft.Column{idColumn(2),
				{Pages: []pqcraft.Page{{Rep: []int{0, 1, 0}, Def: []int{3, 3, 0}, MaxRep: 1, MaxDef: 3, Values: strs("name", "parent")}}},
				{Pages: []pqcraft.Page{{Rep: []int{0, 1, 0}, Def: []int{3, 2, 0}, MaxRep: 1, MaxDef: 3, Values: strs("report")}}},
			}},
			columns: "id:int my_map:map<string, string>",
		},
		{
			// a MAP annotated MAP_KEY_VALUE itself, as some old writers did
			name: "MAP_KEY_VALUE on the map",
			file: pqcraft.File{NumRows: 1, Schema: []pqcraft.Node{
				leaf("id", pqcraft.Int32, pqcraft.Required),
				group("m", pqcraft.Optional, group("map", pqcraft.Repeated,
					leaf("key", pqcraft.ByteArray, pqcraft.Required).Annotated(pqcraft.UTF8),
					leaf("value", pqcraft.Int32, pqcraft.Optional))).Annotated(pqcraft.MapKeyValue),
			}, Columns: []pqcraft.Column{idColumn(1),
				{Pages: []pqcraft.Page{{Rep: []int{0, 1}, Def: []int{2, 2}, MaxRep: 1, MaxDef: 2, Values: strs("a", "b")}}},
				{Pages: []pqcraft.Page{{Rep: []int{0, 1}, Def: []int{3, 2}, MaxRep: 1, MaxDef: 3, Values: i32s(1)}}},
			}},
			columns: "id:int m:map<string, int>",
			// DuckDB: "MAP_KEY_VALUE requires two children"
			want: []string{`{"id":1,"m":[{"key":"a","value":1},{"key":"b","value":null}]}`},
		},
		{
			// parquet-testing's unknown-logical-type.parquet: a logical
			// type from a newer writer is ignored, the physical type read
			name: "unknown logical type",
			file: pqcraft.File{NumRows: 2, Schema: []pqcraft.Node{
				leaf("id", pqcraft.Int32, pqcraft.Required),
				withLogical(leaf("v", pqcraft.ByteArray, pqcraft.Optional), 100),
			}, Columns: []pqcraft.Column{idColumn(2),
				{Pages: []pqcraft.Page{{Def: []int{1, 0}, MaxDef: 1, Values: strs("x")}}},
			}},
			columns: "id:int v:binary",
			want:    []string{`{"id":1,"v":"x"}`, `{"id":2,"v":null}`},
		},
		{
			// parquet-testing's repeated_no_annotation.parquet: the file's
			// row count is 0, its row group's is right
			name: "file row count 0",
			file: pqcraft.File{NumRows: 2, FileRows: ptr(int64(0)), Schema: []pqcraft.Node{
				leaf("id", pqcraft.Int32, pqcraft.Required),
			}, Columns: []pqcraft.Column{idColumn(2)}},
			columns: "id:int",
		},
		{
			// Hadoop's LZ4 framing, a chunk of two blocks
			name: "LZ4 Hadoop framing, two blocks",
			file: pqcraft.File{NumRows: 3, Codec: compress.Codecs.Lz4, Compress: hadoopTwoBlocks, Schema: []pqcraft.Node{
				leaf("id", pqcraft.Int32, pqcraft.Required),
				leaf("s", pqcraft.ByteArray, pqcraft.Optional).Annotated(pqcraft.UTF8),
			}, Columns: []pqcraft.Column{idColumn(3),
				{Pages: []pqcraft.Page{{Def: []int{1, 1, 0}, MaxDef: 1, Values: strs("hello hello hello", "world")}}},
			}},
			columns: "id:int s:string",
			want:    []string{`{"id":1,"s":"hello hello hello"}`, `{"id":2,"s":"world"}`, `{"id":3,"s":null}`},
		},
		{
			// the LZ4 frame format (early parquet-rs)
			name: "LZ4 frame",
			file: pqcraft.File{NumRows: 2, Codec: compress.Codecs.Lz4, Compress: lz4Frame, Schema: []pqcraft.Node{
				leaf("id", pqcraft.Int32, pqcraft.Required),
			}, Columns: []pqcraft.Column{idColumn(2)}},
			columns: "id:int",
			want:    []string{`{"id":1}`, `{"id":2}`},
		},
		{
			// a bare LZ4 block (parquet-cpp before 1.6)
			name: "LZ4 block",
			file: pqcraft.File{NumRows: 2, Codec: compress.Codecs.Lz4, Compress: lz4Block, Schema: []pqcraft.Node{
				leaf("id", pqcraft.Int32, pqcraft.Required),
			}, Columns: []pqcraft.Column{idColumn(2)}},
			columns: "id:int",
			want:    []string{`{"id":1}`, `{"id":2}`},
		},
		{
			// a V2 page of nulls only has no compressed body: 0 bytes are
			// no valid Snappy or Zstd stream (datapage_v2_empty_datapage)
			name: "empty V2 page under Snappy",
			file: pqcraft.File{NumRows: 2, Codec: compress.Codecs.Snappy, Compress: emptyStaysEmpty(compress.Codecs.Snappy), Schema: []pqcraft.Node{
				leaf("id", pqcraft.Int32, pqcraft.Required),
				leaf("f", pqcraft.Float, pqcraft.Optional),
			}, Columns: []pqcraft.Column{idColumn(2),
				{Pages: []pqcraft.Page{{V2: true, NumRows: 2, Def: []int{0, 0}, MaxDef: 1}}},
			}},
			columns: "id:int f:float",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, path, res := loadCrafted(t, tc.file)
			if res.Files != 1 || res.Rows != tc.file.NumRows {
				t.Fatalf("result = %+v, want %d rows", res, tc.file.NumRows)
			}
			if got := schemaString(t, l); got != tc.columns {
				t.Errorf("schema = %s\nwant      %s", got, tc.columns)
			}
			if tc.want == nil {
				assertSameAsDuckDB(t, l, path)
				return
			}
			got := lakefixture.DuckCanonicalRows(t, "SELECT * EXCLUDE (_etl_loaded_at) FROM "+lakefixture.DuckTable(t, l, "db.t"))
			if want := lakefixture.Canonical(t, tc.want...); !slices.Equal(got, want) {
				t.Errorf("rows = %s\nwant   %s", strings.Join(got, " "), strings.Join(want, " "))
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// loadCrafted writes f, keeps a copy at the returned path (for DuckDB),
// drops it into a new lake as load/db/t/x.parquet and loads it.
func loadCrafted(tb testing.TB, f pqcraft.File) (*lake.Lake, string, lake.Result) {
	tb.Helper()
	body, err := pqcraft.Write(f)
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tb.TempDir(), "x.parquet")
	if err := os.WriteFile(path, body, 0o644); err != nil {
		tb.Fatal(err)
	}
	l := lakefixture.Open(tb)
	lakefixture.Drop(tb, l, "load/db/t/x.parquet", body)
	return l, path, loadAll(tb, newLoader(tb, l))
}

// withLogical gives n a LogicalType union member of an id no reader knows.
func withLogical(n pqcraft.Node, id int16) pqcraft.Node {
	lt := pqcompat.Struct(pqcompat.Field{ID: id, Value: pqcompat.Struct()})
	n.Logical = &lt
	return n
}

// TestPageOverArrowGosLimit: a page of 257 MiB uncompressed (a single
// string; Parquet pages hold whole values, and parquet-testing's
// large_string_map holds values of 2^30 bytes) passes arrow-go's fixed
// 256 MiB limit and loads: page limits follow the memory the process may
// use (pqcompat.PageLimit).
func TestPageOverArrowGosLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and loads a 257 MiB value")
	}
	big := strings.Repeat("a", 257<<20)
	f := pqcraft.File{NumRows: 1, Codec: compress.Codecs.Zstd, Schema: []pqcraft.Node{
		leaf("s", pqcraft.ByteArray, pqcraft.Required).Annotated(pqcraft.UTF8),
	}, Columns: []pqcraft.Column{{Pages: []pqcraft.Page{{Values: strs(big)}}}}}
	body, err := pqcraft.Write(f)
	if err != nil {
		t.Fatal(err)
	}
	l := lakefixture.Open(t)
	lakefixture.Drop(t, l, "load/db/t/big.parquet", body)
	if res := loadAll(t, newLoader(t, l)); res.Files != 1 || res.Rows != 1 {
		t.Fatalf("result = %+v", res)
	}
	rows := lakefixture.DuckDB(t, "SELECT length(s)::BIGINT AS n, s = repeat('a', 257*1024*1024) AS same FROM "+lakefixture.DuckTable(t, l, "db.t"))
	if len(rows) != 1 || rows[0]["n"] != fmt.Sprint(257<<20) || rows[0]["same"] != true {
		t.Errorf("DuckDB reads %v", rows)
	}
}
