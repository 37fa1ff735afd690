package loader

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/parquet/metadata"
)

// arrowSchemaKey is the footer key under which Arrow writers store their
// schema: an IPC schema message (a flatbuffer), base64.
const arrowSchemaKey = "ARROW:schema"

// errBadArrowSchema classifies footers whose stored Arrow schema does not
// hold together.
var errBadArrowSchema = errors.New("corrupt Arrow schema in the Parquet footer (" + arrowSchemaKey + ")")

// checkFooter checks what arrow-go would trust in a Parquet footer before
// it reads the file: the stored Arrow schema and the column chunks' places.
func checkFooter(meta *metadata.FileMetaData, size int64) error {
	if err := checkArrowSchema(meta.KeyValueMetadata()); err != nil {
		return err
	}
	return checkChunks(meta, size)
}

// checkArrowSchema bounds-checks the Arrow schema a Parquet footer
// carries before arrow-go reads it. arrow-go trusts the flatbuffer's
// counts and lengths: a corrupt one makes it allocate without bound — a
// fatal out-of-memory that no recover catches, so one file would take the
// process down. Every offset, vector and string of the message (the
// schema's fields, their children, types and metadata) must lie within
// its bytes; no allocation depends on the file's word.
func checkArrowSchema(kv metadata.KeyValueMetadata) error {
	v := kv.FindValue(arrowSchemaKey)
	if v == nil {
		return nil
	}
	raw, err := decodeBase64(*v)
	if err != nil {
		return fmt.Errorf("%w: %v", errBadArrowSchema, err)
	}
	msg, rest, err := ipcMessage(raw)
	if err != nil {
		return fmt.Errorf("%w: %v", errBadArrowSchema, err)
	}
	fb := flatbuf{b: msg}
	if err := fb.message(len(rest)); err != nil {
		return fmt.Errorf("%w: %v", errBadArrowSchema, err)
	}
	return nil
}

// decodeBase64 decodes as arrow-go does: padded, else unpadded.
func decodeBase64(s string) ([]byte, error) {
	if len(s)%4 == 0 {
		if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) > 0 {
			return b, nil
		}
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// ipcMessage splits an IPC message into its flatbuffer and what follows:
// [0xFFFFFFFF] length flatbuffer… (the older form has no marker).
func ipcMessage(b []byte) (msg, rest []byte, err error) {
	if len(b) >= 4 && binary.LittleEndian.Uint32(b) == 0xFFFFFFFF {
		b = b[4:]
	}
	if len(b) < 4 {
		return nil, nil, errors.New("no message length")
	}
	n := binary.LittleEndian.Uint32(b)
	if n < 4 || uint64(n) > uint64(len(b)-4) {
		return nil, nil, fmt.Errorf("message length %d, %d bytes there", n, len(b)-4)
	}
	return b[4 : 4+n], b[4+n:], nil
}

// flatbuf reads a flatbuffer with every access bounds-checked.
type flatbuf struct{ b []byte }

// maxNesting bounds the depth of nested fields taken.
const maxNesting = 512

func (f flatbuf) in(p, n int) error {
	if p < 0 || n < 0 || p > len(f.b)-n {
		return fmt.Errorf("offset %d+%d outside the %d bytes", p, n, len(f.b))
	}
	return nil
}

func (f flatbuf) u32(p int) (int, error) {
	if err := f.in(p, 4); err != nil {
		return 0, err
	}
	return int(binary.LittleEndian.Uint32(f.b[p:])), nil
}

// fbTable is a table's position and its vtable's.
type fbTable struct{ pos, vt, vtLen int }

// tableAt reads the table at pos.
func (f flatbuf) tableAt(pos int) (fbTable, error) {
	if err := f.in(pos, 4); err != nil {
		return fbTable{}, err
	}
	vt := pos - int(int32(binary.LittleEndian.Uint32(f.b[pos:])))
	if err := f.in(vt, 4); err != nil {
		return fbTable{}, err
	}
	vtLen := int(binary.LittleEndian.Uint16(f.b[vt:]))
	if vtLen < 4 || f.in(vt, vtLen) != nil {
		return fbTable{}, fmt.Errorf("vtable of %d bytes at %d", vtLen, vt)
	}
	return fbTable{pos: pos, vt: vt, vtLen: vtLen}, nil
}

// field returns where slot i of t is (0: absent).
func (f flatbuf) field(t fbTable, i int) int {
	if 4+2*i+2 > t.vtLen {
		return 0
	}
	off := int(binary.LittleEndian.Uint16(f.b[t.vt+4+2*i:]))
	if off == 0 {
		return 0
	}
	return t.pos + off
}

// ref follows the offset in slot i of t (0: absent).
func (f flatbuf) ref(t fbTable, i int) (int, error) {
	p := f.field(t, i)
	if p == 0 {
		return 0, nil
	}
	u, err := f.u32(p)
	if err != nil {
		return 0, err
	}
	if u == 0 {
		return 0, fmt.Errorf("null offset at %d", p)
	}
	return p + u, f.in(p+u, 0)
}

// vector checks the vector in slot i of t, of elements of size elem, and
// returns its first element's position and its length.
func (f flatbuf) vector(t fbTable, i, elem int) (start, n int, err error) {
	p, err := f.ref(t, i)
	if err != nil || p == 0 {
		return 0, 0, err
	}
	if n, err = f.u32(p); err != nil {
		return 0, 0, err
	}
	if n > (len(f.b)-p-4)/elem {
		return 0, 0, fmt.Errorf("a vector of %d elements at %d, in %d bytes", n, p, len(f.b))
	}
	return p + 4, n, nil
}

// tables checks the vector of tables in slot i of t, each with check.
func (f flatbuf) tables(t fbTable, i int, check func(fbTable) error) error {
	start, n, err := f.vector(t, i, 4)
	for k := 0; err == nil && k < n; k++ {
		var u int
		if u, err = f.u32(start + 4*k); err == nil {
			var sub fbTable
			if sub, err = f.tableAt(start + 4*k + u); err == nil {
				err = check(sub)
			}
		}
	}
	return err
}

// strings checks the strings (byte vectors) in the given slots of t.
func (f flatbuf) strings(t fbTable, slots ...int) error {
	for _, i := range slots {
		if _, _, err := f.vector(t, i, 1); err != nil {
			return err
		}
	}
	return nil
}

// message checks a Message whose header is a Schema; body is how many
// bytes follow the flatbuffer (the body length may not claim more).
func (f flatbuf) message(body int) error {
	root, err := f.u32(0)
	if err != nil {
		return err
	}
	m, err := f.tableAt(root)
	if err != nil {
		return err
	}
	if p := f.field(m, 3); p != 0 { // bodyLength
		if err := f.in(p, 8); err != nil {
			return err
		}
		if n := binary.LittleEndian.Uint64(f.b[p:]); n > uint64(body) {
			return fmt.Errorf("a body of %d bytes claimed, %d there", n, body)
		}
	}
	if err := f.tables(m, 4, f.keyValue); err != nil { // custom_metadata
		return err
	}
	p, err := f.ref(m, 2) // header
	if err != nil || p == 0 {
		return err
	}
	s, err := f.tableAt(p)
	if err != nil {
		return err
	}
	if _, _, err := f.vector(s, 3, 8); err != nil { // features
		return err
	}
	if err := f.tables(s, 2, f.keyValue); err != nil { // custom_metadata
		return err
	}
	return f.tables(s, 1, func(t fbTable) error { return f.arrowField(t, 1) }) // fields
}

func (f flatbuf) keyValue(t fbTable) error { return f.strings(t, 0, 1) }

// Arrow type tables with more than scalars: Timestamp (a zone string) and
// Union (a vector of type ids), by their Type union tag.
const (
	typeTimestamp = 10
	typeUnion     = 14
)

// arrowField checks a Field: its name, type, dictionary, metadata and
// children, depth levels down.
func (f flatbuf) arrowField(t fbTable, depth int) error {
	if depth > maxNesting {
		return fmt.Errorf("fields nested deeper than %d", maxNesting)
	}
	if err := f.strings(t, 0); err != nil { // name
		return err
	}
	if err := f.fieldType(t); err != nil {
		return err
	}
	if err := f.dictionary(t); err != nil {
		return err
	}
	if err := f.tables(t, 6, f.keyValue); err != nil { // custom_metadata
		return err
	}
	return f.tables(t, 5, func(c fbTable) error { return f.arrowField(c, depth+1) }) // children
}

// dictionary checks a Field's DictionaryEncoding (slot 4) and its index
// type (slot 1 of that).
func (f flatbuf) dictionary(t fbTable) error {
	p, err := f.ref(t, 4)
	if err != nil || p == 0 {
		return err
	}
	d, err := f.tableAt(p)
	if err != nil {
		return err
	}
	q, err := f.ref(d, 1)
	if err != nil || q == 0 {
		return err
	}
	_, err = f.tableAt(q)
	return err
}

// fieldType checks a Field's type table (slot 2: its tag, 3: the table).
func (f flatbuf) fieldType(t fbTable) error {
	p, err := f.ref(t, 3)
	if err != nil || p == 0 {
		return err
	}
	ty, err := f.tableAt(p)
	if err != nil {
		return err
	}
	tag := 0
	if q := f.field(t, 2); q != 0 {
		if err := f.in(q, 1); err != nil {
			return err
		}
		tag = int(f.b[q])
	}
	switch tag {
	case typeTimestamp:
		return f.strings(ty, 1)
	case typeUnion:
		_, _, err := f.vector(ty, 1, 4)
		return err
	}
	return nil
}

// checkChunks checks that every column chunk the footer names lies within
// the file (size bytes). arrow-go allocates a chunk's length before
// reading it, on goroutines of its own: a negative length panics where no
// recover reaches, a huge one exhausts memory — either takes the process
// down.
func checkChunks(meta *metadata.FileMetaData, size int64) error {
	for i := range meta.NumRowGroups() {
		rg := meta.RowGroup(i)
		for j := range rg.NumColumns() {
			cc, err := rg.ColumnChunk(j)
			if err != nil {
				return err
			}
			start, n := cc.DataPageOffset(), cc.TotalCompressedSize()
			if cc.HasDictionaryPage() && cc.DictionaryPageOffset() > 0 && cc.DictionaryPageOffset() < start {
				start = cc.DictionaryPageOffset()
			}
			if start < 0 || n < 0 || start > size || n > size-start {
				return fmt.Errorf("row group %d, column %d: %d bytes at offset %d, outside the file's %d bytes", i, j, n, start, size)
			}
		}
	}
	return nil
}
