package loader

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"maps"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/lagoon-dev/lagoon/contract"
	"github.com/lagoon-dev/lagoon/lake"
)

// upsert commits a batch to a table the contract gives keys: one row per
// key. Within the batch the newest row of each key wins (by order_by; the
// later one when there is none or they tie); a stored row is replaced —
// an equality delete in the stored row's partition, and the new row — only
// by a newer one: an older or equal arrival is kept out (a replayed file
// changes nothing). Data and deletes land in one snapshot (a row delta).
type upsert struct {
	c      *contract.Contract
	schema *iceberg.Schema
	keys   []int // field ids
	recs   []arrow.RecordBatch
	late   int64
}

func newUpsert(c *contract.Contract, sc *iceberg.Schema) (*upsert, error) {
	u := &upsert{c: c, schema: sc}
	for _, k := range c.Keys {
		f, ok := sc.FindFieldByName(k)
		if !ok {
			return nil, fmt.Errorf("contract keys: the table has no column %s", k)
		}
		u.keys = append(u.keys, f.ID)
	}
	if c.OrderBy != "" {
		if _, ok := sc.FindFieldByName(c.OrderBy); !ok {
			return nil, fmt.Errorf("contract order_by: the table has no column %s", c.OrderBy)
		}
	}
	return u, nil
}

func (u *upsert) release() {
	for _, r := range u.recs {
		r.Release()
	}
}

// rowRef is one row of a record batch.
type rowRef struct {
	rec arrow.RecordBatch
	row int
}

// winners reads the batch and keeps each key's newest row.
func (u *upsert) winners(rdr *batchReader) (map[string]rowRef, []string, error) {
	best := map[string]rowRef{}
	var order []string
	for rdr.Next() {
		rec := rdr.RecordBatch()
		rec.Retain()
		u.recs = append(u.recs, rec)
		cols := u.keyColumns(rec)
		for i := range int(rec.NumRows()) {
			k := key(cols, i)
			old, seen := best[k]
			if !seen {
				order = append(order, k)
			}
			if !seen || u.compare(rec, i, old.rec, old.row) >= 0 {
				best[k] = rowRef{rec, i}
			}
		}
	}
	return best, order, rdr.Err()
}

// key renders row i's key values (cols: the key columns) as one string (JSON of each value:
// distinct values stay distinct, nulls equal nulls, as Iceberg's equality
// deletes treat them).
func key(cols []arrow.Array, i int) string {
	parts := make([]string, len(cols))
	for j, col := range cols {
		b, _ := json.Marshal(col.GetOneForMarshal(i))
		parts[j] = string(b)
	}
	return strings.Join(parts, "\x00")
}

// keyColumns are rec's key columns, looked up once a record, not a row.
func (u *upsert) keyColumns(rec arrow.RecordBatch) []arrow.Array {
	cols := make([]arrow.Array, len(u.c.Keys))
	for j, name := range u.c.Keys {
		cols[j] = rec.Column(rec.Schema().FieldIndices(name)[0])
	}
	return cols
}

// compare orders two rows by order_by (0 when there is none: the later
// arrival, which calls last, wins ties). A null is older than any value.
func (u *upsert) compare(a arrow.RecordBatch, i int, b arrow.RecordBatch, j int) int {
	if u.c.OrderBy == "" {
		return 0
	}
	x := a.Column(a.Schema().FieldIndices(u.c.OrderBy)[0])
	y := b.Column(b.Schema().FieldIndices(u.c.OrderBy)[0])
	return compareValues(x, i, y, j)
}

// compareValues compares x[i] and y[j] of the same type.
func compareValues(x arrow.Array, i int, y arrow.Array, j int) int {
	switch xn, yn := x.IsNull(i), y.IsNull(j); {
	case xn && yn:
		return 0
	case xn:
		return -1
	case yn:
		return 1
	}
	switch xa := x.(type) {
	case *array.Int32:
		return cmp.Compare(xa.Value(i), y.(*array.Int32).Value(j))
	case *array.Int64:
		return cmp.Compare(xa.Value(i), y.(*array.Int64).Value(j))
	case *array.Date32:
		return cmp.Compare(xa.Value(i), y.(*array.Date32).Value(j))
	case *array.Timestamp:
		return cmp.Compare(xa.Value(i), y.(*array.Timestamp).Value(j))
	case *array.Time64:
		return cmp.Compare(xa.Value(i), y.(*array.Time64).Value(j))
	case *array.String:
		return strings.Compare(xa.Value(i), y.(*array.String).Value(j))
	case *array.Float32:
		return cmp.Compare(xa.Value(i), y.(*array.Float32).Value(j))
	case *array.Float64:
		return cmp.Compare(xa.Value(i), y.(*array.Float64).Value(j))
	case *array.Decimal128:
		return decimalCompare(xa.Value(i), y.(*array.Decimal128).Value(j))
	}
	return 0
}

func decimalCompare(a, b decimal128.Num) int {
	return a.Cmp(b)
}

// errOrderType says order_by names a column lagoon cannot order by.
var errOrderType = errors.New("order_by must be a number, date, time, timestamp, string or decimal column")

func checkOrderType(sc *iceberg.Schema, name string) error {
	if name == "" {
		return nil
	}
	f, _ := sc.FindFieldByName(name)
	switch f.Type.(type) {
	case iceberg.Int32Type, iceberg.Int64Type, iceberg.DateType, iceberg.TimestampType, iceberg.TimestampTzType,
		iceberg.TimeType, iceberg.StringType, iceberg.Float32Type, iceberg.Float64Type, iceberg.DecimalType:
		return nil
	}
	return fmt.Errorf("contract order_by %s (%s): %w", name, f.Type, errOrderType)
}

// stored is what the table holds of the batch's keys: per key, the rows
// (their key, partition source and order_by columns).
type stored struct {
	rows map[string][]rowRef
	recs []arrow.RecordBatch
}

func (s *stored) release() {
	for _, r := range s.recs {
		r.Release()
	}
}

// lookup reads the key, order_by and partition source columns of the
// table's current rows (its deletes applied) whose keys the batch holds.
func (u *upsert) lookup(ctx context.Context, tbl *table.Table, want map[string]rowRef) (*stored, error) {
	s := &stored{rows: map[string][]rowRef{}}
	if tbl.CurrentSnapshot() == nil {
		return s, nil
	}
	opts := []table.ScanOption{table.WithSelectedFields(u.lookupColumns(tbl)...)}
	if f := u.keyRange(want); f != nil {
		opts = append(opts, table.WithRowFilter(f))
	}
	_, recs, err := tbl.Scan(opts...).ToArrowRecords(ctx)
	if err != nil {
		return nil, fmt.Errorf("look up stored keys: %w", err)
	}
	for rec, err := range recs {
		if err != nil {
			s.release()
			return nil, fmt.Errorf("look up stored keys: %w", err)
		}
		s.recs = append(s.recs, rec)
		cols := u.keyColumns(rec)
		for i := range int(rec.NumRows()) {
			if k := key(cols, i); want[k].rec != nil {
				s.rows[k] = append(s.rows[k], rowRef{rec, i})
			}
		}
	}
	return s, nil
}

// keyRange is a filter to the range of the batch's first key column
// (nil: none to be had): the scan then reads only the files whose column
// statistics overlap it — feeds' keys tend to cluster by file.
func (u *upsert) keyRange(want map[string]rowRef) iceberg.BooleanExpression {
	var lo, hi rowRef
	for _, r := range want {
		col := r.rec.Column(r.rec.Schema().FieldIndices(u.c.Keys[0])[0])
		if col.IsNull(r.row) {
			return nil // a null key: equality matches nulls, a range does not
		}
		if lo.rec == nil || u.cmpKey(r, lo) < 0 {
			lo = r
		}
		if hi.rec == nil || u.cmpKey(r, hi) > 0 {
			hi = r
		}
	}
	if lo.rec == nil {
		return nil
	}
	ref := iceberg.Reference(u.c.Keys[0])
	switch a := lo.rec.Column(lo.rec.Schema().FieldIndices(u.c.Keys[0])[0]).(type) {
	case *array.Int64:
		b := hi.rec.Column(hi.rec.Schema().FieldIndices(u.c.Keys[0])[0]).(*array.Int64)
		return iceberg.NewAnd(iceberg.GreaterThanEqual(ref, a.Value(lo.row)), iceberg.LessThanEqual(ref, b.Value(hi.row)))
	case *array.Int32:
		b := hi.rec.Column(hi.rec.Schema().FieldIndices(u.c.Keys[0])[0]).(*array.Int32)
		return iceberg.NewAnd(iceberg.GreaterThanEqual(ref, a.Value(lo.row)), iceberg.LessThanEqual(ref, b.Value(hi.row)))
	case *array.String:
		b := hi.rec.Column(hi.rec.Schema().FieldIndices(u.c.Keys[0])[0]).(*array.String)
		return iceberg.NewAnd(iceberg.GreaterThanEqual(ref, a.Value(lo.row)), iceberg.LessThanEqual(ref, b.Value(hi.row)))
	}
	return nil
}

// cmpKey compares two rows by the first key column.
func (u *upsert) cmpKey(a, b rowRef) int {
	x := a.rec.Column(a.rec.Schema().FieldIndices(u.c.Keys[0])[0])
	y := b.rec.Column(b.rec.Schema().FieldIndices(u.c.Keys[0])[0])
	return compareValues(x, a.row, y, b.row)
}

// lookupColumns are the delete columns and order_by.
func (u *upsert) lookupColumns(tbl *table.Table) []string {
	cols := u.deleteColumns(tbl)
	if u.c.OrderBy != "" && !contains(cols, u.c.OrderBy) {
		cols = append(cols, u.c.OrderBy)
	}
	return cols
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// deleteColumns are the keys and every column a partition field of the
// table takes: an equality delete is written in the stored row's
// partition, so it needs them.
func (u *upsert) deleteColumns(tbl *table.Table) []string {
	cols := append([]string(nil), u.c.Keys...)
	spec := tbl.Spec()
	for _, f := range spec.Fields() {
		if name, ok := tbl.Schema().FindColumnName(f.SourceIDs[0]); ok && !contains(cols, name) {
			cols = append(cols, name)
		}
	}
	return cols
}

// plan decides, per key, whether the batch's row goes in (and which stored
// rows it replaces) or is kept out as late.
func (u *upsert) plan(best map[string]rowRef, order []string, st *stored) (keep map[arrow.RecordBatch][]int, replace []rowRef) {
	keep = map[arrow.RecordBatch][]int{}
	for _, k := range order {
		in := best[k]
		olds := st.rows[k]
		newer := true
		for _, o := range olds {
			if u.c.OrderBy != "" && u.compare(in.rec, in.row, o.rec, o.row) <= 0 {
				newer = false
			}
		}
		if !newer {
			u.late++
			continue
		}
		keep[in.rec] = append(keep[in.rec], in.row)
		replace = append(replace, olds...)
	}
	return keep, replace
}

// kept yields the batch's records cut to the rows that go in, in order.
func (u *upsert) kept(ctx context.Context, keep map[arrow.RecordBatch][]int) iter.Seq2[arrow.RecordBatch, error] {
	return func(yield func(arrow.RecordBatch, error) bool) {
		for _, rec := range u.recs {
			rows := keep[rec]
			if len(rows) == 0 {
				continue
			}
			out, err := takeRows(ctx, rec, rows)
			if !yield(out, err) || err != nil {
				return
			}
		}
	}
}

// deleteRecords yields the replaced stored rows, as equality delete rows:
// their columns cols (the keys and partition sources).
func deleteRecords(ctx context.Context, replace []rowRef, cols []string) iter.Seq2[arrow.RecordBatch, error] {
	return func(yield func(arrow.RecordBatch, error) bool) {
		byRec := map[arrow.RecordBatch][]int{}
		var recs []arrow.RecordBatch
		for _, r := range replace {
			if byRec[r.rec] == nil {
				recs = append(recs, r.rec)
			}
			byRec[r.rec] = append(byRec[r.rec], r.row)
		}
		for _, rec := range recs {
			out, err := takeRows(ctx, project(rec, cols), byRec[rec])
			if !yield(out, err) || err != nil {
				return
			}
		}
	}
}

// project is rec's columns cols, in that order (not retained: rec owns
// them).
func project(rec arrow.RecordBatch, cols []string) arrow.RecordBatch {
	fields := make([]arrow.Field, len(cols))
	arrs := make([]arrow.Array, len(cols))
	for i, c := range cols {
		j := rec.Schema().FieldIndices(c)[0]
		fields[i], arrs[i] = rec.Schema().Field(j), rec.Column(j)
	}
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), arrs, rec.NumRows())
}

func takeRows(ctx context.Context, rec arrow.RecordBatch, rows []int) (arrow.RecordBatch, error) {
	b := array.NewInt64Builder(memoryPool)
	defer b.Release()
	for _, r := range rows {
		b.Append(int64(r))
	}
	idx := b.NewArray()
	defer idx.Release()
	cols := make([]arrow.Array, rec.NumCols())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i, c := range rec.Columns() {
		out, err := compute.TakeArray(ctx, c, idx)
		if err != nil {
			return nil, err
		}
		cols[i] = out
	}
	return array.NewRecordBatch(rec.Schema(), cols, int64(len(rows))), nil
}

// write commits the upsert in tx: the new rows as data files, the replaced
// ones as equality delete files, one row delta. written gets every file,
// to delete should the commit not happen.
func (u *upsert) write(ctx context.Context, tx *table.Transaction, staged *table.StagedTable, rdr *batchReader, props iceberg.Properties, written *attempt) (int64, error) {
	if err := checkOrderType(staged.Schema(), u.c.OrderBy); err != nil {
		return 0, err
	}
	best, order, err := u.winners(rdr)
	if err != nil {
		return 0, err
	}
	st, err := u.lookup(ctx, staged.Table, best)
	if err != nil {
		return 0, err
	}
	defer st.release()
	keep, replace := u.plan(best, order, st)
	var rows int64
	var files []iceberg.DataFile
	for df, err := range table.WriteRecords(ctx, staged.Table, rdr.Schema(), u.kept(ctx, keep)) {
		if err != nil {
			return 0, err
		}
		files = append(files, df)
		written.paths = append(written.paths, df.FilePath())
		rows += df.Count()
	}
	var dels []iceberg.DataFile
	if len(replace) > 0 {
		if dels, err = tx.WriteEqualityDeletes(ctx, u.keys, deleteRecords(ctx, replace, u.deleteColumns(staged.Table))); err != nil {
			return 0, fmt.Errorf("write deletes: %w", err)
		}
		for _, d := range dels {
			written.paths = append(written.paths, d.FilePath())
		}
	}
	written.files = files
	props = maps.Clone(props)
	props[lake.LiveRecordsProperty] = strconv.FormatInt(lake.LiveRecords(staged.Metadata(), staged.CurrentSnapshot())+rows-int64(len(replace)), 10)
	if len(files) == 0 && len(dels) == 0 {
		// every row was late: nothing to commit (loading the files again,
		// should they come back, changes nothing either)
		return 0, nil
	}
	return rows, tx.NewRowDelta(props).AddRows(files...).AddDeletes(dels...).Commit(ctx)
}

// upsertRecords is the upsert of a batch (see upsert); it returns the rows
// that went in.
func (l *Loader) upsertRecords(ctx context.Context, ref lake.TableRef, tx *table.Transaction, staged *table.StagedTable, rdr *batchReader, c *contract.Contract, props iceberg.Properties, written *attempt) (int64, error) {
	u, err := newUpsert(c, staged.Schema())
	if err != nil {
		return 0, fmt.Errorf("table %s: %w", ref, err)
	}
	defer u.release()
	rows, err := u.write(ctx, tx, staged, rdr, props, written)
	if err == nil && u.late > 0 {
		l.log.Warn("late rows kept out: a stored row of their key is as new or newer", "table", ref.String(), "rows", u.late)
	}
	return rows, err
}
