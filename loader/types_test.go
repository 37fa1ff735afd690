package loader_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/float16"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
)

// TestForeignTypes: types Iceberg v2 lacks become the nearest faithful type.
func TestForeignTypes(t *testing.T) {
	cases := []struct {
		name  string
		typ   arrow.DataType
		rows  string
		want  string // Iceberg type
		value string // fmt of the loaded value of the first row
	}{
		{"int8", arrow.PrimitiveTypes.Int8, `[{"v":-5}]`, "int", "-5"},
		{"int16", arrow.PrimitiveTypes.Int16, `[{"v":300}]`, "int", "300"},
		{"uint8", arrow.PrimitiveTypes.Uint8, `[{"v":255}]`, "int", "255"},
		{"uint16", arrow.PrimitiveTypes.Uint16, `[{"v":65535}]`, "int", "65535"},
		{"uint32", arrow.PrimitiveTypes.Uint32, `[{"v":4294967295}]`, "long", "4.294967295e+09"},
		{"uint64", arrow.PrimitiveTypes.Uint64, `[{"v":18446744073709551615}]`, "decimal(20, 0)", "18446744073709551615"},
		{"large_string", arrow.BinaryTypes.LargeString, `[{"v":"hé"}]`, "string", "hé"},
		{"date64 whole days", arrow.FixedWidthTypes.Date64, `[{"v":"2024-02-29"}]`, "date", "2024-02-29"},
		{"time32 ms", arrow.FixedWidthTypes.Time32ms, `[{"v":"12:34:56.789"}]`, "time", "12:34:56.789"},
		{"timestamp s", &arrow.TimestampType{Unit: arrow.Second}, `[{"v":"2024-01-02T03:04:05"}]`, "timestamp", "2024-01-02T03:04:05"},
		{"timestamp ns whole µs", &arrow.TimestampType{Unit: arrow.Nanosecond}, `[{"v":"2024-01-02T03:04:05.123456000"}]`, "timestamp", "2024-01-02T03:04:05.123456"},
		{"timestamp zoned", &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "America/New_York"}, `[{"v":"2024-01-02T03:04:05.5Z"}]`, "timestamptz", "2024-01-02T03:04:05.5Z"},
		{"dictionary", &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}, `[{"v":"red"}]`, "string", "red"},
		{"large list", arrow.LargeListOf(arrow.PrimitiveTypes.Int16), `[{"v":[1,2]}]`, "list<int>", "[1 2]"},
		{"fixed size list", arrow.FixedSizeListOf(2, arrow.PrimitiveTypes.Float32), `[{"v":[1.5,2.5]}]`, "list<float>", "[1.5 2.5]"},
		{"map", arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Uint8), `[{"v":[{"key":"a","value":1}]}]`, "map<string, int>", "[map[key:a value:1]]"},
		{"decimal256 small", &arrow.Decimal256Type{Precision: 10, Scale: 2}, `[{"v":"12.34"}]`, "decimal(10, 2)", "12.34"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := lakefixture.Open(t)
			sc := lakefixture.Schema("id", i64, "v", tc.typ)
			rows := strings.Replace(tc.rows, `{"v"`, `{"id":1,"v"`, 1)
			lakefixture.Drop(t, l, "load/db/t/x.parquet", lakefixture.Parquet(t, sc, rows))
			if res := loadAll(t, newLoader(t, l)); res.Files != 1 {
				t.Fatalf("result = %+v", res)
			}
			if got := schemaString(t, l); got != "id:long v:"+tc.want {
				t.Errorf("schema = %s, want v:%s", got, tc.want)
			}
			got := lakefixture.Rows(t, l, "db.t")
			if v := fmtAny(got[0]["v"]); v != tc.value {
				t.Errorf("value = %s, want %s", v, tc.value)
			}
		})
	}
}

func TestFloat16(t *testing.T) {
	l := lakefixture.Open(t)
	b := array.NewFloat16Builder(memory.DefaultAllocator)
	b.Append(float16.New(1.5))
	b.AppendNull()
	arr := b.NewArray()
	rec := array.NewRecordBatch(lakefixture.Schema("h", arrow.FixedWidthTypes.Float16), []arrow.Array{arr}, 2)
	lakefixture.Drop(t, l, "load/db/t/x.parquet", lakefixture.ParquetBytes(t, rec))
	if res := loadAll(t, newLoader(t, l)); res.Files != 1 {
		t.Fatalf("result = %+v", res)
	}
	if got := schemaString(t, l); got != "h:float" {
		t.Errorf("schema = %s", got)
	}
	assertRows(t, lakefixture.Rows(t, l, "db.t"), []string{"map[h:1.5]", "map[h:<nil>]"})
}

// TestAllNullColumnIsLeftOut: a Null-typed column holds no value, so it is
// not added (no type could be right); the rest of the file loads.
func TestAllNullColumnIsLeftOut(t *testing.T) {
	l := lakefixture.Open(t)
	sc := lakefixture.Schema("id", i64, "nothing", arrow.Null)
	lakefixture.Drop(t, l, "load/db/t/x.parquet", lakefixture.Parquet(t, sc, `[{"id":1,"nothing":null}]`))
	if res := loadAll(t, newLoader(t, l)); res.Files != 1 {
		t.Fatalf("result = %+v", res)
	}
	if got := schemaString(t, l); got != "id:long" {
		t.Errorf("schema = %s", got)
	}
}

// TestUnfaithfulValuesAreRejected: conversions that would alter a value
// reject the file with a clear reason, never load an altered value.
func TestUnfaithfulValuesAreRejected(t *testing.T) {
	cases := []struct {
		name   string
		typ    arrow.DataType
		rows   string
		reason string
	}{
		{"sub-microsecond timestamp", &arrow.TimestampType{Unit: arrow.Nanosecond}, `[{"v":"2024-01-02T03:04:05.123456789"}]`, "cannot read the file's data"},
		{"decimal256 wide", &arrow.Decimal256Type{Precision: 50, Scale: 0}, `[{"v":"1"}]`, "precision 50"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := lakefixture.Open(t)
			body := lakefixture.Parquet(t, lakefixture.Schema("v", tc.typ), tc.rows)
			lakefixture.Drop(t, l, "load/db/t/x.parquet", body)
			res := loadAll(t, newLoader(t, l))
			if res.Files != 0 || len(res.Rejected) != 1 || !strings.Contains(res.Rejected[0].Reason, tc.reason) {
				t.Fatalf("result = %+v, want one rejection naming %q", res, tc.reason)
			}
			assertRejected(t, l, "load/db/t/x.parquet", tc.reason)
		})
	}
}

// TestFieldIDsAreNotTrusted: a foreign file's field ids (here swapped
// against the table's) play no part; columns match by name.
func TestFieldIDsAreNotTrusted(t *testing.T) {
	l := lakefixture.Open(t)
	ld := newLoader(t, l)
	lakefixture.Drop(t, l, "load/db/t/a.parquet", lakefixture.Parquet(t, sch("id", i64, "name", str), `[{"id":1,"name":"a"}]`))
	loadAll(t, ld)
	withIDs := arrow.NewSchema([]arrow.Field{
		{Name: "name", Type: str, Nullable: true, Metadata: arrow.NewMetadata([]string{"PARQUET:field_id"}, []string{"1"})},
		{Name: "id", Type: i64, Nullable: true, Metadata: arrow.NewMetadata([]string{"PARQUET:field_id"}, []string{"2"})},
	}, nil)
	lakefixture.Drop(t, l, "load/db/t/b.parquet", lakefixture.Parquet(t, withIDs, `[{"name":"b","id":2}]`))
	if res := loadAll(t, ld); res.Files != 1 {
		t.Fatalf("result = %+v", res)
	}
	assertRows(t, lakefixture.Rows(t, l, "db.t"), []string{"map[id:1 name:a]", "map[id:2 name:b]"})
}

// assertRejected checks that key moved under log/rejected/ with a reason
// file that names the reason.
func assertRejected(tb testing.TB, l *lake.Lake, key, reason string) {
	tb.Helper()
	if lakefixture.Exists(l, key) {
		tb.Errorf("%s is still in place", key)
	}
	dst := lake.RejectedPrefix + key
	if !lakefixture.Exists(l, dst) {
		tb.Errorf("%s was not moved to %s", key, dst)
	}
	body, err := os.ReadFile(filepath.Join(lakefixture.Root(l), dst+lake.ReasonSuffix))
	if err != nil {
		tb.Fatalf("reason file: %v", err)
	}
	var r lake.Reason
	if err := json.Unmarshal(body, &r); err != nil {
		tb.Fatal(err)
	}
	if r.Key != key || r.Stage != "load" || !strings.Contains(r.Reason, reason) {
		tb.Errorf("reason = %+v, want key %s and %q", r, key, reason)
	}
}
