package pqcopy

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

// scanBatch is how many levels a scan decodes at a time.
const scanBatch = 16 << 10

// maxStat bounds a min or max value kept in statistics (arrow-go's and
// parquet-mr's default): a longer one is left out rather than truncated.
const maxStat = 4096

// scan decodes one column chunk of the source whole and returns its
// statistics as out (the column it becomes) orders values. A chunk that
// does not decode, or whose levels or rows disagree with its metadata,
// is ErrUnfit: copied, it would break the table.
func scan(rg *file.RowGroupReader, col int, out *schema.Column) (st metadata.EncodedStatistics, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: column %s: decoding panicked: %v", ErrUnfit, out.Path(), r)
		}
	}()
	cr, err := rg.Column(col)
	if err != nil {
		return st, fmt.Errorf("%w: column %s: %v", ErrUnfit, out.Path(), err)
	}
	stats := metadata.NewStatistics(out, memory.DefaultAllocator)
	levels, rows, err := scanReader(cr, stats, out.MaxRepetitionLevel())
	if err != nil {
		return st, fmt.Errorf("%w: column %s: %v", ErrUnfit, out.Path(), err)
	}
	meta, err := rg.MetaData().ColumnChunk(col)
	if err != nil || levels != meta.NumValues() || rows != rg.NumRows() {
		return st, fmt.Errorf("%w: column %s: %d values in %d rows decoded, the metadata says otherwise", ErrUnfit, out.Path(), levels, rows)
	}
	return encode(stats)
}

// encode is stats as a footer holds them, a min or max over maxStat left
// out.
func encode(stats metadata.TypedStatistics) (metadata.EncodedStatistics, error) {
	st, err := stats.Encode()
	if err != nil {
		return st, err
	}
	if len(st.Min) > maxStat || len(st.Max) > maxStat {
		st.HasMin, st.HasMax, st.Min, st.Max = false, false, nil, nil
	}
	return st, nil
}

// scanReader decodes cr to its end into stats, of the same physical type.
func scanReader(cr file.ColumnChunkReader, stats metadata.TypedStatistics, maxRep int16) (levels, rows int64, err error) {
	switch r := cr.(type) {
	case *file.BooleanColumnChunkReader:
		return scanTyped(r, stats.(*metadata.BooleanStatistics), maxRep)
	case *file.Int32ColumnChunkReader:
		return scanTyped(r, stats.(*metadata.Int32Statistics), maxRep)
	case *file.Int64ColumnChunkReader:
		return scanTyped(r, stats.(*metadata.Int64Statistics), maxRep)
	case *file.Float32ColumnChunkReader:
		return scanTyped(r, stats.(*metadata.Float32Statistics), maxRep)
	case *file.Float64ColumnChunkReader:
		return scanTyped(r, stats.(*metadata.Float64Statistics), maxRep)
	case *file.ByteArrayColumnChunkReader:
		return scanTyped[parquet.ByteArray](r, stats.(*metadata.ByteArrayStatistics), maxRep)
	case *file.FixedLenByteArrayColumnChunkReader:
		return scanTyped[parquet.FixedLenByteArray](r, stats.(*metadata.FixedLenByteArrayStatistics), maxRep)
	}
	return 0, 0, fmt.Errorf("physical type %s is not copied", cr.Type())
}

// batchReader is a typed arrow-go column chunk reader.
type batchReader[T any] interface {
	ReadBatchInPage(n int64, values []T, def, rep []int16) (int64, int, error)
	HasNext() bool
	Err() error
}

// updater is typed arrow-go statistics.
type updater[T any] interface{ Update(values []T, nulls int64) }

func scanTyped[T any](r batchReader[T], st updater[T], maxRep int16) (levels, rows int64, err error) {
	vals := make([]T, scanBatch)
	def, rep := make([]int16, scanBatch), make([]int16, scanBatch)
	for r.HasNext() {
		n, v, err := r.ReadBatchInPage(scanBatch, vals, def, rep) // values valid within the page: not cloned
		if err != nil {
			return 0, 0, err
		}
		if n == 0 {
			break
		}
		st.Update(vals[:v], n-int64(v))
		levels += n
		rows += rowStarts(rep[:n], maxRep)
	}
	return levels, rows, r.Err()
}

// rowStarts counts the levels that start a row (repetition level 0).
func rowStarts(rep []int16, maxRep int16) int64 {
	if maxRep == 0 {
		return int64(len(rep))
	}
	var n int64
	for _, r := range rep {
		if r == 0 {
			n++
		}
	}
	return n
}
