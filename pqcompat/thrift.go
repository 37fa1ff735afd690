package pqcompat

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Thrift compact protocol element types (the low nibble of a field
// header; see the Thrift compact protocol specification).
const (
	TypeStop   byte = 0
	TypeTrue   byte = 1
	TypeFalse  byte = 2
	TypeI8     byte = 3
	TypeI16    byte = 4
	TypeI32    byte = 5
	TypeI64    byte = 6
	TypeDouble byte = 7
	TypeBinary byte = 8
	TypeList   byte = 9
	TypeSet    byte = 10
	TypeMap    byte = 11
	TypeStruct byte = 12
)

// maxDepth bounds the nesting of a decoded value; Parquet's deepest
// footer structures are a handful of levels deep.
const maxDepth = 64

// errThrift is wrapped by every decoding error: the bytes are not a
// well-formed compact-protocol value.
var errThrift = errors.New("malformed thrift")

// Value is one decoded compact-protocol value, kept generic so that a
// footer can be rewritten without knowing every field it holds (fields
// lagoon does not know survive untouched).
type Value struct {
	Type   byte    // TypeTrue stands for any bool; Int holds 0 or 1
	Int    int64   // bool, i8, i16, i32, i64
	Double float64 // double
	Bin    []byte  // binary (aliases the decoded input)
	// Elems are a list's or set's elements, of ElemType; for a map,
	// alternating keys and values, of KeyType and ElemType.
	Elems    []Value
	ElemType byte
	KeyType  byte
	Fields   []Field // struct
	// Raw, when set, is the value's encoding, kept undecoded (a container
	// below the decoder's depth limit); Encode copies it.
	Raw []byte
}

// Field is one field of a struct.
type Field struct {
	ID int16
	Value
}

// Get returns the struct field id, or nil.
func (v *Value) Get(id int16) *Value {
	for i := range v.Fields {
		if v.Fields[i].ID == id {
			return &v.Fields[i].Value
		}
	}
	return nil
}

// Drop removes the struct field id; it reports whether there was one.
func (v *Value) Drop(id int16) bool {
	for i := range v.Fields {
		if v.Fields[i].ID == id {
			v.Fields = append(v.Fields[:i], v.Fields[i+1:]...)
			return true
		}
	}
	return false
}

// Set sets the struct field id to val, adding it in id order if absent.
func (v *Value) Set(id int16, val Value) {
	if f := v.Get(id); f != nil {
		*f = val
		return
	}
	i := 0
	for i < len(v.Fields) && v.Fields[i].ID < id {
		i++
	}
	v.Fields = append(v.Fields, Field{})
	copy(v.Fields[i+1:], v.Fields[i:])
	v.Fields[i] = Field{ID: id, Value: val}
}

// I32 and I64 build integer values; Binary a binary one.
func I32(n int32) Value     { return Value{Type: TypeI32, Int: int64(n)} }
func I64(n int64) Value     { return Value{Type: TypeI64, Int: n} }
func Binary(b []byte) Value { return Value{Type: TypeBinary, Bin: b} }

// Struct builds a struct value from fields in any order.
func Struct(fields ...Field) Value {
	v := Value{Type: TypeStruct}
	for _, f := range fields {
		v.Set(f.ID, f.Value)
	}
	return v
}

// List builds a list of elements of type t.
func List(t byte, elems ...Value) Value {
	return Value{Type: TypeList, ElemType: t, Elems: elems}
}

// DecodeStruct decodes one struct from the start of b and returns it with
// the number of bytes it took. Containers nested limit levels deep or more
// (the struct itself is level 0) are checked but kept as Raw; a limit of 0
// means no limit. Every length is checked against the bytes left, so a
// hostile input cannot make it allocate more than it holds.
func DecodeStruct(b []byte, limit int) (Value, int, error) {
	return Decode(TypeStruct, b, limit)
}

// Decode decodes one value of type t from the start of b, like
// DecodeStruct.
func Decode(t byte, b []byte, limit int) (Value, int, error) {
	if limit <= 0 {
		limit = maxDepth + 1
	}
	d := decoder{b: b, limit: limit}
	v, err := d.value(t, 0)
	if err != nil {
		return Value{}, 0, fmt.Errorf("%w at byte %d: %w", errThrift, d.pos, err)
	}
	return v, d.pos, nil
}

type decoder struct {
	b     []byte
	pos   int
	limit int
	skip  bool // checking a Raw value: nothing is kept
}

// raw checks a container of type t and returns it undecoded.
func (d *decoder) raw(t byte, depth int) (Value, error) {
	start, limit := d.pos, d.limit
	d.limit, d.skip = maxDepth+2, true
	_, err := d.value(t, depth)
	d.limit, d.skip = limit, false
	return Value{Type: t, Raw: d.b[start:d.pos:d.pos]}, err
}

func (d *decoder) byte() (byte, error) {
	if d.pos >= len(d.b) {
		return 0, errors.New("unexpected end")
	}
	c := d.b[d.pos]
	d.pos++
	return c, nil
}

func (d *decoder) uvarint() (uint64, error) {
	n, k := binary.Uvarint(d.b[d.pos:])
	if k <= 0 {
		return 0, errors.New("bad varint")
	}
	d.pos += k
	return n, nil
}

func (d *decoder) varint() (int64, error) {
	u, err := d.uvarint()
	return int64(u>>1) ^ -int64(u&1), err
}

// count reads a length that must not exceed the bytes left (every element
// takes at least one byte, bools in containers included).
func (d *decoder) count(n uint64) (int, error) {
	if n > uint64(len(d.b)-d.pos) {
		return 0, fmt.Errorf("length %d past the end", n)
	}
	return int(n), nil
}

func (d *decoder) value(t byte, depth int) (Value, error) {
	if depth > maxDepth {
		return Value{}, errors.New("nested too deep")
	}
	if depth >= d.limit && t >= TypeList && t <= TypeStruct {
		return d.raw(t, depth)
	}
	switch t {
	case TypeTrue, TypeFalse:
		// inside containers a bool is a byte of its own: 1 is true
		c, err := d.byte()
		return Value{Type: TypeTrue, Int: int64(b2i(c == TypeTrue))}, err
	case TypeI8:
		c, err := d.byte()
		return Value{Type: t, Int: int64(int8(c))}, err
	case TypeI16, TypeI32, TypeI64:
		n, err := d.varint()
		return Value{Type: t, Int: n}, err
	case TypeDouble:
		if len(d.b)-d.pos < 8 {
			return Value{}, errors.New("unexpected end")
		}
		f := math.Float64frombits(binary.LittleEndian.Uint64(d.b[d.pos:]))
		d.pos += 8
		return Value{Type: t, Double: f}, nil
	case TypeBinary:
		return d.binary()
	case TypeList, TypeSet:
		return d.list(t, depth)
	case TypeMap:
		return d.dict(depth)
	case TypeStruct:
		return d.strct(depth)
	}
	return Value{}, fmt.Errorf("unknown type %d", t)
}

func (d *decoder) keep(vs []Value, v Value) []Value {
	if d.skip {
		return vs
	}
	return append(vs, v)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (d *decoder) binary() (Value, error) {
	u, err := d.uvarint()
	if err != nil {
		return Value{}, err
	}
	n, err := d.count(u)
	if err != nil {
		return Value{}, err
	}
	v := Value{Type: TypeBinary, Bin: d.b[d.pos : d.pos+n : d.pos+n]}
	d.pos += n
	return v, nil
}

func (d *decoder) list(t byte, depth int) (Value, error) {
	h, err := d.byte()
	if err != nil {
		return Value{}, err
	}
	size := uint64(h >> 4)
	if size == 15 {
		if size, err = d.uvarint(); err != nil {
			return Value{}, err
		}
	}
	n, err := d.count(size)
	if err != nil {
		return Value{}, err
	}
	v := Value{Type: t, ElemType: h & 0x0f}
	if !d.skip {
		v.Elems = make([]Value, 0, n)
	}
	for range n {
		e, err := d.value(v.ElemType, depth+1)
		if err != nil {
			return Value{}, err
		}
		v.Elems = d.keep(v.Elems, e)
	}
	return v, nil
}

func (d *decoder) dict(depth int) (Value, error) {
	u, err := d.uvarint()
	if err != nil {
		return Value{}, err
	}
	n, err := d.count(u)
	if err != nil || n == 0 {
		return Value{Type: TypeMap}, err
	}
	kv, err := d.byte()
	if err != nil {
		return Value{}, err
	}
	v := Value{Type: TypeMap, KeyType: kv >> 4, ElemType: kv & 0x0f}
	for range n {
		k, err := d.value(v.KeyType, depth+1)
		if err != nil {
			return Value{}, err
		}
		e, err := d.value(v.ElemType, depth+1)
		if err != nil {
			return Value{}, err
		}
		v.Elems = d.keep(d.keep(v.Elems, k), e)
	}
	return v, nil
}

func (d *decoder) strct(depth int) (Value, error) {
	v := Value{Type: TypeStruct}
	var last int16
	for {
		h, err := d.byte()
		if err != nil {
			return Value{}, err
		}
		if h == TypeStop {
			return v, nil
		}
		id, t := last+int16(h>>4), h&0x0f
		if h>>4 == 0 {
			n, err := d.varint()
			if err != nil {
				return Value{}, err
			}
			if n < math.MinInt16 || n > math.MaxInt16 {
				return Value{}, fmt.Errorf("field id %d out of range", n)
			}
			id = int16(n)
		}
		f, err := d.field(t, depth)
		if err != nil {
			return Value{}, fmt.Errorf("field %d: %w", id, err)
		}
		if !d.skip {
			v.put(id, f)
		}
		last = id
	}
}

// put keeps a decoded field. A field id met again replaces the earlier
// value in its place, as a generated Thrift reader (arrow-go's) assigns
// each occurrence in turn: the last one is what readers see, and the
// only one the repairs look at and encode again.
func (v *Value) put(id int16, f Value) {
	if old := v.Get(id); old != nil {
		*old = f
		return
	}
	v.Fields = append(v.Fields, Field{ID: id, Value: f})
}

// field reads a struct field's value; a bool field's value is in its
// header's type.
func (d *decoder) field(t byte, depth int) (Value, error) {
	switch t {
	case TypeTrue:
		return Value{Type: TypeTrue, Int: 1}, nil
	case TypeFalse:
		return Value{Type: TypeTrue, Int: 0}, nil
	}
	return d.value(t, depth+1)
}

// Encode appends the compact encoding of the struct v to b.
func (v Value) Encode(b []byte) []byte {
	return v.encode(b)
}

func (v Value) encodeStruct(b []byte) []byte {
	var last int16
	for _, f := range v.Fields {
		t := f.Type
		if t == TypeTrue && f.Int == 0 {
			t = TypeFalse
		}
		if delta := int(f.ID) - int(last); delta > 0 && delta <= 15 {
			b = append(b, byte(delta)<<4|t)
		} else {
			b = append(b, t)
			b = binary.AppendUvarint(b, zigzag(int64(f.ID)))
		}
		if f.Type != TypeTrue {
			b = f.encode(b)
		}
		last = f.ID
	}
	return append(b, TypeStop)
}

func zigzag(n int64) uint64 { return uint64(n<<1) ^ uint64(n>>63) }

func (v Value) encode(b []byte) []byte {
	if v.Raw != nil {
		return append(b, v.Raw...)
	}
	switch v.Type {
	case TypeTrue, TypeFalse:
		if v.Int != 0 {
			return append(b, TypeTrue)
		}
		return append(b, TypeFalse)
	case TypeI8:
		return append(b, byte(int8(v.Int)))
	case TypeI16, TypeI32, TypeI64:
		return binary.AppendUvarint(b, zigzag(v.Int))
	case TypeDouble:
		return binary.LittleEndian.AppendUint64(b, math.Float64bits(v.Double))
	case TypeBinary:
		return append(binary.AppendUvarint(b, uint64(len(v.Bin))), v.Bin...)
	case TypeList, TypeSet:
		return v.encodeList(b)
	case TypeMap:
		return v.encodeMap(b)
	}
	return v.encodeStruct(b)
}

func (v Value) encodeList(b []byte) []byte {
	if n := len(v.Elems); n < 15 {
		b = append(b, byte(n)<<4|v.ElemType)
	} else {
		b = binary.AppendUvarint(append(b, 0xf0|v.ElemType), uint64(n))
	}
	for _, e := range v.Elems {
		b = e.encode(b)
	}
	return b
}

func (v Value) encodeMap(b []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v.Elems)/2))
	if len(v.Elems) == 0 {
		return b
	}
	b = append(b, v.KeyType<<4|v.ElemType)
	for _, e := range v.Elems {
		b = e.encode(b)
	}
	return b
}
