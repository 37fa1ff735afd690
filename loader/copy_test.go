package loader_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/loader"
	"github.com/lagoon-dev/lagoon/pqcompat"
)

// TestUsersParquetIsCopied: a user's Parquet file whose columns the table
// holds as they are is written into the table by copying its column
// chunks byte for byte, with the table's field ids, fresh statistics
// (file pruning works on them), its path columns and _etl_loaded_at as
// constants; files that need a type changed are re-encoded, and every
// row reads back right either way.
func TestUsersParquetIsCopied(t *testing.T) {
	ms := &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}
	every := sch("id", i64, "at", &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"},
		"local", &arrow.TimestampType{Unit: arrow.Microsecond}, "d", dec(10, 2), "big", dec(30, 4),
		"day", arrow.FixedWidthTypes.Date32, "t", arrow.FixedWidthTypes.Time64us, "f", f32, "n", i32,
		"ok", arrow.FixedWidthTypes.Boolean, "raw", arrow.BinaryTypes.Binary,
		"tags", arrow.ListOf(i64), "who", arrow.StructOf(arrow.Field{Name: "name", Type: str, Nullable: true}),
		"attrs", arrow.MapOf(str, i32))
	everyRows := `[{"id":1,"at":"2026-01-02T03:04:05.123456Z","local":"2026-01-02T03:04:05.5","d":"12.34","big":"-123456789012345678901234.5678",
		"day":"2026-01-02","t":"12:34:56.789012","f":1.5,"n":-7,"ok":true,"raw":"AAEC","tags":[1,null,3],"who":{"name":"x"},"attrs":[{"key":"a","value":1}]},
		{"id":2,"at":null,"local":null,"d":null,"big":null,"day":null,"t":null,"f":null,"n":null,"ok":null,"raw":null,"tags":[],"who":null,"attrs":null},
		{"id":3,"tags":null,"who":{"name":null},"attrs":[]}]`
	cases := []struct {
		name   string
		first  []byte // loaded before, when set
		key    string
		body   []byte
		copied bool
		rows   int
		lo     int64  // the least id (the rows' are lo, lo+1, …)
		extra  string // columns the table adds to the file's, as DuckDB SQL
	}{
		{name: "a flat feed", key: "load/db/t/a.parquet", body: lakefixture.ParquetBytes(t, lakefixture.Ints(0, 5000)), copied: true, rows: 5000},
		{name: "every type a table holds", key: "load/db/t/a.parquet", body: lakefixture.Parquet(t, every, everyRows), copied: true, rows: 3, lo: 1},
		{name: "under a path column", key: "load/db/t/region=eu/a.parquet", body: lakefixture.ParquetBytes(t, lakefixture.Ints(0, 300)),
			copied: true, rows: 300, extra: ", 'eu' AS region"},
		{name: "milliseconds are re-encoded", key: "load/db/t/a.parquet",
			body: lakefixture.Parquet(t, sch("id", i64, "at", ms), `[{"id":1,"at":"2026-01-02T03:04:05.678Z"},{"id":2,"at":null}]`), rows: 2},
		{name: "a column the table widened is re-encoded", first: lakefixture.Parquet(t, sch("id", i64), `[{"id":1}]`),
			key: "load/db/t/b.parquet", body: lakefixture.Parquet(t, sch("id", i32), `[{"id":2},{"id":3}]`), rows: 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := lakefixture.Open(t)
			if tc.first != nil {
				lakefixture.Drop(t, l, "load/db/t/first.parquet", tc.first)
				loadAll(t, newLoader(t, l))
			}
			lakefixture.Drop(t, l, tc.key, tc.body)
			if res := loadAll(t, newLoader(t, l, copyAny)); res.Files != 1 {
				t.Fatalf("load: %+v", res)
			}
			rows := lakefixture.Rows(t, l, "db.t")
			if len(rows) != tc.rows {
				t.Fatalf("%d rows, want %d", len(rows), tc.rows)
			}
			df := newestFile(t, l)
			if got := createdBy(t, df); (got == loader.CopiedBy) != tc.copied {
				t.Fatalf("data file written by %q; copied = %v wanted", got, tc.copied)
			}
			if tc.copied {
				sameRows(t, l, tc.body, tc.extra)
				sameChunk(t, tc.body, df, "id")
				checkPruning(t, l, tc.lo, tc.lo+int64(tc.rows)-1)
			}
			if strings.Contains(tc.key, "region=eu") && rows[0]["region"] != "eu" {
				t.Errorf("path column: %v", rows[0])
			}
		})
	}
}

// TestCorruptCopyIsRejected: a page that does not decode is found before
// anything is committed; the file is re-encoded, which rejects it, and no
// copy of it is left in the table's folder.
func TestCorruptCopyIsRejected(t *testing.T) {
	l := lakefixture.Open(t)
	lakefixture.Drop(t, l, "load/db/t/first.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(0, 10)))
	loadAll(t, newLoader(t, l))
	body := lakefixture.ParquetBytes(t, lakefixture.Ints(10, 5000))
	_, n, err := pqcompat.DecodeStruct(body[4:], 0)
	if err != nil {
		t.Fatal(err)
	}
	body[4+n+2] ^= 0x10 // inside the first page's zstd frame
	lakefixture.Drop(t, l, "load/db/t/bad.parquet", body)
	if res := loadAll(t, newLoader(t, l, copyAny)); len(res.Rejected) != 1 || res.Files != 0 {
		t.Fatalf("load: %+v; want the file rejected", res)
	}
	if n := len(lakefixture.Rows(t, l, "db.t")); n != 10 {
		t.Fatalf("%d rows, want the first file's 10", n)
	}
	lakefixture.AssertNoOrphans(t, l, lake.TableRef{DB: "db", Table: "t"})
}

// sameRows has DuckDB read the source file and the table: the same rows.
func sameRows(tb testing.TB, l *lake.Lake, body []byte, extra string) {
	tb.Helper()
	src := filepath.Join(tb.TempDir(), "src.parquet")
	if err := os.WriteFile(src, body, 0o644); err != nil {
		tb.Fatal(err)
	}
	want := lakefixture.DuckCanonicalRows(tb, "SELECT *"+extra+" FROM read_parquet("+lakefixture.DuckQuote(src)+")")
	got := lakefixture.DuckCanonicalRows(tb, "SELECT * EXCLUDE (_etl_loaded_at) FROM "+lakefixture.DuckTable(tb, l, "db.t"))
	if strings.Join(want, "\n") != strings.Join(got, "\n") {
		tb.Fatalf("DuckDB reads the table as\n%s\nand the file as\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// copyAny has the loader copy files of row groups of any size.
func copyAny(c *loader.Config) { c.CopyRowGroupBytes = 0 }

// newestFile is the path of the data file the table's last commit added.
func newestFile(tb testing.TB, l *lake.Lake) string {
	tb.Helper()
	tbl := lakefixture.Table(tb, l, "db.t")
	var newest string
	files, err := lake.DataFiles(context.Background(), tbl)
	if err != nil {
		tb.Fatal(err)
	}
	var when int64
	for _, f := range files {
		p := strings.TrimPrefix(f, "file://")
		st, err := os.Stat(p)
		if err != nil {
			tb.Fatal(err)
		}
		if st.ModTime().UnixNano() >= when {
			when, newest = st.ModTime().UnixNano(), p
		}
	}
	return newest
}

func createdBy(tb testing.TB, path string) string {
	tb.Helper()
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		tb.Fatal(err)
	}
	defer pf.Close()
	return pf.MetaData().GetCreatedBy()
}

// sameChunk checks that column col's chunks are byte for byte the
// source's.
func sameChunk(tb testing.TB, src []byte, path, col string) {
	tb.Helper()
	dst, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	a, b := chunkBytes(tb, src, col), chunkBytes(tb, dst, col)
	if len(a) == 0 || !bytes.Equal(a, b) {
		tb.Fatalf("column %s: %d bytes of chunks, source %d: not copied byte for byte", col, len(b), len(a))
	}
}

func chunkBytes(tb testing.TB, b []byte, col string) []byte {
	tb.Helper()
	pf, err := file.NewParquetReader(bytes.NewReader(b))
	if err != nil {
		tb.Fatal(err)
	}
	idx := pf.MetaData().Schema.ColumnIndexByName(col)
	var out []byte
	for g := range pf.NumRowGroups() {
		cc, err := pf.MetaData().RowGroup(g).ColumnChunk(idx)
		if err != nil {
			tb.Fatal(err)
		}
		from := cc.DataPageOffset()
		if cc.HasDictionaryPage() && cc.DictionaryPageOffset() > 0 {
			from = cc.DictionaryPageOffset()
		}
		out = append(out, b[from:from+cc.TotalCompressedSize()]...)
	}
	return out
}

// checkPruning plans scans by id: one inside the rows' range finds the
// file, one past it none — the statistics a copy wrote are the values'.
func checkPruning(tb testing.TB, l *lake.Lake, lo, hi int64) {
	tb.Helper()
	tbl := lakefixture.Table(tb, l, "db.t")
	for _, tc := range []struct {
		id    int64
		files int
	}{{lo, 1}, {hi, 1}, {hi + 1, 0}, {lo - 1, 0}} {
		tasks, err := tbl.Scan(table.WithRowFilter(iceberg.EqualTo(iceberg.Reference("id"), tc.id))).PlanFiles(context.Background())
		if err != nil {
			tb.Fatal(err)
		}
		if len(tasks) != tc.files {
			tb.Errorf("a scan for id = %d plans %d files, want %d", tc.id, len(tasks), tc.files)
		}
	}
}

// TestCopiesOfABatchAreMerged: the files of one batch whose columns are
// the same are copied into one data file, each file's rows keeping its
// own constants (lineage here); a file of other columns gets its own.
func TestCopiesOfABatchAreMerged(t *testing.T) {
	l := lakefixture.Open(t)
	lakefixture.Drop(t, l, "load/db/t/first.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(0, 10)))
	loadAll(t, newLoader(t, l, copyAny))
	before := len(dataFiles(t, l))
	for i, key := range []string{"a", "b", "c"} {
		lakefixture.Drop(t, l, "load/db/t/"+key+".parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(100*(i+1), 50)))
	}
	lakefixture.Drop(t, l, "load/db/t/d.parquet", lakefixture.Parquet(t, sch("id", i64, "extra", str), `[{"id":1000,"extra":"x"}]`))
	lineage := func(c *loader.Config) { c.CopyRowGroupBytes, c.Lineage = 0, true }
	if res := loadAll(t, newLoader(t, l, lineage)); res.Files != 4 {
		t.Fatalf("load: %+v", res)
	}
	files := dataFiles(t, l)
	if n := len(files) - before; n != 2 {
		t.Fatalf("%d data files added, want 2 (a, b, c merged; d alone)", n)
	}
	for _, f := range files[before:] {
		if got := createdBy(t, strings.TrimPrefix(f, "file://")); got != loader.CopiedBy {
			t.Fatalf("%s written by %q, not copied", f, got)
		}
	}
	got := lakefixture.DuckCanonicalRows(t, "SELECT _etl_source_key AS k, count(*)::INTEGER AS n, min(id) AS lo FROM "+
		lakefixture.DuckTable(t, l, "db.t")+" WHERE _etl_source_key IS NOT NULL GROUP BY 1")
	want := lakefixture.Canonical(t, `{"k":"load/db/t/a.parquet","n":50,"lo":"100"}`, `{"k":"load/db/t/b.parquet","n":50,"lo":"200"}`,
		`{"k":"load/db/t/c.parquet","n":50,"lo":"300"}`, `{"k":"load/db/t/d.parquet","n":1,"lo":"1000"}`)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("rows per source file:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestSmallRowGroupsAreReencoded: by default a file of small row groups
// is re-encoded, its rows merged into larger ones, not copied.
func TestSmallRowGroupsAreReencoded(t *testing.T) {
	l := lakefixture.Open(t)
	lakefixture.Drop(t, l, "load/db/t/a.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(0, 1000)))
	loadAll(t, newLoader(t, l))
	if got := createdBy(t, newestFile(t, l)); got == loader.CopiedBy {
		t.Fatalf("a file of one 10 kB row group was copied")
	}
}

// dataFiles lists the table's live data files, in the order added.
func dataFiles(tb testing.TB, l *lake.Lake) []string {
	tb.Helper()
	files, err := lake.DataFiles(context.Background(), lakefixture.Table(tb, l, "db.t"))
	if err != nil {
		tb.Fatal(err)
	}
	return files
}

// TestCopyOnS3: on a bucket (moto's S3, Glue's catalog) a file of large
// row groups is copied too, each chunk streamed in one ranged GET, and
// reads back whole.
func TestCopyOnS3(t *testing.T) {
	moto := lakefixture.Moto(t)
	proxy := lakefixture.NewGlueProxy(t, moto)
	t.Setenv("AWS_ENDPOINT_URL_GLUE", proxy.URL)
	lakefixture.Bucket(t, lakefixture.S3Client(t), "copy")
	l, err := lake.Open(context.Background(), lake.Config{Root: "s3://copy/lake", S3PathStyle: true, CatalogPrefix: "copy_"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	put(t, l, "load/db/t/a.parquet", lakefixture.ParquetBytes(t, lakefixture.Blobs(0, 30000)))
	if res := loadAll(t, newLoader(t, l)); res.Files != 1 {
		t.Fatalf("load: %+v", res)
	}
	rows := lakefixture.Rows(t, l, "db.t")
	seen := map[any]bool{}
	for _, r := range rows {
		seen[r["id"]] = true
	}
	if len(rows) != 30000 || len(seen) != 30000 {
		t.Fatalf("%d rows, %d ids; want 30,000 of each", len(rows), len(seen))
	}
	files := dataFiles(t, l)
	if len(files) != 1 || !strings.Contains(files[0], "/data/") || strings.Contains(files[0], "_etl_loaded_at_day=") {
		t.Fatalf("data files %v: want one copy in data/", files)
	}
}
