package lakefixture

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/iceberg-go"

	"github.com/lagoon-dev/lagoon/lake"
)

// DuckApplyingDeletes reads a table's rows with DuckDB over its live data
// files, applying its equality delete files by Iceberg's rule itself: a
// delete row removes the rows of equal keys in the data files of the same
// partition and a lower sequence number. It returns expr (over the data
// rows, alias d) of each row left, sorted. The files and their sequence
// numbers come from the table's manifests; the rows and the rule's
// application are DuckDB's: the independent reader of upserted tables
// (DuckDB's Iceberg extension cannot be installed here).
func DuckApplyingDeletes(tb testing.TB, l *lake.Lake, name string, keys []string, expr string) []string {
	tb.Helper()
	data, dels := liveFiles(tb, l, name)
	sql := "WITH ds(f, seq, part) AS (VALUES " + strings.Join(data, ",") + ")"
	del := "FALSE"
	if len(dels) > 0 {
		var eq []string
		for _, k := range keys {
			eq = append(eq, "e."+k+" IS NOT DISTINCT FROM d."+k)
		}
		sql += ", es(f, seq, part) AS (VALUES " + strings.Join(dels, ",") + ")" +
			", e AS (SELECT " + strings.Join(keys, ", ") + ", filename FROM read_parquet(" + paths(dels) + ", filename=true))"
		del = "EXISTS (SELECT 1 FROM e JOIN es ON e.filename = es.f WHERE " + strings.Join(eq, " AND ") +
			" AND es.seq > ds.seq AND es.part = ds.part)"
	}
	sql += ", d AS (SELECT *, filename FROM read_parquet(" + paths(data) + ", filename=true, union_by_name=true, hive_partitioning=false))" +
		" SELECT " + expr + " AS r FROM d JOIN ds ON d.filename = ds.f WHERE NOT " + del + " ORDER BY r"
	var out []string
	for _, r := range DuckDB(tb, sql) {
		out = append(out, fmt.Sprint(r["r"]))
	}
	return out
}

// liveFiles lists a table's live data and equality delete files as DuckDB
// VALUES rows (path, data sequence number, partition).
func liveFiles(tb testing.TB, l *lake.Lake, name string) (data, dels []string) {
	tb.Helper()
	ctx := context.Background()
	tbl := Table(tb, l, name)
	fs, err := tbl.FS(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	manifests, err := tbl.CurrentSnapshot().Manifests(fs)
	if err != nil {
		tb.Fatal(err)
	}
	for _, m := range manifests {
		entries, err := m.FetchEntries(fs, true)
		if err != nil {
			tb.Fatal(err)
		}
		for _, e := range entries {
			df := e.DataFile()
			row := fmt.Sprintf("(%s, %d, %s)", DuckQuote(strings.TrimPrefix(df.FilePath(), "file://")),
				e.SequenceNum(), DuckQuote(fmt.Sprint(df.Partition())))
			switch df.ContentType() {
			case iceberg.EntryContentEqDeletes:
				dels = append(dels, row)
			case iceberg.EntryContentData:
				data = append(data, row)
			default:
				tb.Fatalf("%s: a position delete file, which this reader does not apply: %s", name, df.FilePath())
			}
		}
	}
	return data, dels
}

// paths is the DuckDB list of the files of VALUES rows.
func paths(rows []string) string {
	var out []string
	for _, r := range rows {
		out = append(out, r[1:strings.Index(r, "',")+1])
	}
	return "[" + strings.Join(out, ",") + "]"
}
