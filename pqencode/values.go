package pqencode

import (
	"bytes"
	"encoding/binary"
	"math"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Parquet encodings (parquet.thrift).
const (
	encPlain = 0
	encRLE   = 3
	encDict  = 8 // RLE_DICTIONARY
)

// valueEncoder turns one leaf's present values into pages' value
// sections, by dictionary or PLAIN, and keeps the chunk's min and max.
type valueEncoder interface {
	// put adds the values at idx of leaf array a to the page.
	put(a arrow.Array, idx []int32)
	// pageSize is about how large the page's values are encoded.
	pageSize() int
	// page appends the page's values, encoded, to dst, and starts a new
	// page: the bytes and their encoding.
	page(dst []byte) ([]byte, int32)
	// dictionary reports whether the chunk has a dictionary (the values
	// still go into it, or went into it before falling back); dictSize is
	// its PLAIN size while values still go into it.
	dictionary() bool
	dictSize() int
	// fallBack stops adding to the dictionary: the next pages are PLAIN.
	// The caller has written the pending page.
	fallBack()
	// dictPage appends the dictionary's entries, PLAIN, to dst: the bytes
	// and how many entries.
	dictPage(dst []byte) ([]byte, int)
	// bounds are the chunk's min and max, PLAIN-encoded as statistics hold
	// them; ok is false when there are none to give.
	bounds() (min, max []byte, ok bool)
	// reset starts a new chunk, with a dictionary if dict.
	reset(dict bool)
}

// littleEndian: PLAIN values are copied from memory as they are.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

type fixed interface{ int32 | int64 | float64 }

// fixedValues is a's values buffer as []T, from a's offset.
func fixedValues[T fixed](a arrow.Array) []T {
	buf := a.Data().Buffers()[1]
	if buf == nil || buf.Len() == 0 {
		return nil
	}
	b := buf.Bytes()
	n := len(b) / int(unsafe.Sizeof(T(0)))
	all := unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), n)
	return all[a.Data().Offset():]
}

// fixedEncoder encodes INT32, INT64 and DOUBLE values; K is the key the
// dictionary finds a value by (a float's bits: NaN is a value too).
type fixedEncoder[T fixed, K comparable] struct {
	key   func(T) K
	less  func(a, b T) bool
	skip  func(T) bool // left out of min and max (NaN)
	final func(min, max T) (T, T)

	dict    bool
	adding  bool
	index   map[K]uint32
	entries []T
	ids     []uint32 // the page's dictionary indices
	vals    []T      // the page's PLAIN values

	min, max T
	has      bool
}

func (e *fixedEncoder[T, K]) reset(dict bool) {
	e.dict, e.adding = dict, dict
	clear(e.index)
	if e.index == nil && dict {
		e.index = make(map[K]uint32)
	}
	e.entries, e.ids, e.vals = e.entries[:0], e.ids[:0], e.vals[:0]
	e.has = false
}

func (e *fixedEncoder[T, K]) put(a arrow.Array, idx []int32) {
	vs := fixedValues[T](a)
	if !e.adding {
		for _, i := range idx {
			v := vs[i]
			e.vals = append(e.vals, v)
			e.bound(v)
		}
		return
	}
	for _, i := range idx {
		v := vs[i]
		id, ok := e.index[e.key(v)]
		if !ok {
			id = uint32(len(e.entries))
			e.index[e.key(v)] = id
			e.entries = append(e.entries, v)
			e.bound(v)
		}
		e.ids = append(e.ids, id)
	}
}

func (e *fixedEncoder[T, K]) bound(v T) {
	if e.skip != nil && e.skip(v) {
		return
	}
	if !e.has {
		e.min, e.max, e.has = v, v, true
		return
	}
	if e.less(v, e.min) {
		e.min = v
	}
	if e.less(e.max, v) {
		e.max = v
	}
}

func (e *fixedEncoder[T, K]) pageSize() int {
	if e.adding {
		return len(e.ids) * 4 // an upper bound: indices are bit-packed
	}
	return len(e.vals) * int(unsafe.Sizeof(T(0)))
}

func (e *fixedEncoder[T, K]) page(dst []byte) ([]byte, int32) {
	if e.adding {
		dst = indices(dst, e.ids, len(e.entries))
		e.ids = e.ids[:0]
		return dst, encDict
	}
	dst = appendPlain(dst, e.vals)
	e.vals = e.vals[:0]
	return dst, encPlain
}

func (e *fixedEncoder[T, K]) dictionary() bool { return e.dict }
func (e *fixedEncoder[T, K]) dictSize() int {
	if !e.adding {
		return 0
	}
	return len(e.entries) * int(unsafe.Sizeof(T(0)))
}
func (e *fixedEncoder[T, K]) fallBack() { e.adding = false }

func (e *fixedEncoder[T, K]) dictPage(dst []byte) ([]byte, int) {
	return appendPlain(dst, e.entries), len(e.entries)
}

func (e *fixedEncoder[T, K]) bounds() ([]byte, []byte, bool) {
	if !e.has {
		return nil, nil, false
	}
	lo, hi := e.min, e.max
	if e.final != nil {
		lo, hi = e.final(lo, hi)
	}
	return appendPlain(nil, []T{lo}), appendPlain(nil, []T{hi}), true
}

// appendPlain appends vs PLAIN: little-endian, back to back.
func appendPlain[T fixed](dst []byte, vs []T) []byte {
	size := int(unsafe.Sizeof(T(0)))
	if littleEndian {
		return append(dst, unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(vs))), len(vs)*size)...)
	}
	for _, v := range vs {
		switch x := any(v).(type) {
		case int32:
			dst = binary.LittleEndian.AppendUint32(dst, uint32(x))
		case int64:
			dst = binary.LittleEndian.AppendUint64(dst, uint64(x))
		case float64:
			dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(x))
		}
	}
	return dst
}

// indices appends a data page's RLE_DICTIONARY values: the bit width,
// then the indices RLE/bit-packed.
func indices(dst []byte, ids []uint32, entries int) []byte {
	width := max(bitWidth(uint64(max(entries, 1)-1)), 1)
	dst = append(dst, byte(width))
	e := newRLE(width, dst)
	for _, id := range ids {
		e.put(uint64(id))
	}
	return e.finish()
}

func newInt64Encoder() valueEncoder {
	return &fixedEncoder[int64, int64]{key: func(v int64) int64 { return v }, less: func(a, b int64) bool { return a < b }}
}

func newInt32Encoder() valueEncoder {
	return &fixedEncoder[int32, int32]{key: func(v int32) int32 { return v }, less: func(a, b int32) bool { return a < b }}
}

// newDoubleEncoder: NaN is in no bound; a zero bound is -0 as the min and
// +0 as the max (the Parquet format's rule for readers of either).
func newDoubleEncoder() valueEncoder {
	return &fixedEncoder[float64, uint64]{
		key:  math.Float64bits,
		less: func(a, b float64) bool { return a < b },
		skip: math.IsNaN,
		final: func(lo, hi float64) (float64, float64) {
			if lo == 0 {
				lo = math.Copysign(0, -1)
			}
			if hi == 0 {
				hi = 0
			}
			return lo, hi
		},
	}
}

// bytesEncoder encodes BYTE_ARRAY values (strings).
type bytesEncoder struct {
	dict    bool
	adding  bool
	index   map[string]uint32
	arena   []byte // the dictionary's keys' bytes
	entries []byte // the dictionary, PLAIN
	n       int    // its entries
	ids     []uint32
	vals    []byte // the page's PLAIN values

	min, max []byte
	has      bool
}

func (e *bytesEncoder) reset(dict bool) {
	e.dict, e.adding = dict, dict
	clear(e.index)
	if e.index == nil && dict {
		e.index = make(map[string]uint32)
	}
	e.arena, e.entries, e.n = nil, e.entries[:0], 0
	e.ids, e.vals = e.ids[:0], e.vals[:0]
	e.min, e.max, e.has = e.min[:0], e.max[:0], false
}

func (e *bytesEncoder) put(a arrow.Array, idx []int32) {
	s := a.(*array.String)
	if !e.adding {
		for _, i := range idx {
			v := s.Value(int(i))
			e.vals = binary.LittleEndian.AppendUint32(e.vals, uint32(len(v)))
			e.vals = append(e.vals, v...)
			e.bound(v)
		}
		return
	}
	for _, i := range idx {
		v := s.Value(int(i))
		id, ok := e.index[v]
		if !ok {
			id = e.add(v)
		}
		e.ids = append(e.ids, id)
	}
}

// add puts v in the dictionary, its key's bytes in the arena.
func (e *bytesEncoder) add(v string) uint32 {
	if cap(e.arena)-len(e.arena) < len(v) {
		e.arena = make([]byte, 0, max(64<<10, len(v)))
	}
	start := len(e.arena)
	e.arena = append(e.arena, v...)
	key := unsafe.String(unsafe.SliceData(e.arena[start:]), len(v))
	id := uint32(e.n)
	e.index[key] = id
	e.n++
	e.entries = binary.LittleEndian.AppendUint32(e.entries, uint32(len(v)))
	e.entries = append(e.entries, v...)
	e.bound(v)
	return id
}

func (e *bytesEncoder) bound(v string) {
	if !e.has {
		e.min, e.max, e.has = append(e.min[:0], v...), append(e.max[:0], v...), true
		return
	}
	if bytes.Compare(unsafe.Slice(unsafe.StringData(v), len(v)), e.min) < 0 {
		e.min = append(e.min[:0], v...)
	} else if bytes.Compare(unsafe.Slice(unsafe.StringData(v), len(v)), e.max) > 0 {
		e.max = append(e.max[:0], v...)
	}
}

func (e *bytesEncoder) pageSize() int {
	if e.adding {
		return len(e.ids) * 4
	}
	return len(e.vals)
}

func (e *bytesEncoder) page(dst []byte) ([]byte, int32) {
	if e.adding {
		dst = indices(dst, e.ids, e.n)
		e.ids = e.ids[:0]
		return dst, encDict
	}
	dst = append(dst, e.vals...)
	e.vals = e.vals[:0]
	return dst, encPlain
}

func (e *bytesEncoder) dictionary() bool { return e.dict }
func (e *bytesEncoder) dictSize() int {
	if !e.adding {
		return 0
	}
	return len(e.entries)
}
func (e *bytesEncoder) fallBack() { e.adding = false }

func (e *bytesEncoder) dictPage(dst []byte) ([]byte, int) { return append(dst, e.entries...), e.n }

func (e *bytesEncoder) bounds() ([]byte, []byte, bool) {
	if !e.has {
		return nil, nil, false
	}
	return bytes.Clone(e.min), bytes.Clone(e.max), true
}

// boolEncoder encodes BOOLEAN values, PLAIN (bit-packed): Parquet
// writers do not give booleans a dictionary.
type boolEncoder struct {
	bits       []byte
	n          int
	hasF, hasT bool
}

func (e *boolEncoder) reset(bool) { e.bits, e.n, e.hasF, e.hasT = e.bits[:0], 0, false, false }

func (e *boolEncoder) put(a arrow.Array, idx []int32) {
	b := a.(*array.Boolean)
	for _, i := range idx {
		v := b.Value(int(i))
		if e.n%8 == 0 {
			e.bits = append(e.bits, 0)
		}
		if v {
			e.bits[len(e.bits)-1] |= 1 << (e.n % 8)
			e.hasT = true
		} else {
			e.hasF = true
		}
		e.n++
	}
}

func (e *boolEncoder) pageSize() int { return len(e.bits) }

func (e *boolEncoder) page(dst []byte) ([]byte, int32) {
	dst = append(dst, e.bits...)
	e.bits, e.n = e.bits[:0], 0
	return dst, encPlain
}

func (e *boolEncoder) dictionary() bool                  { return false }
func (e *boolEncoder) dictSize() int                     { return 0 }
func (e *boolEncoder) fallBack()                         {}
func (e *boolEncoder) dictPage(dst []byte) ([]byte, int) { return dst, 0 }

func (e *boolEncoder) bounds() ([]byte, []byte, bool) {
	if !e.hasF && !e.hasT {
		return nil, nil, false
	}
	return []byte{b2b(!e.hasF)}, []byte{b2b(e.hasT)}, true
}

func b2b(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// newValueEncoder is the encoder of values of t (a leafType).
func newValueEncoder(t arrow.DataType) valueEncoder {
	switch t.(type) {
	case *arrow.BooleanType:
		return &boolEncoder{}
	case *arrow.Float64Type:
		return newDoubleEncoder()
	case *arrow.Date32Type:
		return newInt32Encoder()
	case *arrow.StringType:
		return &bytesEncoder{}
	}
	return newInt64Encoder() // Int64, Timestamp
}
