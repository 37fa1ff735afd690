// Package orccraft writes ORC files for tests: one stripe whose streams
// are given byte for byte (each stream and the tail optionally compressed
// in one chunk), so that tests can build what writers make and what they
// never would; and it opens the corpus's files and reads their expected
// rows.
package orccraft

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"os"
	"testing"

	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"

	"github.com/lagoon-dev/lagoon/prepare/orc"
)

// Column is one type of the file, with its stripe's streams.
type Column struct {
	Kind      orc.Kind
	Subtypes  []uint64
	Names     []string
	Precision uint64
	Scale     uint64
	Encoding  orc.Encoding
	DictSize  uint64
	Streams   []Stream
}

// Stream is one stream of a column, its bytes as stored (before
// compression).
type Stream struct {
	Kind orc.StreamKind
	Data []byte
}

// File is a file of Version (nil: 0.12) with one stripe of Rows rows
// (FooterRows in the footer, when not 0) and writer time zone TZ; its
// types are Cols, in preorder.
type File struct {
	Comp       orc.Compression // each stream and the tail compressed, in one chunk
	Version    []uint64
	Rows       uint64
	FooterRows uint64
	TZ         string
	Cols       []Column
}

// Bytes is the file.
func (c File) Bytes() []byte {
	out := []byte("ORC")
	var sf []byte
	for i, col := range c.Cols {
		for _, st := range col.Streams {
			data := c.compress(st.Data)
			out = append(out, data...)
			sf = pbMsg(sf, 1, pbVarint(pbVarint(pbVarint(nil, 1, uint64(st.Kind)), 2, uint64(i)), 3, uint64(len(data))))
		}
	}
	dataLen := uint64(len(out) - 3)
	for _, col := range c.Cols {
		sf = pbMsg(sf, 2, pbVarint(pbVarint(nil, 1, uint64(col.Encoding)), 2, col.DictSize))
	}
	if c.TZ != "" {
		sf = pbMsg(sf, 3, []byte(c.TZ))
	}
	sf = c.compress(sf)
	out = append(out, sf...)
	stripe := pbVarint(pbVarint(pbVarint(pbVarint(pbVarint(nil, 1, 3), 2, 0), 3, dataLen), 4, uint64(len(sf))), 5, c.Rows)
	footer := pbVarint(pbVarint(nil, 1, 3), 2, dataLen+uint64(len(sf)))
	footer = pbMsg(footer, 3, stripe)
	for _, col := range c.Cols {
		footer = pbMsg(footer, 4, craftType(col))
	}
	footer = c.compress(pbVarint(footer, 6, c.footerRowsOr()))
	out = append(out, footer...)
	version := c.Version
	if version == nil {
		version = []uint64{0, 12}
	}
	ps := pbVarint(pbVarint(pbVarint(nil, 1, uint64(len(footer))), 2, uint64(c.Comp)), 3, 256<<10)
	ps = pbMsg(ps, 4, packed(version))
	ps = pbMsg(ps, 8000, []byte("ORC"))
	out = append(out, ps...)
	return append(out, byte(len(ps)))
}

// compress frames b as one chunk of c.Comp (kept as it is when the codec
// does not make it smaller, as writers do).
func (c File) compress(b []byte) []byte {
	if c.Comp == orc.None || len(b) == 0 {
		return b
	}
	z := compressChunk(c.Comp, b)
	original := uint32(0)
	if z == nil || len(z) >= len(b) {
		z, original = b, 1
	}
	h := uint32(len(z))<<1 | original
	return append([]byte{byte(h), byte(h >> 8), byte(h >> 16)}, z...)
}

func compressChunk(c orc.Compression, b []byte) []byte {
	var buf bytes.Buffer
	switch c {
	case orc.Zlib:
		w, _ := flate.NewWriter(&buf, flate.BestCompression)
		w.Write(b)
		w.Close()
	case orc.Snappy:
		return snappy.Encode(nil, b)
	case orc.Zstd:
		w, _ := zstd.NewWriter(nil)
		defer w.Close()
		return w.EncodeAll(b, nil)
	case orc.Lz4:
		dst := make([]byte, lz4.CompressBlockBound(len(b)))
		n, _ := lz4.CompressBlock(b, dst, nil)
		if n == 0 {
			return nil
		}
		return dst[:n]
	default: // LZO and others: bytes no Go decoder reads
		return append([]byte{0xff}, b[:len(b)/2]...)
	}
	return buf.Bytes()
}

func (c File) footerRowsOr() uint64 {
	if c.FooterRows != 0 {
		return c.FooterRows
	}
	return c.Rows
}

func craftType(col Column) []byte {
	t := pbVarint(nil, 1, uint64(col.Kind))
	if len(col.Subtypes) > 0 {
		t = pbMsg(t, 2, packed(col.Subtypes))
	}
	for _, n := range col.Names {
		t = pbMsg(t, 3, []byte(n))
	}
	if col.Precision > 0 {
		t = pbVarint(pbVarint(t, 5, col.Precision), 6, col.Scale)
	}
	return t
}

func pbVarint(b []byte, field int, v uint64) []byte {
	b = binary.AppendUvarint(b, uint64(field)<<3)
	return binary.AppendUvarint(b, v)
}

func pbMsg(b []byte, field int, msg []byte) []byte {
	b = binary.AppendUvarint(b, uint64(field)<<3|2)
	b = binary.AppendUvarint(b, uint64(len(msg)))
	return append(b, msg...)
}

func packed(vals []uint64) []byte {
	var b []byte
	for _, v := range vals {
		b = binary.AppendUvarint(b, v)
	}
	return b
}

// RLEv1 encodes integers as RLE v1 literal runs (zigzag when signed).
func RLEv1(signed bool, vals ...int64) []byte {
	var b []byte
	for len(vals) > 0 {
		n := min(len(vals), 128)
		b = append(b, byte(-n))
		for _, v := range vals[:n] {
			u := uint64(v)
			if signed {
				u = uint64(v<<1) ^ uint64(v>>63)
			}
			b = binary.AppendUvarint(b, u)
		}
		vals = vals[n:]
	}
	return b
}

// Varints encodes zigzag Varints, as decimals' DATA.
func Varints(vals ...int64) []byte {
	var b []byte
	for _, v := range vals {
		b = binary.AppendUvarint(b, uint64(v<<1)^uint64(v>>63))
	}
	return b
}

// ByteRLE encodes bytes as literal runs.
func ByteRLE(vals ...byte) []byte {
	var b []byte
	for len(vals) > 0 {
		n := min(len(vals), 128)
		b = append(b, byte(-n))
		b = append(b, vals[:n]...)
		vals = vals[n:]
	}
	return b
}

// BoolRLE encodes booleans, most significant bit first.
func BoolRLE(bits ...bool) []byte {
	packedBits := make([]byte, (len(bits)+7)/8)
	for i, v := range bits {
		if v {
			packedBits[i/8] |= 0x80 >> (i % 8)
		}
	}
	return ByteRLE(packedBits...)
}

// StructOf is a root struct of the named fields, types 1…n.
func StructOf(names ...string) Column {
	subs := make([]uint64, len(names))
	for i := range subs {
		subs[i] = uint64(i + 1)
	}
	return Column{Kind: orc.Struct, Subtypes: subs, Names: names}
}

// IDs is a file of struct<id:bigint,name:string> with the given ids, the
// names "n<id>": rows a test can count once each.
func IDs(comp orc.Compression, ids ...int64) []byte {
	var names []byte
	lens := make([]int64, len(ids))
	for i, id := range ids {
		n := fmt.Sprintf("n%d", id)
		names = append(names, n...)
		lens[i] = int64(len(n))
	}
	return File{Comp: comp, Rows: uint64(len(ids)), Cols: []Column{StructOf("id", "name"),
		{Kind: orc.Long, Streams: []Stream{{Kind: orc.Data, Data: RLEv1(true, ids...)}}},
		{Kind: orc.String, Streams: []Stream{{Kind: orc.Data, Data: names}, {Kind: orc.Length, Data: RLEv1(false, lens...)}}}}}.Bytes()
}

// OpenFile opens the ORC file at path; it is closed with the test.
func OpenFile(tb testing.TB, path string) *orc.File {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	st, err := f.Stat()
	if err != nil {
		tb.Fatal(err)
	}
	of, err := orc.Open(f, st.Size())
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return of
}

// ExpectedLines reads a corpus file of expected rows (gzip, as the ORC
// project's reader prints them): one JSON value a line, blank lines left
// out.
func ExpectedLines(tb testing.TB, path string) []string {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		if sc.Text() != "" {
			out = append(out, sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}
