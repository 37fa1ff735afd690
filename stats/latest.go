package stats

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go/table"

	"github.com/lagoon-dev/lagoon/lake"
)

// TableStats is the latest statistics of one table.
type TableStats struct {
	TableRow
	Columns []ColumnRow `json:"columns"`
}

// Latest reads the statistics tables and returns, per table, the row of
// its newest snapshot with that snapshot's column statistics, ordered by
// zone and name. only ("db.table") keeps one table. A lake whose
// statistics were never synced has none.
func Latest(ctx context.Context, lk *lake.Lake, only string) ([]TableStats, error) {
	rows, err := readSide(ctx, lk, TablesDef, tableRows)
	if err != nil {
		return nil, err
	}
	newest := map[[2]string]TableRow{}
	for _, r := range rows {
		k := [2]string{r.Zone, r.Table}
		if only != "" && r.Table != only {
			continue
		}
		cur, ok := newest[k]
		child := ok && r.ParentID != nil && *r.ParentID == cur.SnapshotID // same millisecond
		if !ok || r.CommittedAt.After(cur.CommittedAt) || child {
			newest[k] = r
		}
	}
	cols, err := readSide(ctx, lk, ColumnsDef, columnRowsOf)
	if err != nil {
		return nil, err
	}
	out := make([]TableStats, 0, len(newest))
	for _, r := range newest {
		ts := TableStats{TableRow: r, Columns: []ColumnRow{}}
		for _, c := range cols {
			if c.table == r.Table && c.zone == r.Zone && c.snapshot == r.SnapshotID {
				ts.Columns = append(ts.Columns, c.ColumnRow)
			}
		}
		slices.SortFunc(ts.Columns, func(a, b ColumnRow) int { return cmp.Compare(a.FieldID, b.FieldID) })
		out = append(out, ts)
	}
	slices.SortFunc(out, func(a, b TableStats) int {
		return cmp.Or(cmp.Compare(a.Zone, b.Zone), cmp.Compare(a.Table, b.Table))
	})
	return out, nil
}

// readSide reads a whole side table through decode; a missing table
// reads as empty.
func readSide[T any](ctx context.Context, lk *lake.Lake, d lake.SideTable, decode func(arrow.RecordBatch) []T) ([]T, error) {
	tbl, err := lk.LoadTable(ctx, d.Ref())
	if lake.IsNoSuchTable(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return scan(ctx, tbl, decode)
}

func scan[T any](ctx context.Context, tbl *table.Table, decode func(arrow.RecordBatch) []T) ([]T, error) {
	data, err := tbl.Scan().ToArrowTable(ctx)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", tbl.Identifier(), err)
	}
	defer data.Release()
	tr := array.NewTableReader(data, 4096)
	defer tr.Release()
	var out []T
	for tr.Next() {
		out = append(out, decode(tr.RecordBatch())...)
	}
	return out, nil
}

// cols reads columns of a record by name.
type cols struct{ rec arrow.RecordBatch }

func (c cols) get(name string) arrow.Array { return c.rec.Column(c.rec.Schema().FieldIndices(name)[0]) }

func (c cols) str(name string, i int) string {
	a := c.get(name).(*array.String)
	if a.IsNull(i) {
		return ""
	}
	return a.Value(i)
}

func (c cols) optStr(name string, i int) *string {
	if a := c.get(name); a.IsNull(i) {
		return nil
	}
	s := c.str(name, i)
	return &s
}

func (c cols) i64(name string, i int) int64 { return c.get(name).(*array.Int64).Value(i) }

func (c cols) optI64(name string, i int) *int64 {
	if a := c.get(name); a.IsNull(i) {
		return nil
	}
	v := c.i64(name, i)
	return &v
}

func (c cols) ts(name string, i int) time.Time {
	return time.UnixMicro(int64(c.get(name).(*array.Timestamp).Value(i))).UTC()
}

func tableRows(rec arrow.RecordBatch) []TableRow {
	c := cols{rec}
	out := make([]TableRow, rec.NumRows())
	for i := range out {
		out[i] = TableRow{Table: c.str("table", i), Zone: c.str("zone", i), SnapshotID: c.i64("snapshot_id", i),
			ParentID: c.optI64("parent_id", i), Operation: c.str("operation", i), CommittedAt: c.ts("committed_at", i),
			RecordCount: c.i64("record_count", i), DataFiles: c.i64("data_files", i),
			DeleteFiles: c.i64("delete_files", i), Bytes: c.i64("bytes", i), RowsAdded: c.i64("rows_added", i),
			FilesAdded: c.i64("files_added", i), LoadLatencyMS: c.optI64("load_latency_ms", i)}
	}
	return out
}

type columnOf struct {
	ColumnRow
	table, zone string
	snapshot    int64
}

func columnRowsOf(rec arrow.RecordBatch) []columnOf {
	c := cols{rec}
	out := make([]columnOf, rec.NumRows())
	for i := range out {
		out[i] = columnOf{table: c.str("table", i), zone: c.str("zone", i), snapshot: c.i64("snapshot_id", i),
			ColumnRow: ColumnRow{Column: c.str("column", i), FieldID: int(c.get("field_id").(*array.Int32).Value(i)),
				Type: c.str("type", i), ValueCount: c.optI64("value_count", i), NullCount: c.optI64("null_count", i),
				NaNCount: c.optI64("nan_count", i), Min: c.optStr("min", i), Max: c.optStr("max", i)}}
	}
	return out
}
