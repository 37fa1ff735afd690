package pqencode

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// A leaf's path from a top-level field down to it: each step a struct, a
// list or the leaf itself.
type stepKind uint8

const (
	stepLeaf stepKind = iota
	stepStruct
	stepList
)

type step struct {
	kind     stepKind
	nullable bool
	child    int   // a struct's field on the path
	def      int16 // the definition level where this step's value is present
	rep      int16 // a list's repetition level (its elements after the first)
}

// leafPath is how a leaf's levels are found in its top-level array.
type leafPath struct {
	steps          []step
	maxDef, maxRep int16
}

// leafPaths lists the leaves of field f in Parquet column order, or
// fails for a type this package does not write.
func leafPaths(f arrow.Field) ([]leafPath, []arrow.DataType, error) {
	var paths []leafPath
	var types []arrow.DataType
	var walk func(f arrow.Field, prefix []step, def, rep int16) error
	walk = func(f arrow.Field, prefix []step, def, rep int16) error {
		s := step{nullable: f.Nullable, def: def}
		if f.Nullable {
			s.def++
		}
		switch t := f.Type.(type) {
		case *arrow.StructType:
			if t.NumFields() == 0 {
				return fmt.Errorf("pqencode: struct %q without fields", f.Name)
			}
			for i, c := range t.Fields() {
				s.kind, s.child = stepStruct, i
				if err := walk(c, append(append([]step{}, prefix...), s), s.def, rep); err != nil {
					return err
				}
			}
			return nil
		case *arrow.ListType:
			s.kind, s.rep = stepList, rep+1
			return walk(t.ElemField(), append(append([]step{}, prefix...), s), s.def+1, rep+1)
		}
		if !leafType(f.Type) {
			return fmt.Errorf("pqencode: %q: type %s is not written by this package", f.Name, f.Type)
		}
		s.kind = stepLeaf
		paths = append(paths, leafPath{steps: append(append([]step{}, prefix...), s), maxDef: s.def, maxRep: rep})
		types = append(types, f.Type)
		return nil
	}
	err := walk(f, nil, 0, 0)
	return paths, types, err
}

// leafType reports whether values of t are written by this package.
func leafType(t arrow.DataType) bool {
	switch t := t.(type) {
	case *arrow.BooleanType, *arrow.Int64Type, *arrow.Float64Type, *arrow.Date32Type, *arrow.StringType:
		return true
	case *arrow.TimestampType:
		return t.Unit == arrow.Microsecond || t.Unit == arrow.Millisecond
	}
	return false
}

// levels collects a run of rows' levels for one leaf and which of the
// leaf array's values are present, in order.
type levels struct {
	def, rep []uint16
	idx      []int32 // the present values' indices in the leaf array
}

func (l *levels) reset() {
	l.def, l.rep, l.idx = l.def[:0], l.rep[:0], l.idx[:0]
}

// stepArray is the array of one step of a leaf's path in a batch, with
// what finding its levels reads: its validity bitmap and a list's offsets.
type stepArray struct {
	a       arrow.Array
	valid   []byte // nil: no nulls
	off     int
	offsets []int32 // a list's, from the buffer's start
}

func (s *stepArray) null(i int) bool {
	j := s.off + i
	return s.valid != nil && s.valid[j>>3]&(1<<(j&7)) == 0
}

// arrays are the arrays on a leaf's path in one batch: arrays[k] holds
// step k's values.
func (p *leafPath) arrays(top arrow.Array) []stepArray {
	out := make([]stepArray, len(p.steps))
	a := top
	for k, s := range p.steps {
		out[k] = stepArray{a: a, off: a.Data().Offset()}
		if a.NullN() > 0 {
			out[k].valid = a.NullBitmapBytes()
		}
		switch s.kind {
		case stepStruct:
			a = a.(*array.Struct).Field(s.child)
		case stepList:
			l := a.(*array.List)
			out[k].offsets = arrow.Int32Traits.CastFromBytes(l.Data().Buffers()[1].Bytes())
			a = l.ListValues()
		}
	}
	return out
}

// collect adds the levels of rows [from, to) of the batch whose arrays on
// the path are arrs.
func (p *leafPath) collect(l *levels, arrs []stepArray, from, to int) {
	if len(p.steps) == 1 {
		p.collectFlat(l, &arrs[0], from, to)
		return
	}
	for i := from; i < to; i++ {
		p.walk(l, arrs, 0, i, 0)
	}
}

// collectFlat is collect for a top-level leaf.
func (p *leafPath) collectFlat(l *levels, a *stepArray, from, to int) {
	if !p.steps[0].nullable {
		for i := from; i < to; i++ {
			l.idx = append(l.idx, int32(i))
		}
		return
	}
	for i := from; i < to; i++ {
		if a.null(i) {
			l.def = append(l.def, 0)
			continue
		}
		l.def = append(l.def, 1)
		l.idx = append(l.idx, int32(i))
	}
}

// walk adds the levels of value i of step k, whose first level has
// repetition level r.
func (p *leafPath) walk(l *levels, arrs []stepArray, k, i int, r int16) {
	s := &p.steps[k]
	a := &arrs[k]
	if s.nullable && a.null(i) {
		p.level(l, s.def-1, r)
		return
	}
	switch s.kind {
	case stepLeaf:
		p.level(l, s.def, r)
		l.idx = append(l.idx, int32(i))
	case stepStruct:
		p.walk(l, arrs, k+1, i, r)
	case stepList:
		start, end := a.offsets[a.off+i], a.offsets[a.off+i+1]
		if start == end {
			p.level(l, s.def, r)
			return
		}
		for j := start; j < end; j++ {
			p.walk(l, arrs, k+1, int(j), r)
			r = s.rep
		}
	}
}

func (p *leafPath) level(l *levels, def, rep int16) {
	if p.maxDef > 0 {
		l.def = append(l.def, uint16(def))
	}
	if p.maxRep > 0 {
		l.rep = append(l.rep, uint16(rep))
	}
}
