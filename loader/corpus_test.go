package loader_test

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/loader"
)

// TestParquetCorpus drops each file of testdata/parquet-testing into its
// own table: it must load with DuckDB's rows of the file, compared cell by
// cell by DuckDB over the table's data files (the independent reader),
// and with the expected leading columns. docs/loader.md has the same
// table. Each file loads twice: as the loader's defaults take it (these
// small files are re-encoded), and copied chunk by chunk wherever its
// columns fit (copyAny).
func TestParquetCorpus(t *testing.T) {
	for name, tweak := range map[string]func(*loader.Config){"default": func(*loader.Config) {}, "copied": copyAny} {
		t.Run(name, func(t *testing.T) { parquetCorpus(t, tweak, name == "copied") })
	}
}

func parquetCorpus(t *testing.T, tweak func(*loader.Config), copying bool) {
	cases := []struct {
		file    string
		rows    int
		columns string // first columns of the table, in order
		// like names a file DuckDB reads with the same rows, for one it
		// cannot read (DuckDB has no LZ4 codec: only LZ4_RAW)
		like string
		// copied: with copyAny, its chunks are copied (the rest need a
		// change: INT96, legacy lists, LZ4, unsigned ints, …)
		copied bool
	}{
		{file: "alltypes_dictionary.parquet", rows: 2, columns: "id:int bool_col:boolean tinyint_col:int smallint_col:int int_col:int bigint_col:long float_col:float double_col:double date_string_col:binary string_col:binary timestamp_col:timestamp"},
		{file: "alltypes_plain.parquet", rows: 8, columns: "id:int bool_col:boolean"},
		{file: "datapage_v2.snappy.parquet", rows: 5, columns: "a:string b:int c:double d:boolean e:list<int>"},
		{file: "datapage_v2_empty_datapage.snappy.parquet", rows: 1, columns: "value:float", copied: true},
		{file: "fixed_length_decimal.parquet", rows: 24, columns: "value:decimal(25, 2)", copied: true},
		{file: "hadoop_lz4_compressed.parquet", rows: 4, columns: "c0:long c1:binary v11:double", like: "lz4_raw_compressed.parquet"},
		{file: "list_columns.parquet", rows: 3, columns: "int64_list:list<long> utf8_list:list<string>", copied: true},
		{file: "lz4_raw_compressed.parquet", rows: 4, columns: "c0:long c1:binary v11:double"},
		{file: "nested_structs.rust.parquet", rows: 1, columns: "roll_num:struct<"},
		{file: "non_hadoop_lz4_compressed.parquet", rows: 4, columns: "c0:long c1:binary v11:double", like: "lz4_raw_compressed.parquet"},
		{file: "nullable.impala.parquet", rows: 7, columns: "id:long int_array:list<int>"},
		{file: "nulls.snappy.parquet", rows: 8, columns: "b_struct:struct<", copied: true},
		{file: "int96_from_spark.parquet", rows: 6, columns: "a:timestamp"},
		{file: "repeated_no_annotation.parquet", rows: 6, columns: "id:int phonenumbers:struct<3: phone: optional list<struct<5: number: optional long, 6: kind: optional string>>>"},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("..", "testdata", "parquet-testing", tc.file)
			body, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			l := lakefixture.Open(t)
			lakefixture.Drop(t, l, "load/db/t/"+tc.file, body)
			res := loadAll(t, newLoader(t, l, tweak))
			if res.Files != 1 || res.Rows != int64(tc.rows) {
				t.Fatalf("result = %+v, want %d rows", res, tc.rows)
			}
			if got := schemaString(t, l); !strings.HasPrefix(got, tc.columns) {
				t.Errorf("schema = %s\nwant prefix %s", got, tc.columns)
			}
			if copied := createdBy(t, newestFile(t, l)) == loader.CopiedBy; copied != (copying && tc.copied) {
				t.Errorf("copied = %v", copied)
			}
			rows := lakefixture.Rows(t, l, "db.t")
			if n := len(rows); n != tc.rows {
				t.Errorf("table holds %d rows, want %d", n, tc.rows)
			}
			if tc.file == "int96_from_spark.parquet" {
				assertInt96Values(t, rows)
				return // DuckDB reads year 290000 as a nanosecond timestamp: it wraps
			}
			if tc.like != "" {
				path = filepath.Join("..", "testdata", "parquet-testing", tc.like)
			}
			assertSameAsDuckDB(t, l, path)
		})
	}
}

// assertSameAsDuckDB compares, cell by cell, DuckDB's rows of the Parquet
// file at path with DuckDB's rows of table db.t (its own columns left out).
func assertSameAsDuckDB(tb testing.TB, l *lake.Lake, path string) {
	tb.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		tb.Fatal(err)
	}
	want := lakefixture.DuckCanonicalRows(tb, "SELECT * FROM read_parquet("+lakefixture.DuckQuote(abs)+")")
	got := lakefixture.DuckCanonicalRows(tb, "SELECT * EXCLUDE (_etl_loaded_at) FROM "+lakefixture.DuckTable(tb, l, "db.t"))
	if !slices.Equal(got, want) {
		tb.Errorf("DuckDB reads in the table:\n%s\nand in the file:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// assertInt96Values checks the six values upstream's int96_from_spark.md
// says Spark wrote (its session zone was UTC-8): years 2024, 9999 and
// 290000, the last outside what nanosecond readers can hold.
func assertInt96Values(tb testing.TB, rows []map[string]any) {
	tb.Helper()
	var got []string
	for _, r := range rows {
		got = append(got, fmtAny(r["a"]))
	}
	slices.Sort(got)
	want := []string{
		// printed as microseconds: past year 9999 arrow prints no date
		strconv.FormatInt(time.Date(290000, 12, 30, 23, 0, 0, 0, time.UTC).UnixMicro(), 10),
		"2024-01-01T01:00:00",
		"2024-01-01T20:34:56.123456",
		"2024-12-30T23:00:00",
		"9999-12-31T03:00:00",
		"<nil>",
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		tb.Errorf("values = %q\nwant     %q", got, want)
	}
}
