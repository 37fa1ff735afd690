package orc

import (
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// children reads each subtype of col with n values.
func (cr *columnReader) children(col, n int) ([]arrow.Array, error) {
	subs := cr.sd.f.Footer.Types[col].Subtypes
	out := make([]arrow.Array, 0, len(subs))
	for _, sub := range subs {
		a, err := cr.read(int(sub), n)
		if err != nil {
			release(out)
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

func release(arrs []arrow.Array) {
	for _, a := range arrs {
		a.Release()
	}
}

func childData(arrs []arrow.Array) []arrow.ArrayData {
	out := make([]arrow.ArrayData, len(arrs))
	for i, a := range arrs {
		out[i] = a.Data()
	}
	return out
}

// structValues: a struct's fields have one value per non-null struct.
func (cr *columnReader) structValues(col, m int) (arrow.Array, error) {
	kids, err := cr.children(col, m)
	if err != nil {
		return nil, err
	}
	defer release(kids)
	dt, err := cr.sd.f.typeOf(col)
	if err != nil {
		return nil, err
	}
	data := array.NewData(dt, m, []*memory.Buffer{nil}, childData(kids), 0, 0)
	defer data.Release()
	return array.MakeFromData(data), nil
}

// offsets reads m lengths (col's LENGTH stream) as list offsets, and
// their sum: how many values the children have.
func (cr *columnReader) offsets(col, m int) (*memory.Buffer, int, error) {
	lens, err := cr.sd.ints(col, Length, false, m)
	if err != nil {
		return nil, 0, err
	}
	buf := memory.NewResizableBuffer(cr.mem)
	buf.Resize(arrow.Int32Traits.BytesRequired(m + 1))
	offs := arrow.Int32Traits.CastFromBytes(buf.Bytes())
	var total int64
	for i, l := range lens {
		offs[i] = int32(total)
		total += l
		if l < 0 || total > int64(cr.max) || total > math.MaxInt32 {
			buf.Release()
			return nil, 0, fmt.Errorf("%w: lists of over %d values in a stripe", ErrUnsupported, cr.max)
		}
	}
	offs[m] = int32(total)
	return buf, int(total), nil
}

// listValues: a list's elements follow each other, as many as the
// lengths say.
func (cr *columnReader) listValues(col, m int) (arrow.Array, error) {
	offs, total, err := cr.offsets(col, m)
	if err != nil {
		return nil, err
	}
	defer offs.Release()
	elems, err := cr.children(col, total)
	if err != nil {
		return nil, err
	}
	defer release(elems)
	dt, err := cr.sd.f.typeOf(col)
	if err != nil {
		return nil, err
	}
	data := array.NewData(dt, m, []*memory.Buffer{nil, offs}, childData(elems), 0, 0)
	defer data.Release()
	return array.MakeFromData(data), nil
}

// mapValues: a map's keys and values follow each other, as many as the
// lengths say. A null key cannot be held (Arrow's, Parquet's and
// Iceberg's map keys are required).
func (cr *columnReader) mapValues(col, m int) (arrow.Array, error) {
	offs, total, err := cr.offsets(col, m)
	if err != nil {
		return nil, err
	}
	defer offs.Release()
	kv, err := cr.children(col, total)
	if err != nil {
		return nil, err
	}
	defer release(kv)
	if kv[0].NullN() > 0 {
		return nil, fmt.Errorf("%w: %d map keys are null (a map key cannot be)", ErrUnsupported, kv[0].NullN())
	}
	dt, err := cr.sd.f.typeOf(col)
	if err != nil {
		return nil, err
	}
	mt := dt.(*arrow.MapType)
	entries := array.NewData(mt.Elem(), total, []*memory.Buffer{nil}, childData(kv), 0, 0)
	defer entries.Release()
	data := array.NewData(mt, m, []*memory.Buffer{nil, offs}, []arrow.ArrayData{entries}, 0, 0)
	defer data.Release()
	return array.MakeFromData(data), nil
}

// unionValues: a union's tags (byte RLE in DATA) say which branch holds
// each value; each branch has one value per tag naming it.
func (cr *columnReader) unionValues(col, m int) (arrow.Array, error) {
	subs := cr.sd.f.Footer.Types[col].Subtypes
	tags, err := cr.sd.bytes(col, m)
	if err != nil {
		return nil, err
	}
	fields := []arrow.Array{unionTags(cr.mem, tags)}
	defer func() { release(fields) }()
	for b, sub := range subs {
		pres, count := make([]bool, m), 0
		for i, t := range tags {
			if int(t) >= len(subs) {
				return nil, fmt.Errorf("%w: union tag %d of %d branches", ErrCorrupt, t, len(subs))
			}
			if int(t) == b {
				pres[i], count = true, count+1
			}
		}
		branch, err := cr.read(int(sub), count)
		if err != nil {
			return nil, err
		}
		spread, err := cr.spread(branch, pres)
		branch.Release()
		if err != nil {
			return nil, err
		}
		fields = append(fields, spread)
	}
	dt, err := cr.sd.f.typeOf(col)
	if err != nil {
		return nil, err
	}
	data := array.NewData(dt, m, []*memory.Buffer{nil}, childData(fields), 0, 0)
	defer data.Release()
	return array.MakeFromData(data), nil
}

func unionTags(mem memory.Allocator, tags []byte) arrow.Array {
	b := array.NewInt32Builder(mem)
	defer b.Release()
	b.Reserve(len(tags))
	for _, t := range tags {
		b.UnsafeAppend(int32(t))
	}
	return b.NewArray()
}
