package stats

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/lagoon-dev/lagoon/lake"
)

// maxHistory bounds how many snapshots one sync records per table (a
// table seen for the first time after a long history).
const maxHistory = 1000

// TableRow is one row of the table statistics.
type TableRow struct {
	Table         string    `json:"table"`
	Zone          string    `json:"zone"`
	SnapshotID    int64     `json:"snapshot_id"`
	ParentID      *int64    `json:"parent_id,omitempty"`
	Operation     string    `json:"operation,omitempty"`
	CommittedAt   time.Time `json:"last_updated"`
	RecordCount   int64     `json:"record_count"`
	DataFiles     int64     `json:"data_files"`
	DeleteFiles   int64     `json:"delete_files"`
	Bytes         int64     `json:"bytes"`
	RowsAdded     int64     `json:"rows_added"`
	FilesAdded    int64     `json:"files_added"`
	LoadLatencyMS *int64    `json:"load_latency_ms,omitempty"`
	// Maintenance names the maintenance step that made the snapshot
	// ("compaction", "rewrite": manifests merged); "" for a load.
	Maintenance string `json:"maintenance,omitempty"`
}

// ColumnRow is one row of the column statistics.
type ColumnRow struct {
	Column     string `json:"column"`
	FieldID    int    `json:"field_id"`
	Type       string `json:"type"`
	ValueCount *int64 `json:"value_count,omitempty"`
	NullCount  *int64 `json:"null_count,omitempty"`
	NaNCount   *int64 `json:"nan_count,omitempty"`
	// Min and Max are the least and greatest values over the live data
	// files, nil when some file with values has no bound for the column
	// (the others' bounds would say what no row may hold). MinExact and
	// MaxExact say whether a row holds them, or they are only bounds (a
	// string bound cut short by the writer, rows deleted since).
	Min      *string `json:"min,omitempty"`
	Max      *string `json:"max,omitempty"`
	MinExact *bool   `json:"min_exact,omitempty"`
	MaxExact *bool   `json:"max_exact,omitempty"`
}

// history returns the table rows of tbl's snapshots after since (zero:
// from the start), oldest first, following the current snapshot's
// ancestry. It stops at since, or at a snapshot older than it (since
// itself may have expired).
func history(tbl *table.Table, name, zone string, since mark) []TableRow {
	meta := tbl.Metadata()
	var out []TableRow
	for s := meta.CurrentSnapshot(); s != nil && s.SnapshotID != since.id && s.TimestampMs >= since.ms && len(out) < maxHistory; {
		out = append(out, snapshotRow(meta, s, name, zone))
		if s.ParentSnapshotID == nil {
			break
		}
		s = meta.SnapshotByID(*s.ParentSnapshotID)
	}
	slices.Reverse(out)
	return out
}

func snapshotRow(meta table.Metadata, s *table.Snapshot, name, zone string) TableRow {
	r := TableRow{Table: name, Zone: zone, SnapshotID: s.SnapshotID, ParentID: s.ParentSnapshotID,
		CommittedAt: time.UnixMilli(s.TimestampMs).UTC()}
	if s.Summary == nil {
		return r
	}
	p := s.Summary.Properties
	num := func(k string) int64 { n, _ := strconv.ParseInt(p[k], 10, 64); return n }
	r.Operation = string(s.Summary.Operation)
	r.RecordCount, r.DataFiles, r.DeleteFiles = lake.LiveRecords(meta, s), num("total-data-files"), num("total-delete-files")
	r.Bytes, r.RowsAdded, r.FilesAdded = num("total-files-size"), num("added-records"), num("added-data-files")
	if r.Maintenance = p[lake.MaintenanceProperty]; r.Maintenance == "" && s.Summary.Operation == table.OpReplace {
		r.Maintenance = "rewrite"
	}
	if rec, ok := p[lake.ReceivedProperty]; ok {
		if ms, err := strconv.ParseInt(rec, 10, 64); err == nil {
			lat := max(s.TimestampMs-ms, 0)
			r.LoadLatencyMS = &lat
		}
	}
	return r
}

// columnAgg gathers one column's metrics across data files.
type columnAgg struct {
	values, nulls, nans int64
	hasV, hasN, hasNaN  bool
	lo, hi              iceberg.Literal
	noLo, noHi          bool // a file with values has no such bound: unknown
	loBound, hiBound    bool // the bound kept may be no value (cut short)
}

// boundCut is the length past which a writer may have cut a string or
// binary bound (Iceberg's default metrics mode, truncate(16)): a bound
// that long may be no value.
const boundCut = 16

// Columns returns per-column statistics of tbl's current snapshot, read
// from its manifests: counts summed, bounds the least and greatest over
// the live data files. Where deletes remove rows (upserts), the counts are
// those of the rows readers see, counted by reading them (top-level
// columns; nested ones' are left out), and the bounds stay bounds.
func Columns(ctx context.Context, tbl *table.Table) ([]ColumnRow, error) {
	snap := tbl.CurrentSnapshot()
	if snap == nil {
		return nil, nil
	}
	fs, err := tbl.FS(ctx)
	if err != nil {
		return nil, err
	}
	manifests, err := snap.Manifests(fs)
	if err != nil {
		return nil, fmt.Errorf("manifests of %s: %w", tbl.Identifier(), err)
	}
	sc := tbl.Schema()
	aggs := map[int]*columnAgg{}
	for _, m := range manifests {
		if m.ManifestContent() != iceberg.ManifestContentData {
			continue
		}
		entries, err := m.FetchEntries(fs, true)
		if err != nil {
			return nil, fmt.Errorf("manifest %s: %w", m.FilePath(), err)
		}
		for _, e := range entries {
			addFile(aggs, sc, e.DataFile())
		}
	}
	deleted := hasDeletes(snap)
	if deleted {
		if err := liveCounts(ctx, tbl, aggs); err != nil {
			return nil, err
		}
	}
	return columnRows(sc, aggs, deleted), nil
}

func addFile(aggs map[int]*columnAgg, sc *iceberg.Schema, df iceberg.DataFile) {
	get := func(id int) *columnAgg {
		if aggs[id] == nil {
			aggs[id] = &columnAgg{}
		}
		return aggs[id]
	}
	for id, n := range df.ValueCounts() {
		a := get(id)
		a.values, a.hasV = a.values+n, true
	}
	for id, n := range df.NullValueCounts() {
		a := get(id)
		a.nulls, a.hasN = a.nulls+n, true
	}
	for id, n := range df.NaNValueCounts() {
		a := get(id)
		a.nans, a.hasNaN = a.nans+n, true
	}
	bound(sc, df.LowerBoundValues(), func(id int, l iceberg.Literal) {
		if a := get(id); a.lo == nil || compare(l, a.lo) < 0 {
			a.lo, a.loBound = l, mayBeCut(l)
		}
	})
	bound(sc, df.UpperBoundValues(), func(id int, l iceberg.Literal) {
		if a := get(id); a.hi == nil || compare(l, a.hi) > 0 {
			a.hi, a.hiBound = l, mayBeCut(l)
		}
	})
	markUnbounded(aggs, df)
}

// markUnbounded notes the columns for which df holds values but no
// bound: their least and greatest values are not known.
func markUnbounded(aggs map[int]*columnAgg, df iceberg.DataFile) {
	nulls, lower, upper := df.NullValueCounts(), df.LowerBoundValues(), df.UpperBoundValues()
	for id, n := range df.ValueCounts() {
		if nn, ok := nulls[id]; ok && nn >= n {
			continue // only nulls: no bound to have
		}
		a := aggs[id]
		if _, ok := lower[id]; !ok {
			a.noLo = true
		}
		if _, ok := upper[id]; !ok {
			a.noHi = true
		}
	}
}

// mayBeCut reports whether bound l may have been cut short by its writer.
func mayBeCut(l iceberg.Literal) bool {
	switch v := l.(type) {
	case iceberg.StringLiteral:
		return utf8.RuneCountInString(string(v)) >= boundCut
	case iceberg.BinaryLiteral:
		return len(v) >= boundCut
	}
	return false
}

// bound decodes each bound by its field's type and hands it to keep.
func bound(sc *iceberg.Schema, bounds map[int][]byte, keep func(int, iceberg.Literal)) {
	for id, b := range bounds {
		f, ok := sc.FindFieldByID(id)
		if !ok {
			continue
		}
		typ := f.Type
		// Writers may store an int or float bound for a column widened since.
		switch {
		case typ.Equals(iceberg.PrimitiveTypes.Int64) && len(b) == 4:
			typ = iceberg.PrimitiveTypes.Int32
		case typ.Equals(iceberg.PrimitiveTypes.Float64) && len(b) == 4:
			typ = iceberg.PrimitiveTypes.Float32
		}
		if l, err := iceberg.LiteralFromBytes(typ, b); err == nil {
			keep(id, l)
		}
	}
}

// compare orders two literals of one column.
func compare(a, b iceberg.Literal) int {
	switch x := a.Any().(type) {
	case int32:
		return cmp.Compare(int64(x), asInt(b.Any()))
	case int64:
		return cmp.Compare(x, asInt(b.Any()))
	case float32:
		return cmp.Compare(float64(x), asFloat(b.Any()))
	case float64:
		return cmp.Compare(x, asFloat(b.Any()))
	case string:
		y, _ := b.Any().(string)
		return cmp.Compare(x, y)
	case []byte:
		y, _ := b.Any().([]byte)
		return bytes.Compare(x, y)
	case bool:
		y, _ := b.Any().(bool)
		return cmp.Compare(btoi(x), btoi(y))
	}
	if x, ok := intLike(a.Any()); ok {
		y, _ := intLike(b.Any())
		return cmp.Compare(x, y)
	}
	return cmp.Compare(a.String(), b.String())
}

func asInt(v any) int64 {
	switch v := v.(type) {
	case int32:
		return int64(v)
	case int64:
		return v
	}
	return 0
}

func asFloat(v any) float64 {
	switch v := v.(type) {
	case float32:
		return float64(v)
	case float64:
		return v
	}
	return 0
}

// intLike reads the integer behind dates, times and timestamps.
func intLike(v any) (int64, bool) {
	switch v := v.(type) {
	case iceberg.Date:
		return int64(v), true
	case iceberg.Time:
		return int64(v), true
	case iceberg.Timestamp:
		return int64(v), true
	case iceberg.TimestampNano:
		return int64(v), true
	}
	return 0, false
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func exact(b bool) *bool { return &b }

// columnRows turns the aggregates into rows; with deleted, rows were
// deleted since the files were written: their bounds are bounds only.
func columnRows(sc *iceberg.Schema, aggs map[int]*columnAgg, deleted bool) []ColumnRow {
	var out []ColumnRow
	for id, a := range aggs {
		f, ok := sc.FindFieldByID(id)
		name, ok2 := sc.FindColumnName(id)
		if !ok || !ok2 {
			continue // a column dropped since
		}
		r := ColumnRow{Column: name, FieldID: id, Type: f.Type.String()}
		if a.hasV {
			r.ValueCount = &a.values
		}
		if a.hasN {
			r.NullCount = &a.nulls
		}
		if a.hasNaN {
			r.NaNCount = &a.nans
		}
		if !a.noLo && a.lo != nil {
			r.Min, r.MinExact = litString(a.lo), exact(!a.loBound && !deleted)
		}
		if !a.noHi && a.hi != nil {
			r.Max, r.MaxExact = litString(a.hi), exact(!a.hiBound && !deleted)
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b ColumnRow) int { return cmp.Compare(a.FieldID, b.FieldID) })
	return out
}

func litString(l iceberg.Literal) *string {
	if l == nil {
		return nil
	}
	s := l.String()
	return &s
}
