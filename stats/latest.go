package stats

import (
	"cmp"
	"context"
	"maps"
	"slices"

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
	var rows []TableRow
	if err := lk.ScanSide(ctx, TablesDef, func(c lake.Cols) { rows = append(rows, tableRows(c)...) }); err != nil {
		return nil, err
	}
	newest := Newest(rows, only)
	var cols []columnOf
	if err := lk.ScanSide(ctx, ColumnsDef, func(c lake.Cols) { cols = append(cols, columnRowsOf(c)...) }); err != nil {
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

// Newest is, per zone and table, the row of its newest snapshot among
// rows (only, "db.table", keeps one table), ordered by zone and name.
func Newest(rows []TableRow, only string) []TableRow {
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
	out := slices.Collect(maps.Values(newest))
	slices.SortFunc(out, func(a, b TableRow) int {
		return cmp.Or(cmp.Compare(a.Zone, b.Zone), cmp.Compare(a.Table, b.Table))
	})
	return out
}

func tableRows(c lake.Cols) []TableRow {
	out := make([]TableRow, c.Rows())
	for i := range out {
		out[i] = TableRow{Table: c.Str("table", i), Zone: c.Str("zone", i), SnapshotID: c.I64("snapshot_id", i),
			ParentID: c.OptI64("parent_id", i), Operation: c.Str("operation", i), CommittedAt: c.Time("committed_at", i),
			RecordCount: c.I64("record_count", i), DataFiles: c.I64("data_files", i),
			DeleteFiles: c.I64("delete_files", i), Bytes: c.I64("bytes", i), RowsAdded: c.I64("rows_added", i),
			FilesAdded: c.I64("files_added", i), LoadLatencyMS: c.OptI64("load_latency_ms", i)}
		if m := c.OptStr("maintenance", i); m != nil {
			out[i].Maintenance = *m
		}
	}
	return out
}

type columnOf struct {
	ColumnRow
	table, zone string
	snapshot    int64
}

func columnRowsOf(c lake.Cols) []columnOf {
	out := make([]columnOf, c.Rows())
	for i := range out {
		out[i] = columnOf{table: c.Str("table", i), zone: c.Str("zone", i), snapshot: c.I64("snapshot_id", i),
			ColumnRow: ColumnRow{Column: c.Str("column", i), FieldID: int(c.I32("field_id", i)),
				Type: c.Str("type", i), ValueCount: c.OptI64("value_count", i), NullCount: c.OptI64("null_count", i),
				NaNCount: c.OptI64("nan_count", i), Min: c.OptStr("min", i), Max: c.OptStr("max", i),
				MinExact: c.OptBool("min_exact", i), MaxExact: c.OptBool("max_exact", i)}}
	}
	return out
}
