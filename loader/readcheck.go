package loader

import (
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet/metadata"
)

// batchBytes is what one read batch should hold of any one column at
// most. arrow-go's strings, binaries and lists have 32-bit offsets: a
// batch of a column past 2 GiB overflows them (arrow-go does not split
// it), so batches of a file with large values hold fewer rows.
const batchBytes = 512 << 20

// batchRows is how many rows a read batch of the file holds: readBatchRows,
// fewer where a column's values are large (by the sizes its footer
// declares; the offsets check catches a footer that lied).
func batchRows(meta *metadata.FileMetaData) int64 { return batchRowsWithin(meta, batchBytes) }

// batchRowsWithin is batchRows for batches of at most budget bytes of a
// column.
func batchRowsWithin(meta *metadata.FileMetaData, budget int64) int64 {
	rows := int64(readBatchRows)
	for i := range meta.NumRowGroups() {
		rg := meta.RowGroup(i)
		n := rg.NumRows()
		if n <= 0 {
			continue
		}
		for j := range rg.NumColumns() {
			cc, err := rg.ColumnChunk(j)
			if err != nil {
				continue
			}
			if perRow := cc.TotalUncompressedSize() / n; perRow > 0 {
				rows = min(rows, max(1, budget/perRow))
			}
		}
	}
	return rows
}

// errOffsets says a batch's offsets went backwards: arrow-go overflowed
// them (a column of more than 2 GiB in one batch).
var errOffsets = errors.New("offsets overflowed: more than 2 GiB of one column in one batch")

// checkOffsets verifies that every string, binary, list and map array of
// rec has offsets that never go backwards. arrow-go builds them with
// 32-bit arithmetic and wraps silently; values read past the wrap would
// be wrong, or missing.
func checkOffsets(rec arrow.RecordBatch) error {
	for i, c := range rec.Columns() {
		if err := checkArrayOffsets(c); err != nil {
			return fmt.Errorf("column %q: %w", rec.Schema().Field(i).Name, err)
		}
	}
	return nil
}

func checkArrayOffsets(a arrow.Array) error {
	switch x := a.(type) {
	case *array.String:
		return monotonic(x.ValueOffsets())
	case *array.Binary:
		return monotonic(x.ValueOffsets())
	case *array.Map:
		if err := monotonic(x.Offsets()); err != nil {
			return err
		}
		return checkArrayOffsets(x.ListValues())
	case *array.List:
		if err := monotonic(x.Offsets()); err != nil {
			return err
		}
		return checkArrayOffsets(x.ListValues())
	case *array.Struct:
		for i := range x.NumField() {
			if err := checkArrayOffsets(x.Field(i)); err != nil {
				return err
			}
		}
	case *array.Dictionary:
		return checkArrayOffsets(x.Dictionary())
	}
	return nil
}

func monotonic(offs []int32) error {
	if len(offs) > 0 && offs[0] < 0 {
		return errOffsets
	}
	for i := 1; i < len(offs); i++ {
		if offs[i] < offs[i-1] {
			return errOffsets
		}
	}
	return nil
}

// errRowCount says a file yielded another number of rows than its footer
// declares: a reader dropped or invented rows, and loading what it read
// would lose them silently.
var errRowCount = errors.New("rows read differ from the file's row count")
