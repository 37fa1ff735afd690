package pqcopy

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/schema"

	"github.com/lagoon-dev/lagoon/pqcompat"
)

// constantChunk is an uncompressed column chunk of rows copies of one
// value: a dictionary page holding the value, PLAIN, and one data page
// whose indices are all 0 (one RLE run of bit width 1) and whose
// definition levels, for an optional column, are all defined. value is
// as statistics hold it (a BYTE_ARRAY's bytes without their length). It
// returns the chunk and its dictionary page's length.
func constantChunk(col *schema.Column, value []byte, rows int64) ([]byte, int, error) {
	if col.MaxRepetitionLevel() > 0 || rows > math.MaxInt32 || rows < 1 {
		return nil, 0, fmt.Errorf("%w: a constant column %s of %d rows", ErrUnfit, col.Path(), rows)
	}
	plain := value
	if col.PhysicalType() == parquet.Types.ByteArray {
		plain = binary.LittleEndian.AppendUint32(nil, uint32(len(value)))
		plain = append(plain, value...)
	}
	dict := page(pqcompat.Struct(
		field(1, pqcompat.I32(pageDictionary)),
		field(2, pqcompat.I32(int32(len(plain)))),
		field(3, pqcompat.I32(int32(len(plain)))),
		field(7, pqcompat.Struct(field(1, pqcompat.I32(1)), field(2, pqcompat.I32(encodingPlain)))),
	), plain)
	body := constantLevels(col.MaxDefinitionLevel(), rows)
	body = append(body, 1) // the indices' bit width
	body = append(rleRun(body, rows), 0)
	data := page(pqcompat.Struct(
		field(1, pqcompat.I32(pageData)),
		field(2, pqcompat.I32(int32(len(body)))),
		field(3, pqcompat.I32(int32(len(body)))),
		field(5, pqcompat.Struct(
			field(1, pqcompat.I32(int32(rows))),
			field(2, pqcompat.I32(encodingDict)),
			field(3, pqcompat.I32(encodingRLE)),
			field(4, pqcompat.I32(encodingRLE)),
		)),
	), body)
	return append(dict, data...), len(dict), nil
}

// constantLevels is a v1 data page's definition levels, all maxDef: a
// 4-byte length, then one RLE run; none for a required column.
func constantLevels(maxDef int16, rows int64) []byte {
	if maxDef == 0 {
		return nil
	}
	width := bits.Len(uint(maxDef))
	run := rleRun(nil, rows)
	for i := 0; i < (width+7)/8; i++ {
		run = append(run, byte(uint(maxDef)>>(8*i)))
	}
	return append(binary.LittleEndian.AppendUint32(nil, uint32(len(run))), run...)
}

// rleRun appends the header of an RLE run of n values.
func rleRun(b []byte, n int64) []byte { return binary.AppendUvarint(b, uint64(n)<<1) }

func page(hdr pqcompat.Value, body []byte) []byte { return append(hdr.Encode(nil), body...) }

func field(id int16, v pqcompat.Value) pqcompat.Field { return pqcompat.Field{ID: id, Value: v} }
