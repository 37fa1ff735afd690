package pqcompat

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Field ids of parquet.thrift that the repairs touch.
const (
	fmdSchema    = 2 // FileMetaData.schema
	fmdNumRows   = 3 // FileMetaData.num_rows
	fmdRowGroups = 4 // FileMetaData.row_groups
	rgNumRows    = 3 // RowGroup.num_rows

	seRepetition  = 3  // SchemaElement.repetition_type
	seName        = 4  // SchemaElement.name
	seNumChildren = 5  // SchemaElement.num_children
	seConverted   = 6  // SchemaElement.converted_type
	seFieldID     = 9  // SchemaElement.field_id
	seLogical     = 10 // SchemaElement.logicalType

	logicalString = 1  // LogicalType.STRING
	logicalMap    = 2  // LogicalType.MAP
	logicalList   = 3  // LogicalType.LIST
	logicalEnum   = 4  // LogicalType.ENUM
	logicalJSON   = 12 // LogicalType.JSON

	convertedMap         = 1                 // ConvertedType MAP
	convertedMapKeyValue = 2                 // ConvertedType MAP_KEY_VALUE
	convertedList        = 3                 // ConvertedType LIST
	convertedUTF8        = 0                 // ConvertedType UTF8
	convertedEnum        = 4                 // ConvertedType ENUM
	convertedJSON        = 19                // ConvertedType JSON
	convertedInterval    = 21                // ConvertedType INTERVAL
	typeFixedLen         = 7                 // Type FIXED_LEN_BYTE_ARRAY
	seType               = 1                 // SchemaElement.type
	seTypeLength         = 2                 // SchemaElement.type_length
	convertedLast        = convertedInterval // the last one defined

	repOptional = 1
	repRepeated = 2
)

// knownLogical are the LogicalType union members arrow-go reads (9 was
// never assigned).
var knownLogical = map[int16]bool{1: true, 2: true, 3: true, 4: true, 5: true, 6: true, 7: true,
	8: true, 10: true, 11: true, 12: true, 13: true, 14: true, 15: true, 16: true, 17: true, 18: true}

// ErrNotParquet is wrapped by Open's errors: the bytes do not end in a
// Parquet footer.
var ErrNotParquet = errors.New("not a Parquet file")

// Repairs says what Open changed in a file's footer so that arrow-go reads
// it the way the Parquet specification's compatibility rules ask.
type Repairs struct {
	// UnknownTypes are the columns whose logical or converted type no
	// reader here knows; they are read as their physical type, as the
	// specification asks of old readers.
	UnknownTypes []string
	// NumRows is set when the file's row count disagreed with the sum of
	// its row groups' (some writers left it 0); the row groups' is used.
	NumRows bool
	// MapsAsLists are the dotted paths of MAP columns whose key field is
	// optional (the specification says required; Presto, Trino and Athena
	// wrote optional ones for years), which arrow-go refuses. They are
	// annotated LIST instead, so they read as lists of key-value structs,
	// and carry the field id MapFieldID, so that a reader can tell them
	// and turn them back into maps (a null key is then an error).
	MapsAsLists []string
	// Text are the dotted paths of ENUM and JSON columns, which the
	// specification defines as UTF-8 text and arrow-go reads as bytes:
	// they are annotated STRING instead, and read as strings.
	Text []string
	// Intervals are the dotted paths of INTERVAL columns (months, days and
	// milliseconds, three little-endian uint32 in 12 bytes), which arrow-go
	// reads as plain bytes. They carry the field id IntervalFieldID, so a
	// reader can tell them.
	Intervals []string
	// NestedLists are the dotted paths of two-level lists of lists
	// (LIST<LIST<…>> whose outer repeated group, named "array" or
	// "<name>_tuple", is itself a LIST): by the specification's rules its
	// element is that inner list, where arrow-go read a struct of it. The
	// repeated group is renamed "list" (a name no reader shows), which
	// arrow-go reads as the specification says.
	NestedLists []string
}

// MapFieldID is the field id Open gives a MAP it annotated LIST (see
// Repairs.MapsAsLists): arrow-go puts it in the Arrow field's metadata
// (under "PARQUET:field_id"). Its own field id is lost, which is no loss
// to a reader that ignores foreign field ids.
const MapFieldID = -0x4c41474f

// IntervalFieldID is the field id Open gives an INTERVAL column (see
// Repairs.Intervals), as MapFieldID is a map's.
const IntervalFieldID = MapFieldID + 1

// Changed reports whether any repair was made.
func (r Repairs) Changed() bool {
	return len(r.UnknownTypes) > 0 || r.NumRows || len(r.MapsAsLists) > 0 || len(r.NestedLists) > 0 || len(r.Text) > 0 || len(r.Intervals) > 0
}

// File is a Parquet file as arrow-go should read it: the original bytes,
// with the footer (served from memory) repaired where needed.
type File struct {
	r       io.ReaderAt
	body    int64  // bytes of the original before its footer
	footer  []byte // the (repaired) footer, its length and magic
	off     int64  // for Read and Seek
	Repairs Repairs
}

// Open reads the footer of the Parquet file r (size bytes) and returns the
// file with its footer repaired (see Repairs). An encrypted footer is left
// as it is.
func Open(r io.ReaderAt, size int64) (*File, error) {
	if size < 12 {
		return nil, fmt.Errorf("%w: %d bytes", ErrNotParquet, size)
	}
	tail := make([]byte, 8)
	if _, err := r.ReadAt(tail, size-8); err != nil {
		return nil, fmt.Errorf("read footer: %w", err)
	}
	magic, n := string(tail[4:]), int64(binary.LittleEndian.Uint32(tail))
	if (magic != "PAR1" && magic != "PARE") || n > size-12 {
		return nil, fmt.Errorf("%w: no footer", ErrNotParquet)
	}
	meta := make([]byte, n)
	if _, err := r.ReadAt(meta, size-8-n); err != nil {
		return nil, fmt.Errorf("read footer: %w", err)
	}
	f := &File{r: r, body: size - 8 - n, footer: append(meta, tail...)}
	if magic == "PAR1" {
		f.repair(meta)
	}
	return f, nil
}

// repair rewrites the footer if it needs it. A footer that cannot be
// decoded is left for the Parquet reader to reject.
func (f *File) repair(meta []byte) {
	fmd, _, err := DecodeStruct(meta, 1)
	if err != nil {
		return
	}
	changed := f.repairSchema(&fmd)
	if f.repairRows(&fmd) {
		changed = true
	}
	if !changed {
		return
	}
	out := fmd.Encode(nil)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(out)))
	f.footer = append(out, "PAR1"...)
}

// repairSchema applies the schema repairs; it reports whether it changed
// anything.
func (f *File) repairSchema(fmd *Value) bool {
	raw := fmd.Get(fmdSchema)
	if raw == nil || raw.Raw == nil {
		return false
	}
	schema, _, err := Decode(TypeList, raw.Raw, 0)
	if err != nil || schema.ElemType != TypeStruct {
		return false
	}
	w := schemaWalk{elems: schema.Elems, rep: &f.Repairs}
	w.node(nil)
	if !w.changed {
		return false
	}
	*raw = schema
	return true
}

// repairRows sets the file's row count to its row groups' sum when they
// disagree.
func (f *File) repairRows(fmd *Value) bool {
	sum, ok := rowGroupRows(fmd.Get(fmdRowGroups))
	n := fmd.Get(fmdNumRows)
	if !ok || n == nil || n.Int == sum {
		return false
	}
	*n = I64(sum)
	f.Repairs.NumRows = true
	return true
}

func rowGroupRows(raw *Value) (int64, bool) {
	if raw == nil || raw.Raw == nil {
		return 0, false
	}
	groups, _, err := Decode(TypeList, raw.Raw, 2)
	if err != nil {
		return 0, false
	}
	var sum int64
	for _, g := range groups.Elems {
		n := g.Get(rgNumRows)
		if n == nil || n.Int < 0 || sum+n.Int < sum {
			return 0, false
		}
		sum += n.Int
	}
	return sum, true
}

// schemaWalk visits the flattened schema tree depth first.
type schemaWalk struct {
	elems   []Value
	next    int
	rep     *Repairs
	changed bool
}

// node visits the element at w.next and its children; path holds the
// names of its ancestors (the root's left out).
func (w *schemaWalk) node(path []string) {
	if w.next >= len(w.elems) {
		return
	}
	i := w.next
	e := &w.elems[i]
	w.next++
	name := ""
	if v := e.Get(seName); v != nil {
		name = string(v.Bin)
	}
	if i > 0 {
		path = append(path, name)
	}
	w.dropUnknown(e, path)
	if asText(e) {
		w.rep.Text = append(w.rep.Text, strings.Join(path, "."))
		w.changed = true
	}
	if markInterval(e) {
		w.rep.Intervals = append(w.rep.Intervals, strings.Join(path, "."))
		w.changed = true
	}
	children := 0
	if v := e.Get(seNumChildren); v != nil && v.Int > 0 {
		children = int(min(v.Int, int64(len(w.elems))))
	}
	first := w.next
	for range children {
		if w.next >= len(w.elems) {
			return // a count past the schema's end: arrow-go refuses it, nothing to repair
		}
		w.node(path)
	}
	if children > 0 && w.optionalMapKey(e, first) {
		w.rep.MapsAsLists = append(w.rep.MapsAsLists, strings.Join(path, "."))
		w.changed = true
	}
	if children == 1 && w.nestedList(e, name, first) {
		w.rep.NestedLists = append(w.rep.NestedLists, strings.Join(path, "."))
		w.changed = true
	}
}

// nestedList renames the repeated group of a two-level list of lists (see
// Repairs.NestedLists).
func (w *schemaWalk) nestedList(e *Value, name string, first int) bool {
	rep := &w.elems[first]
	if !isList(e) || !isList(rep) || repetition(rep) != repRepeated || numChildren(rep) != 1 {
		return false
	}
	if n := rep.Get(seName); n == nil || (string(n.Bin) != "array" && string(n.Bin) != name+"_tuple") {
		return false
	}
	rep.Set(seName, Binary([]byte("list")))
	return true
}

func isList(e *Value) bool {
	if ct := e.Get(seConverted); ct != nil && ct.Int == convertedList {
		return true
	}
	lt := e.Get(seLogical)
	return lt != nil && lt.Get(logicalList) != nil
}

// dropUnknown removes a logical or converted type no reader knows.
func (w *schemaWalk) dropUnknown(e *Value, path []string) {
	unknown := false
	if lt := e.Get(seLogical); lt != nil && !isKnownLogical(lt) {
		e.Drop(seLogical)
		unknown = true
	}
	if ct := e.Get(seConverted); ct != nil && (ct.Int < 0 || ct.Int > convertedLast) {
		e.Drop(seConverted)
		unknown = true
	}
	if unknown {
		w.rep.UnknownTypes = append(w.rep.UnknownTypes, strings.Join(path, "."))
		w.changed = true
	}
}

// asText annotates an ENUM or JSON column STRING (see Repairs.Text).
func asText(e *Value) bool {
	ct, lt := e.Get(seConverted), e.Get(seLogical)
	text := ct != nil && (ct.Int == convertedEnum || ct.Int == convertedJSON) ||
		lt != nil && (lt.Get(logicalEnum) != nil || lt.Get(logicalJSON) != nil)
	if !text {
		return false
	}
	e.Set(seConverted, I32(convertedUTF8))
	e.Set(seLogical, Struct(Field{ID: logicalString, Value: Struct()}))
	return true
}

// markInterval gives an INTERVAL column IntervalFieldID.
func markInterval(e *Value) bool {
	ct, t, n := e.Get(seConverted), e.Get(seType), e.Get(seTypeLength)
	if ct == nil || ct.Int != convertedInterval || t == nil || t.Int != typeFixedLen || n == nil || n.Int != 12 {
		return false
	}
	e.Set(seFieldID, I32(IntervalFieldID))
	return true
}

func isKnownLogical(lt *Value) bool {
	if lt.Type != TypeStruct || len(lt.Fields) != 1 {
		return false
	}
	return knownLogical[lt.Fields[0].ID]
}

// optionalMapKey strips the MAP annotation of e (whose first child is at
// w.elems[first]) when its key-value group's key is optional.
func (w *schemaWalk) optionalMapKey(e *Value, first int) bool {
	if !isMap(e) || first+1 >= len(w.elems) {
		return false
	}
	kv, key := &w.elems[first], &w.elems[first+1]
	if repetition(kv) != repRepeated || numChildren(kv) != 2 || repetition(key) != repOptional {
		return false
	}
	e.Set(seConverted, I32(convertedList))
	if e.Get(seLogical) != nil {
		e.Set(seLogical, Struct(Field{ID: logicalList, Value: Struct()}))
	}
	e.Set(seFieldID, I32(MapFieldID))
	kv.Drop(seConverted)
	kv.Drop(seLogical)
	return true
}

func isMap(e *Value) bool {
	if ct := e.Get(seConverted); ct != nil && (ct.Int == convertedMap || ct.Int == convertedMapKeyValue) {
		return true
	}
	lt := e.Get(seLogical)
	return lt != nil && lt.Get(logicalMap) != nil
}

func repetition(e *Value) int64 {
	if v := e.Get(seRepetition); v != nil {
		return v.Int
	}
	return -1
}

func numChildren(e *Value) int64 {
	if v := e.Get(seNumChildren); v != nil {
		return v.Int
	}
	return 0
}

// Size is the size of the file as repaired.
func (f *File) Size() int64 { return f.body + int64(len(f.footer)) }

// ReadAt reads the original bytes before the footer and the repaired
// footer after them.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("pqcompat: negative offset")
	}
	n := 0
	if off < f.body {
		k := int(min(int64(len(p)), f.body-off))
		m, err := f.r.ReadAt(p[:k], off)
		n += m
		if err != nil && !(errors.Is(err, io.EOF) && m == k) {
			return n, err
		}
		p, off = p[k:], off+int64(k)
	}
	if len(p) == 0 {
		return n, nil
	}
	fo := off - f.body
	if fo >= int64(len(f.footer)) {
		return n, io.EOF
	}
	m := copy(p, f.footer[fo:])
	n += m
	if m < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Read and Seek make the file an io.ReadSeeker over its repaired bytes.
func (f *File) Read(p []byte) (int, error) {
	n, err := f.ReadAt(p, f.off)
	f.off += int64(n)
	return n, err
}

func (f *File) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += f.off
	case io.SeekEnd:
		offset += f.Size()
	}
	if offset < 0 {
		return 0, errors.New("pqcompat: negative position")
	}
	f.off = offset
	return offset, nil
}
