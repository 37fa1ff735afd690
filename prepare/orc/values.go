package orc

import (
	"encoding/binary"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// nonNull counts the true values of pres.
func nonNull(pres []bool) int {
	n := 0
	for _, p := range pres {
		if p {
			n++
		}
	}
	return n
}

func (cr *columnReader) booleans(col, m int) (arrow.Array, error) {
	b, err := cr.sd.streamBytes(col, Data, byteRLESize((m+7)/8))
	if err != nil {
		return nil, err
	}
	vals, err := decodeBooleans(b, m)
	if err != nil {
		return nil, err
	}
	bb := array.NewBooleanBuilder(cr.mem)
	defer bb.Release()
	bb.AppendValues(vals, nil)
	return bb.NewArray(), nil
}

// integers reads tinyint (byte RLE), smallint, int and bigint (integer
// RLE) values; all but bigint are int32, and a value outside its type's
// range is corrupt.
func (cr *columnReader) integers(col, m int, k Kind) (arrow.Array, error) {
	if k == Long {
		vals, err := cr.sd.ints(col, Data, true, m)
		if err != nil {
			return nil, err
		}
		return int64Array(cr.mem, vals), nil
	}
	if k == Byte {
		bs, err := cr.sd.bytes(col, m)
		if err != nil {
			return nil, err
		}
		out := make([]int32, m)
		for i, c := range bs {
			out[i] = int32(int8(c))
		}
		return int32Array(cr.mem, out), nil
	}
	vals, err := cr.sd.ints(col, Data, true, m)
	if err != nil {
		return nil, err
	}
	lo, hi := int64(math.MinInt32), int64(math.MaxInt32)
	if k == Short {
		lo, hi = math.MinInt16, math.MaxInt16
	}
	return narrow(cr.mem, vals, lo, hi)
}

// narrow makes vals int32s, each within [lo, hi].
func narrow(mem memory.Allocator, vals []int64, lo, hi int64) (arrow.Array, error) {
	out := make([]int32, len(vals))
	for i, v := range vals {
		if v < lo || v > hi {
			return nil, fmt.Errorf("%w: value %d outside [%d, %d]", ErrCorrupt, v, lo, hi)
		}
		out[i] = int32(v)
	}
	return int32Array(mem, out), nil
}

func int32Array(mem memory.Allocator, vals []int32) arrow.Array {
	b := array.NewInt32Builder(mem)
	defer b.Release()
	b.AppendValues(vals, nil)
	return b.NewArray()
}

func int64Array(mem memory.Allocator, vals []int64) arrow.Array {
	b := array.NewInt64Builder(mem)
	defer b.Release()
	b.AppendValues(vals, nil)
	return b.NewArray()
}

// floats reads IEEE 754 values, little-endian: 4 bytes each for float, 8
// for double. Their bits are kept (a NaN's payload too).
func (cr *columnReader) floats(col, m int, single bool) (arrow.Array, error) {
	w := 8
	if single {
		w = 4
	}
	b, err := cr.sd.streamBytes(col, Data, int64(m*w))
	if err != nil {
		return nil, err
	}
	if len(b) < m*w {
		return nil, fmt.Errorf("%w: %d bytes for %d values", ErrCorrupt, len(b), m)
	}
	if single {
		return floatArray(array.NewFloat32Builder(cr.mem), m, func(i int) float32 {
			return math.Float32frombits(binary.LittleEndian.Uint32(b[i*4:]))
		}), nil
	}
	return floatArray(array.NewFloat64Builder(cr.mem), m, func(i int) float64 {
		return math.Float64frombits(binary.LittleEndian.Uint64(b[i*8:]))
	}), nil
}

// floatArray builds m values of at(i) with b, which it releases.
func floatArray[T float32 | float64, B interface {
	Reserve(int)
	UnsafeAppend(T)
	NewArray() arrow.Array
	Release()
}](b B, m int, at func(int) T) arrow.Array {
	defer b.Release()
	b.Reserve(m)
	for i := range m {
		b.UnsafeAppend(at(i))
	}
	return b.NewArray()
}

// strings reads m string or binary values: DIRECT (the bytes, then their
// lengths) or DICTIONARY (indexes into a dictionary of bytes and
// lengths), straight into Arrow's offsets and data. Strings must be
// UTF-8: one that is not cannot be stored as a string without changing
// it.
func (cr *columnReader) strings(col, m int, text bool) (arrow.Array, error) {
	var offs []int32
	var data []byte
	var err error
	enc := cr.sd.foot.encoding[col]
	if enc.kind == Dictionary || enc.kind == DictionaryV2 {
		offs, data, err = cr.sd.dictStrings(col, m, enc.dictSize, text)
	} else {
		offs, data, err = cr.sd.directStrings(col, m, text)
	}
	if err != nil {
		return nil, err
	}
	dt := arrow.BinaryTypes.Binary
	if text {
		dt = arrow.BinaryTypes.String
	}
	buf := memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offs))
	d := array.NewData(dt, m, []*memory.Buffer{nil, buf, memory.NewBufferBytes(data)}, nil, 0, 0)
	defer d.Release()
	return array.MakeFromData(d), nil
}

// offsets turns n lengths into n+1 offsets into data of size bytes, which
// they must fit.
func offsets(lens []int64, size int) ([]int32, error) {
	offs := make([]int32, len(lens)+1)
	var end int64
	for i, l := range lens {
		if l < 0 || l > int64(size)-end {
			return nil, fmt.Errorf("%w: a value of %d bytes, %d left", ErrCorrupt, l, int64(size)-end)
		}
		end += l
		offs[i+1] = int32(end)
	}
	return offs, nil
}

// lengthsAndData reads n lengths (LENGTH) and the bytes they cut (kind).
func (sd *stripeData) lengthsAndData(col, n int, kind StreamKind) ([]int32, []byte, error) {
	lens, err := sd.ints(col, Length, false, n)
	if err != nil {
		return nil, nil, err
	}
	for _, l := range lens {
		if l < 0 {
			return nil, nil, fmt.Errorf("%w: a value of %d bytes", ErrCorrupt, l)
		}
	}
	total := sum(lens)
	if total > math.MaxInt32 {
		return nil, nil, fmt.Errorf("%w: %d bytes of values in a stripe (lagoon reads at most 2 GiB)", ErrUnsupported, total)
	}
	data, err := sd.streamBytes(col, kind, total)
	if err != nil {
		return nil, nil, err
	}
	offs, err := offsets(lens, len(data))
	return offs, data, err
}

func (sd *stripeData) directStrings(col, n int, text bool) ([]int32, []byte, error) {
	offs, data, err := sd.lengthsAndData(col, n, Data)
	if err == nil && text {
		err = checkUTF8(offs, data)
	}
	return offs, data, err
}

// dictStrings gathers n values from the stripe's dictionary (each entry
// checked once).
func (sd *stripeData) dictStrings(col, n int, size uint64, text bool) ([]int32, []byte, error) {
	if size > uint64(sd.f.size) || size > MaxStripeValues {
		return nil, nil, fmt.Errorf("%w: a dictionary of %d entries", ErrCorrupt, size)
	}
	doffs, ddata, err := sd.lengthsAndData(col, int(size), DictionaryData)
	if err == nil && text {
		err = checkUTF8(doffs, ddata)
	}
	if err != nil {
		return nil, nil, err
	}
	idx, err := sd.ints(col, Data, false, n)
	if err != nil {
		return nil, nil, err
	}
	offs := make([]int32, n+1)
	var total int64
	for i, k := range idx {
		if k < 0 || k >= int64(size) {
			return nil, nil, fmt.Errorf("%w: dictionary index %d of %d", ErrCorrupt, k, size)
		}
		if total += int64(doffs[k+1] - doffs[k]); total > math.MaxInt32 {
			return nil, nil, fmt.Errorf("%w: over 2 GiB of values in a stripe", ErrUnsupported)
		}
		offs[i+1] = int32(total)
	}
	data := make([]byte, 0, total)
	for _, k := range idx {
		data = append(data, ddata[doffs[k]:doffs[k+1]]...)
	}
	return offs, data, nil
}

// checkUTF8 refuses values (cut by offs) that are not UTF-8.
func checkUTF8(offs []int32, data []byte) error {
	if asciiOnly(data) {
		return nil // every cut of ASCII is ASCII
	}
	for i := range len(offs) - 1 {
		if v := data[offs[i]:offs[i+1]]; !utf8.Valid(v) {
			return fmt.Errorf("%w: value %d is not UTF-8 (%q)", ErrUnsupported, i, cutText(string(v)))
		}
	}
	return nil
}

func asciiOnly(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

func cutText(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// sum adds up lengths, saturating (a corrupt length is negative or huge;
// offsets refuses it).
func sum(lens []int64) int64 {
	var s int64
	for _, l := range lens {
		if l < 0 || s+l < s {
			return math.MaxInt64
		}
		s += l
	}
	return s
}

// dates reads days since 1970-01-01.
func (cr *columnReader) dates(col, m int) (arrow.Array, error) {
	vals, err := cr.sd.ints(col, Data, true, m)
	if err != nil {
		return nil, err
	}
	b := array.NewDate32Builder(cr.mem)
	defer b.Release()
	b.Reserve(m)
	for _, v := range vals {
		if v < math.MinInt32 || v > math.MaxInt32 {
			return nil, fmt.Errorf("%w: date %d days from 1970", ErrCorrupt, v)
		}
		b.UnsafeAppend(arrow.Date32(v))
	}
	return b.NewArray(), nil
}
