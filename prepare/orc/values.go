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
		out := make([]float32, m)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[i*4:]))
		}
		fb := array.NewFloat32Builder(cr.mem)
		defer fb.Release()
		fb.AppendValues(out, nil)
		return fb.NewArray(), nil
	}
	out := make([]float64, m)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[i*8:]))
	}
	fb := array.NewFloat64Builder(cr.mem)
	defer fb.Release()
	fb.AppendValues(out, nil)
	return fb.NewArray(), nil
}

// strings reads m string or binary values: DIRECT (the bytes, then their
// lengths) or DICTIONARY (indexes into a dictionary of bytes and
// lengths). Strings must be UTF-8: one that is not cannot be stored as a
// string without changing it.
func (cr *columnReader) strings(col, m int, text bool) (arrow.Array, error) {
	vals, err := cr.sd.stringValues(col, m)
	if err != nil {
		return nil, err
	}
	if text {
		for i, v := range vals {
			if !utf8.ValidString(v) {
				return nil, fmt.Errorf("%w: value %d is not UTF-8 (%q)", ErrUnsupported, i, cutText(v))
			}
		}
		sb := array.NewStringBuilder(cr.mem)
		defer sb.Release()
		sb.AppendValues(vals, nil)
		return sb.NewArray(), nil
	}
	bb := array.NewBinaryBuilder(cr.mem, arrow.BinaryTypes.Binary)
	defer bb.Release()
	bb.AppendStringValues(vals, nil)
	return bb.NewArray(), nil
}

func cutText(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func (sd *stripeData) stringValues(col, n int) ([]string, error) {
	enc := sd.foot.encoding[col]
	if enc.kind == Dictionary || enc.kind == DictionaryV2 {
		return sd.dictStrings(col, n, enc.dictSize)
	}
	lens, err := sd.ints(col, Length, false, n)
	if err != nil {
		return nil, err
	}
	data, err := sd.streamBytes(col, Data, sum(lens))
	if err != nil {
		return nil, err
	}
	return cut(data, lens)
}

func (sd *stripeData) dictStrings(col, n int, size uint64) ([]string, error) {
	if size > uint64(sd.f.size) || size > MaxStripeValues {
		return nil, fmt.Errorf("%w: a dictionary of %d entries", ErrCorrupt, size)
	}
	lens, err := sd.ints(col, Length, false, int(size))
	if err != nil {
		return nil, err
	}
	data, err := sd.streamBytes(col, DictionaryData, sum(lens))
	if err != nil {
		return nil, err
	}
	dict, err := cut(data, lens)
	if err != nil {
		return nil, err
	}
	idx, err := sd.ints(col, Data, false, n)
	if err != nil {
		return nil, err
	}
	out := make([]string, n)
	for i, k := range idx {
		if k < 0 || k >= int64(len(dict)) {
			return nil, fmt.Errorf("%w: dictionary index %d of %d", ErrCorrupt, k, len(dict))
		}
		out[i] = dict[k]
	}
	return out, nil
}

// sum adds up lengths, saturating (a corrupt length is negative or huge;
// cut refuses it).
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

// cut splits data into values of the given lengths, which must use it
// exactly.
func cut(data []byte, lens []int64) ([]string, error) {
	out := make([]string, len(lens))
	for i, l := range lens {
		if l < 0 || l > int64(len(data)) {
			return nil, fmt.Errorf("%w: a value of %d bytes, %d left", ErrCorrupt, l, len(data))
		}
		out[i], data = string(data[:l]), data[l:]
	}
	return out, nil
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
