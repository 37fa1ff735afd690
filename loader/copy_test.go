package loader_test

import (
	"bytes"
	"context"
	"os"
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
	cases := []struct {
		name   string
		first  []byte // loaded before, when set
		key    string
		body   []byte
		copied bool
		rows   int
	}{
		{name: "a flat feed", key: "load/db/t/a.parquet", body: lakefixture.ParquetBytes(t, lakefixture.Ints(0, 5000)), copied: true, rows: 5000},
		{name: "under a path column", key: "load/db/t/region=eu/a.parquet", body: lakefixture.ParquetBytes(t, lakefixture.Ints(0, 300)), copied: true, rows: 300},
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
			if res := loadAll(t, newLoader(t, l)); res.Files != 1 {
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
				sameChunk(t, tc.body, df, "id")
				checkPruning(t, l, tc.rows)
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
	if res := loadAll(t, newLoader(t, l)); len(res.Rejected) != 1 || res.Files != 0 {
		t.Fatalf("load: %+v; want the file rejected", res)
	}
	if n := len(lakefixture.Rows(t, l, "db.t")); n != 10 {
		t.Fatalf("%d rows, want the first file's 10", n)
	}
	lakefixture.AssertNoOrphans(t, l, lake.TableRef{DB: "db", Table: "t"})
}

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
func checkPruning(tb testing.TB, l *lake.Lake, rows int) {
	tb.Helper()
	tbl := lakefixture.Table(tb, l, "db.t")
	for _, tc := range []struct {
		id    int64
		files int
	}{{0, 1}, {int64(rows - 1), 1}, {int64(rows), 0}, {-1, 0}} {
		tasks, err := tbl.Scan(table.WithRowFilter(iceberg.EqualTo(iceberg.Reference("id"), tc.id))).PlanFiles(context.Background())
		if err != nil {
			tb.Fatal(err)
		}
		if len(tasks) != tc.files {
			tb.Errorf("a scan for id = %d plans %d files, want %d", tc.id, len(tasks), tc.files)
		}
	}
}
