// Package pqcraft writes Parquet files by hand, page by page, for tests:
// layouts that no writer at hand produces — legacy lists and maps,
// records straddling pages, unknown logical types, old codecs, a footer
// that lies. The caller gives the schema tree and, per leaf column, its
// pages' levels and values; pqcraft encodes them as the Parquet
// specification says (PLAIN values, RLE levels, thrift compact footer).
package pqcraft

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"

	"github.com/apache/arrow-go/v18/parquet/compress"

	"github.com/lagoon-dev/lagoon/pqcompat"
)

// Physical types (parquet.thrift Type).
const (
	Boolean   = 0
	Int32     = 1
	Int64     = 2
	Float     = 4
	Double    = 5
	ByteArray = 6
	FixedLen  = 7 // FIXED_LEN_BYTE_ARRAY, of Node.Length bytes
	Group     = -1
)

// Repetitions.
const (
	Required = 0
	Optional = 1
	Repeated = 2
)

// Converted types used by tests (parquet.thrift ConvertedType).
const (
	None        = -1
	UTF8        = 0
	Map         = 1
	MapKeyValue = 2
	List        = 3
)

// Node is one element of the schema tree.
type Node struct {
	Name      string
	Type      int // a physical type, or Group
	Length    int // of a FixedLen value
	Rep       int
	Converted int             // None, or a ConvertedType
	Logical   *pqcompat.Value // a LogicalType union, or nil
	Children  []Node
}

// Leaf and GroupOf build nodes without annotations.
func Leaf(name string, typ, rep int) Node {
	return Node{Name: name, Type: typ, Rep: rep, Converted: None}
}

func GroupOf(name string, rep int, children ...Node) Node {
	return Node{Name: name, Type: Group, Rep: rep, Converted: None, Children: children}
}

// Annotated returns n with a converted type.
func (n Node) Annotated(converted int) Node { n.Converted = converted; return n }

// Page is one data page of a column: its levels (nil where the column's
// maximum level is 0) and its non-null values, which are int32, int64,
// float32, float64, bool or []byte by the column's type.
type Page struct {
	Rep, Def []int
	MaxRep   int
	MaxDef   int
	Values   []any
	V2       bool
	NumRows  int // V2 only
}

// Column is the pages of one leaf column, in schema order.
type Column struct {
	Pages []Page
}

// File is what Write writes.
type File struct {
	Schema  []Node // the root's children
	Columns []Column
	NumRows int64 // the file's (and its one row group's) row count
	// FileRows, when not nil, is the row count the footer claims for the
	// file, against its row group's NumRows.
	FileRows *int64
	Codec    compress.Compression
	// Compress, when set, replaces the codec's encoder (a framing the
	// codec's own encoder does not write).
	Compress func([]byte) []byte
}

// Write encodes f.
func Write(f File) ([]byte, error) {
	leaves := leafPaths(nil, f.Schema)
	if len(leaves) != len(f.Columns) {
		return nil, fmt.Errorf("pqcraft: %d leaves, %d columns", len(leaves), len(f.Columns))
	}
	buf := bytes.NewBufferString("PAR1")
	var chunks []pqcompat.Value
	for i, c := range f.Columns {
		ch, err := f.writeColumn(buf, leaves[i], c)
		if err != nil {
			return nil, err
		}
		chunks = append(chunks, ch)
	}
	meta := f.footer(chunks, buf.Len()-4).Encode(nil)
	buf.Write(meta)
	binary.Write(buf, binary.LittleEndian, uint32(len(meta)))
	buf.WriteString("PAR1")
	return buf.Bytes(), nil
}

type leaf struct {
	path []string
	typ  int
}

func leafPaths(prefix []string, nodes []Node) []leaf {
	var out []leaf
	for _, n := range nodes {
		p := append(append([]string(nil), prefix...), n.Name)
		if n.Type == Group {
			out = append(out, leafPaths(p, n.Children)...)
			continue
		}
		out = append(out, leaf{path: p, typ: n.Type})
	}
	return out
}

func (f File) writeColumn(buf *bytes.Buffer, l leaf, c Column) (pqcompat.Value, error) {
	start := int64(buf.Len())
	var values, raw, stored int64
	for _, p := range c.Pages {
		hdr, body, n, err := f.page(l.typ, p)
		if err != nil {
			return pqcompat.Value{}, fmt.Errorf("column %v: %w", l.path, err)
		}
		h := hdr.Encode(nil)
		buf.Write(h)
		buf.Write(body)
		values += int64(len(p.levelsOrValues()))
		raw += int64(len(h)) + n
		stored += int64(len(h) + len(body))
	}
	var path []pqcompat.Value
	for _, s := range l.path {
		path = append(path, pqcompat.Binary([]byte(s)))
	}
	md := pqcompat.Struct(
		fld(1, pqcompat.I32(int32(l.typ))),
		fld(2, pqcompat.List(pqcompat.TypeI32, pqcompat.I32(0), pqcompat.I32(3))),
		fld(3, pqcompat.List(pqcompat.TypeBinary, path...)),
		fld(4, pqcompat.I32(int32(f.Codec))),
		fld(5, pqcompat.I64(values)),
		fld(6, pqcompat.I64(raw)),
		fld(7, pqcompat.I64(stored)),
		fld(9, pqcompat.I64(start)),
	)
	return pqcompat.Struct(fld(2, pqcompat.I64(start)), fld(3, md)), nil
}

func (p Page) levelsOrValues() []any {
	if p.Def != nil {
		return make([]any, len(p.Def))
	}
	return p.Values
}

func fld(id int16, v pqcompat.Value) pqcompat.Field { return pqcompat.Field{ID: id, Value: v} }

// page returns a page's header and (compressed) body, and its
// uncompressed size.
func (f File) page(typ int, p Page) (pqcompat.Value, []byte, int64, error) {
	vals, err := plain(typ, p.Values)
	if err != nil {
		return pqcompat.Value{}, nil, 0, err
	}
	rep, def := levels(p.Rep, p.MaxRep), levels(p.Def, p.MaxDef)
	n := len(p.levelsOrValues())
	if p.V2 {
		body := append(append(append([]byte(nil), rep...), def...), f.compress(vals)...)
		nulls := n - len(p.Values)
		h := pqcompat.Struct(fld(1, pqcompat.I32(3)), fld(2, pqcompat.I32(int32(len(rep)+len(def)+len(vals)))),
			fld(3, pqcompat.I32(int32(len(body)))),
			fld(8, pqcompat.Struct(fld(1, pqcompat.I32(int32(n))), fld(2, pqcompat.I32(int32(nulls))),
				fld(3, pqcompat.I32(int32(p.NumRows))), fld(4, pqcompat.I32(0)),
				fld(5, pqcompat.I32(int32(len(def)))), fld(6, pqcompat.I32(int32(len(rep)))))))
		return h, body, int64(len(rep) + len(def) + len(vals)), nil
	}
	raw := append(append(prefixed(rep), prefixed(def)...), vals...)
	body := f.compress(raw)
	h := pqcompat.Struct(fld(1, pqcompat.I32(0)), fld(2, pqcompat.I32(int32(len(raw)))),
		fld(3, pqcompat.I32(int32(len(body)))),
		fld(5, pqcompat.Struct(fld(1, pqcompat.I32(int32(n))), fld(2, pqcompat.I32(0)),
			fld(3, pqcompat.I32(3)), fld(4, pqcompat.I32(3)))))
	return h, body, int64(len(raw)), nil
}

func (f File) compress(b []byte) []byte {
	if f.Compress != nil {
		return f.Compress(b)
	}
	if f.Codec == compress.Codecs.Uncompressed {
		return b
	}
	c, err := compress.GetCodec(f.Codec)
	if err != nil {
		panic(err)
	}
	return c.Encode(nil, b)
}

// prefixed is a V1 page's level run: its length, then the runs.
func prefixed(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append(binary.LittleEndian.AppendUint32(nil, uint32(len(b))), b...)
}

// levels encodes levels as RLE runs (nil when max is 0).
func levels(lv []int, max int) []byte {
	if max == 0 || lv == nil {
		return nil
	}
	width := (bits.Len(uint(max)) + 7) / 8
	var out []byte
	for i := 0; i < len(lv); {
		j := i
		for j < len(lv) && lv[j] == lv[i] {
			j++
		}
		out = binary.AppendUvarint(out, uint64(j-i)<<1)
		for k := range width {
			out = append(out, byte(lv[i]>>(8*k)))
		}
		i = j
	}
	return out
}

// plain encodes values with the PLAIN encoding.
func plain(typ int, vals []any) ([]byte, error) {
	var out []byte
	var bitsOut []bool
	for _, v := range vals {
		switch x := v.(type) {
		case int32:
			out = binary.LittleEndian.AppendUint32(out, uint32(x))
		case int64:
			out = binary.LittleEndian.AppendUint64(out, uint64(x))
		case float32:
			out = binary.LittleEndian.AppendUint32(out, math.Float32bits(x))
		case float64:
			out = binary.LittleEndian.AppendUint64(out, math.Float64bits(x))
		case []byte:
			if typ == FixedLen {
				out = append(out, x...)
				continue
			}
			out = append(binary.LittleEndian.AppendUint32(out, uint32(len(x))), x...)
		case string:
			out = append(binary.LittleEndian.AppendUint32(out, uint32(len(x))), x...)
		case bool:
			bitsOut = append(bitsOut, x)
		default:
			return nil, fmt.Errorf("value %v of type %T", v, v)
		}
	}
	if typ == Boolean {
		out = make([]byte, (len(bitsOut)+7)/8)
		for i, b := range bitsOut {
			if b {
				out[i/8] |= 1 << (i % 8)
			}
		}
	}
	return out, nil
}

// footer is the FileMetaData of one row group holding chunks.
func (f File) footer(chunks []pqcompat.Value, size int) pqcompat.Value {
	root := pqcompat.Struct(fld(4, pqcompat.Binary([]byte("schema"))), fld(5, pqcompat.I32(int32(len(f.Schema)))))
	elems := append([]pqcompat.Value{root}, schemaElements(f.Schema)...)
	rg := pqcompat.Struct(fld(1, pqcompat.List(pqcompat.TypeStruct, chunks...)),
		fld(2, pqcompat.I64(int64(size))), fld(3, pqcompat.I64(f.NumRows)))
	rows := f.NumRows
	if f.FileRows != nil {
		rows = *f.FileRows
	}
	return pqcompat.Struct(fld(1, pqcompat.I32(1)),
		fld(2, pqcompat.List(pqcompat.TypeStruct, elems...)),
		fld(3, pqcompat.I64(rows)),
		fld(4, pqcompat.List(pqcompat.TypeStruct, rg)),
		fld(6, pqcompat.Binary([]byte("pqcraft"))))
}

func schemaElements(nodes []Node) []pqcompat.Value {
	var out []pqcompat.Value
	for _, n := range nodes {
		e := pqcompat.Struct(fld(3, pqcompat.I32(int32(n.Rep))), fld(4, pqcompat.Binary([]byte(n.Name))))
		if n.Type != Group {
			e.Set(1, pqcompat.I32(int32(n.Type)))
			if n.Type == FixedLen {
				e.Set(2, pqcompat.I32(int32(n.Length)))
			}
		} else {
			e.Set(5, pqcompat.I32(int32(len(n.Children))))
		}
		if n.Converted != None {
			e.Set(6, pqcompat.I32(int32(n.Converted)))
		}
		if n.Logical != nil {
			e.Set(10, *n.Logical)
		}
		out = append(out, e)
		out = append(out, schemaElements(n.Children)...)
	}
	return out
}
