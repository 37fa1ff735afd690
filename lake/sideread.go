package lake

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go/table"
)

// ScanSide reads a side table's current snapshot and hands each record
// batch to fn, as Cols. A side table not created yet reads as empty.
func (l *Lake) ScanSide(ctx context.Context, d SideTable, fn func(Cols), opts ...table.ScanOption) error {
	tbl, err := l.LoadTable(ctx, d.Ref())
	if IsNoSuchTable(err) {
		return nil
	}
	if err != nil {
		return err
	}
	data, err := tbl.Scan(opts...).ToArrowTable(ctx)
	if err != nil {
		return fmt.Errorf("read %s: %w", d.Ref(), err)
	}
	defer data.Release()
	tr := array.NewTableReader(data, 4096)
	defer tr.Release()
	for tr.Next() {
		fn(Cols{tr.RecordBatch()})
	}
	return nil
}

// Cols reads the columns of a side-table record batch by name; nulls read
// as zero values (or nil, from the Opt readers).
type Cols struct{ Rec arrow.RecordBatch }

// Rows is the number of rows.
func (c Cols) Rows() int { return int(c.Rec.NumRows()) }

func (c Cols) col(name string) arrow.Array { return c.Rec.Column(c.Rec.Schema().FieldIndices(name)[0]) }

// Str reads a string column.
func (c Cols) Str(name string, i int) string {
	a := c.col(name).(*array.String)
	if a.IsNull(i) {
		return ""
	}
	return a.Value(i)
}

// OptStr reads a string column, nil for null.
func (c Cols) OptStr(name string, i int) *string {
	if c.col(name).IsNull(i) {
		return nil
	}
	s := c.Str(name, i)
	return &s
}

// I64 reads a long column.
func (c Cols) I64(name string, i int) int64 { return c.col(name).(*array.Int64).Value(i) }

// OptI64 reads a long column, nil for null.
func (c Cols) OptI64(name string, i int) *int64 {
	if c.col(name).IsNull(i) {
		return nil
	}
	v := c.I64(name, i)
	return &v
}

// OptBool reads a boolean column, nil for null.
func (c Cols) OptBool(name string, i int) *bool {
	a := c.col(name).(*array.Boolean)
	if a.IsNull(i) {
		return nil
	}
	v := a.Value(i)
	return &v
}

// I32 reads an int column.
func (c Cols) I32(name string, i int) int32 { return c.col(name).(*array.Int32).Value(i) }

// Time reads a timestamp (µs) column, in UTC.
func (c Cols) Time(name string, i int) time.Time {
	return time.UnixMicro(int64(c.col(name).(*array.Timestamp).Value(i))).UTC()
}
