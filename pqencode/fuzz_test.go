package pqencode_test

import (
	"encoding/binary"
	"math"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lagoon-dev/lagoon/internal/fuzzing"
	"github.com/lagoon-dev/lagoon/pqencode"
)

var fuzzSchema = arrow.NewSchema([]arrow.Field{
	{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "i", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "f", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "b", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "d", Type: arrow.FixedWidthTypes.Date32},
	{Name: "l", Nullable: true, Type: arrow.ListOfField(arrow.Field{Name: "element", Type: arrow.BinaryTypes.String, Nullable: true})},
}, nil)

// bytesSource hands out the fuzzer's bytes; past their end, zeros.
type bytesSource struct{ b []byte }

func (s *bytesSource) take(n int) []byte {
	out := make([]byte, n)
	k := copy(out, s.b)
	s.b = s.b[k:]
	return out
}

func (s *bytesSource) byte() byte { return s.take(1)[0] }

// fuzzBatch makes rows from the fuzzer's bytes: any bytes in strings, any
// bits in integers and doubles (NaN payloads, ±0, infinities), nulls and
// list lengths as the bytes say.
func fuzzBatch(data []byte) arrow.RecordBatch {
	src := &bytesSource{b: data}
	b := array.NewRecordBuilder(memory.DefaultAllocator, fuzzSchema)
	defer b.Release()
	rows := int(src.byte())
	for range rows {
		flags := src.byte()
		appendOr(flags&1 != 0, b.Field(0), func() { b.Field(0).(*array.StringBuilder).BinaryBuilder.Append(src.take(int(src.byte() % 24))) })
		appendOr(flags&2 != 0, b.Field(1), func() { b.Field(1).(*array.Int64Builder).Append(int64(binary.LittleEndian.Uint64(src.take(8)))) })
		appendOr(flags&4 != 0, b.Field(2), func() {
			b.Field(2).(*array.Float64Builder).Append(float64FromBits(binary.LittleEndian.Uint64(src.take(8))))
		})
		appendOr(flags&8 != 0, b.Field(3), func() { b.Field(3).(*array.BooleanBuilder).Append(flags&16 != 0) })
		b.Field(4).(*array.Date32Builder).Append(arrow.Date32(binary.LittleEndian.Uint32(src.take(4))))
		lb := b.Field(5).(*array.ListBuilder)
		appendOr(flags&32 != 0, lb, func() {
			lb.Append(true)
			vb := lb.ValueBuilder().(*array.StringBuilder)
			for range src.byte() % 4 {
				appendOr(flags&64 != 0, vb, func() { vb.BinaryBuilder.Append(src.take(int(src.byte() % 8))) })
			}
		})
	}
	return b.NewRecordBatch()
}

// FuzzRoundTrip: whatever the values, pqencode's file reads back as
// written, with arrow-go's statistics, under limits small enough for many
// pages, row groups and dictionary fallbacks.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{3, 0, 5, 'h', 'e', 'l', 'l', 'o', 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0xf8, 0x7f})
	f.Add([]byte{200, 0xff, 0x21, 0x80})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > fuzzing.MaxInput {
			t.Skip()
		}
		rec := fuzzBatch(data)
		defer rec.Release()
		opt := pqencode.DefaultOptions()
		opt.RowGroupRows, opt.PageBytes, opt.DictionaryBytes, opt.MaxStatsBytes = 50, 256, 128, 16
		dir := t.TempDir()
		ours, theirs := filepath.Join(dir, "ours.parquet"), filepath.Join(dir, "theirs.parquet")
		write(t, ours, opt, rec, rec.NewSlice(rec.NumRows()/3, rec.NumRows()))
		got := readTable(t, ours)
		want := array.NewTableFromRecords(fuzzSchema, []arrow.RecordBatch{rec, rec.NewSlice(rec.NumRows()/3, rec.NumRows())})
		defer want.Release()
		sameTable(t, want, got)
		writeArrowGo(t, theirs, opt, rec, rec.NewSlice(rec.NumRows()/3, rec.NumRows()))
		a, b := openMeta(t, ours), openMeta(t, theirs)
		for i := range min(a.NumRowGroups(), b.NumRowGroups()) {
			for j := range a.MetaData().Schema.NumColumns() {
				sameChunkStats(t, a, b, i, j)
			}
		}
		if rec.NumRows() > 0 && a.NumRowGroups() != b.NumRowGroups() { // arrow-go writes an empty one for no rows
			t.Fatalf("%d row groups, arrow-go %d", a.NumRowGroups(), b.NumRowGroups())
		}
	})
}

func float64FromBits(b uint64) float64 { return math.Float64frombits(b) }
