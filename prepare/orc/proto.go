// Package orc reads Apache ORC files (the ORC v1 specification, file
// versions 0.11 and 0.12), stripe by stripe. It is written from the
// specification (../shared/reference/orc/ORCv1.md), with no dependency on
// a protobuf library: the few messages of the file tail are decoded by a
// small, bounded wire reader.
package orc

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrCorrupt is wrapped by every error about an ORC file's bytes.
var ErrCorrupt = errors.New("corrupt ORC file")

// Protobuf wire types.
const (
	wireVarint = 0
	wire64     = 1
	wireBytes  = 2
	wire32     = 5
)

// msg walks one protobuf message's fields. Every length is checked against
// the bytes left: a hostile tail cannot make it allocate or loop.
type msg struct {
	b   []byte
	err error
}

// field is one decoded field: its number and wire type, and its value
// (v for varints and fixed-width values, data for length-delimited ones).
type field struct {
	num  int
	wire int
	v    uint64
	data []byte
}

// next returns the next field; ok false at the end or on an error (m.err).
func (m *msg) next() (field, bool) {
	if m.err != nil || len(m.b) == 0 {
		return field{}, false
	}
	key, n := binary.Uvarint(m.b)
	if n <= 0 {
		return m.fail("bad field key")
	}
	m.b = m.b[n:]
	f := field{num: int(key >> 3), wire: int(key & 7)}
	if f.num == 0 {
		return m.fail("field number 0")
	}
	switch f.wire {
	case wireVarint:
		v, n := binary.Uvarint(m.b)
		if n <= 0 {
			return m.fail("bad varint")
		}
		f.v, m.b = v, m.b[n:]
	case wire64:
		if len(m.b) < 8 {
			return m.fail("fixed64 past the end")
		}
		f.v, m.b = binary.LittleEndian.Uint64(m.b), m.b[8:]
	case wire32:
		if len(m.b) < 4 {
			return m.fail("fixed32 past the end")
		}
		f.v, m.b = uint64(binary.LittleEndian.Uint32(m.b)), m.b[4:]
	case wireBytes:
		l, n := binary.Uvarint(m.b)
		if n <= 0 || l > uint64(len(m.b)-n) {
			return m.fail("length past the end")
		}
		f.data, m.b = m.b[n:n+int(l)], m.b[n+int(l):]
	default:
		return m.fail(fmt.Sprintf("wire type %d", f.wire))
	}
	return f, true
}

func (m *msg) fail(why string) (field, bool) {
	m.err = fmt.Errorf("%w: protobuf: %s", ErrCorrupt, why)
	return field{}, false
}

// uints appends a repeated uint field's values: packed (one
// length-delimited run of varints) or not.
func (f field) uints(out []uint64) ([]uint64, error) {
	if f.wire == wireVarint {
		return append(out, f.v), nil
	}
	if f.wire != wireBytes {
		return out, fmt.Errorf("%w: protobuf: field %d: want varints", ErrCorrupt, f.num)
	}
	for b := f.data; len(b) > 0; {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return out, fmt.Errorf("%w: protobuf: field %d: bad packed varint", ErrCorrupt, f.num)
		}
		out, b = append(out, v), b[n:]
	}
	return out, nil
}
