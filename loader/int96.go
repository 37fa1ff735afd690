package loader

import (
	"context"
	"encoding/binary"
	"fmt"
	"iter"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
)

// int96Col is a top-level INT96 timestamp column (Impala, old Spark). arrow-go
// reads INT96 as nanoseconds and fails outside 1677–2262, where Spark's
// sentinel dates (0001-01-01, 9999-12-31) live, so lagoon reads these
// columns itself, at microsecond precision, over their whole range.
type int96Col struct {
	field int // index in the file's Arrow schema
	leaf  int // Parquet leaf column index
}

// int96Type is what lagoon reads INT96 columns as.
var int96Type = &arrow.TimestampType{Unit: arrow.Microsecond}

// findInt96 lists the file's top-level INT96 columns.
func findInt96(pf *file.Reader) []int96Col {
	sc := pf.MetaData().Schema
	var out []int96Col
	for leaf := range sc.NumColumns() {
		col := sc.Column(leaf)
		if col.PhysicalType() != parquet.Types.Int96 || len(col.ColumnPath()) != 1 {
			continue
		}
		out = append(out, int96Col{field: sc.Root().FieldIndexByName(col.Name()), leaf: leaf})
	}
	return out
}

// withInt96 returns the file's Arrow schema with its INT96 columns typed as
// lagoon reads them.
func withInt96(sc *arrow.Schema, cols []int96Col) *arrow.Schema {
	fields := sc.Fields()
	for _, c := range cols {
		fields[c.field].Type = int96Type
	}
	return arrow.NewSchema(fields, nil)
}

// rawBatches yields the file's rows as batches of s.raw.
func (s *source) rawBatches(ctx context.Context) iter.Seq2[arrow.RecordBatch, error] {
	if len(s.int96) == 0 {
		return s.arrowBatches(ctx, s.leaves, nil)
	}
	return func(yield func(arrow.RecordBatch, error) bool) {
		for rg := range s.pf.NumRowGroups() {
			for rec, err := range s.int96Batches(ctx, rg) {
				if !yield(rec, err) || err != nil {
					return
				}
			}
		}
	}
}

// arrowBatches reads the given leaves and row groups (nil: all) with pqarrow.
func (s *source) arrowBatches(ctx context.Context, leaves, rowGroups []int) iter.Seq2[arrow.RecordBatch, error] {
	return func(yield func(arrow.RecordBatch, error) bool) {
		rr, err := s.fr.GetRecordReader(ctx, leaves, rowGroups)
		if err != nil {
			yield(nil, err)
			return
		}
		defer rr.Release()
		for rr.Next() {
			rec := rr.RecordBatch()
			rec.Retain()
			if !yield(rec, nil) {
				return
			}
		}
		if err := rr.Err(); err != nil {
			yield(nil, err)
		}
	}
}

// int96Batches reads one row group: the other columns through pqarrow, the
// INT96 ones by hand, batch by batch in step.
func (s *source) int96Batches(ctx context.Context, rg int) iter.Seq2[arrow.RecordBatch, error] {
	return func(yield func(arrow.RecordBatch, error) bool) {
		rgr := s.pf.RowGroup(rg)
		readers := make([]*file.Int96ColumnChunkReader, len(s.int96))
		for i, c := range s.int96 {
			cr, err := rgr.Column(c.leaf)
			if err != nil {
				yield(nil, err)
				return
			}
			readers[i] = cr.(*file.Int96ColumnChunkReader)
		}
		others := s.otherLeaves()
		var next func() (arrow.RecordBatch, error, bool)
		if len(others) > 0 {
			var stop func()
			next, stop = iter.Pull2(s.arrowBatches(ctx, others, []int{rg}))
			defer stop()
		}
		for remaining := rgr.NumRows(); remaining > 0; {
			rec, err := s.int96Batch(readers, next, min(remaining, s.batchRows))
			if err != nil || !yield(rec, nil) {
				if err != nil {
					yield(nil, err)
				}
				return
			}
			remaining -= rec.NumRows()
		}
	}
}

func (s *source) otherLeaves() []int {
	var out []int
	for leaf := range s.pf.MetaData().Schema.NumColumns() {
		if !slices.ContainsFunc(s.int96, func(c int96Col) bool { return c.leaf == leaf }) {
			out = append(out, leaf)
		}
	}
	return out
}

// int96Batch assembles one batch: n rows, or as many as pqarrow gave.
func (s *source) int96Batch(readers []*file.Int96ColumnChunkReader, next func() (arrow.RecordBatch, error, bool), n int64) (arrow.RecordBatch, error) {
	cols := make([]arrow.Array, len(s.raw.Fields()))
	if next != nil {
		rec, err, ok := next()
		if !ok {
			return nil, fmt.Errorf("row group ended early")
		}
		if err != nil {
			return nil, err
		}
		defer rec.Release()
		n = rec.NumRows()
		j := 0
		for i := range cols {
			if !slices.ContainsFunc(s.int96, func(c int96Col) bool { return c.field == i }) {
				cols[i] = rec.Column(j)
				j++
			}
		}
	}
	var built []arrow.Array
	defer func() { releaseAll(built) }()
	for i, c := range s.int96 {
		arr, err := readInt96(readers[i], n)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", s.raw.Field(c.field).Name, err)
		}
		built = append(built, arr)
		cols[c.field] = arr
	}
	return array.NewRecordBatch(s.raw, cols, n), nil
}

// readInt96 reads n rows of a flat INT96 column as microsecond timestamps.
func readInt96(r *file.Int96ColumnChunkReader, n int64) (arrow.Array, error) {
	maxDef := r.Descriptor().MaxDefinitionLevel()
	vals := make([]parquet.Int96, n)
	defs := make([]int16, n)
	b := array.NewTimestampBuilder(memoryPool, int96Type)
	defer b.Release()
	b.Reserve(int(n))
	for got := int64(0); got < n; {
		levels, nv, err := r.ReadBatch(n-got, vals, defs, nil)
		if err != nil {
			return nil, err
		}
		if levels == 0 {
			return nil, fmt.Errorf("column ended after %d of %d rows", got, n)
		}
		v := 0
		for i := range levels {
			if maxDef > 0 && defs[i] < maxDef {
				b.AppendNull()
				continue
			}
			us, err := int96Micros(vals[v])
			if err != nil {
				return nil, err
			}
			b.Append(us)
			v++
		}
		if v != nv {
			return nil, fmt.Errorf("%d values for %d non-null levels", nv, v)
		}
		got += levels
	}
	return b.NewArray(), nil
}

const (
	julianUnixEpoch = 2440588
	microsPerDay    = 86_400_000_000
	nanosPerDay     = 86_400_000_000_000
)

// int96Micros converts an INT96 (nanoseconds of day, Julian day) to
// microseconds since the Unix epoch the way Spark, its main writer, reads
// it: a signed Julian day and signed nanoseconds, in int64 arithmetic that
// wraps. Spark's writer lets Julian microseconds wrap for instants past
// year ~292,000 of the Julian count (its test files hold year 290000), and
// the wrap here undoes it exactly. Sub-microsecond values are an error:
// never silently altered.
func int96Micros(v parquet.Int96) (arrow.Timestamp, error) {
	nanos := int64(binary.LittleEndian.Uint64(v[:8]))
	if nanos <= -nanosPerDay || nanos >= nanosPerDay {
		return 0, fmt.Errorf("invalid INT96 nanoseconds of day %d", nanos)
	}
	if nanos%1000 != 0 {
		return 0, fmt.Errorf("INT96 timestamp has sub-microsecond precision (%d ns of day) that Iceberg v2 cannot hold", nanos)
	}
	days := int64(int32(binary.LittleEndian.Uint32(v[8:]))) - julianUnixEpoch
	return arrow.Timestamp(days*microsPerDay + nanos/1000), nil
}
