package orc_test

// A minimal ORC writer for tests: one uncompressed stripe whose streams
// are given byte for byte, so that tests can build what writers make and
// what they never would.

import (
	"bytes"
	"compress/flate"
	"encoding/binary"

	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"

	"github.com/lagoon-dev/lagoon/prepare/orc"
)

// craftCol is one type of the file, with its stripe's streams.
type craftCol struct {
	kind       orc.Kind
	subtypes   []uint64
	names      []string
	precision  uint64
	scale      uint64
	encoding   orc.Encoding
	dictSize   uint64
	streams    []craftStream
	skipChecks bool
}

type craftStream struct {
	kind orc.StreamKind
	data []byte
}

// craftFile is a file of version (nil: 0.12) with one stripe of rows rows
// (footerRows in the footer) and writer time zone tz.
type craftFile struct {
	comp       orc.Compression // each stream and the tail compressed, in one chunk
	version    []uint64
	rows       uint64
	footerRows uint64
	tz         string
	cols       []craftCol
}

func (c craftFile) bytes() []byte {
	out := []byte("ORC")
	var sf []byte
	for i, col := range c.cols {
		for _, st := range col.streams {
			data := c.compress(st.data)
			out = append(out, data...)
			sf = pbMsg(sf, 1, pbVarint(pbVarint(pbVarint(nil, 1, uint64(st.kind)), 2, uint64(i)), 3, uint64(len(data))))
		}
	}
	dataLen := uint64(len(out) - 3)
	for _, col := range c.cols {
		sf = pbMsg(sf, 2, pbVarint(pbVarint(nil, 1, uint64(col.encoding)), 2, col.dictSize))
	}
	if c.tz != "" {
		sf = pbMsg(sf, 3, []byte(c.tz))
	}
	sf = c.compress(sf)
	out = append(out, sf...)
	stripe := pbVarint(pbVarint(pbVarint(pbVarint(pbVarint(nil, 1, 3), 2, 0), 3, dataLen), 4, uint64(len(sf))), 5, c.rows)
	footer := pbVarint(pbVarint(nil, 1, 3), 2, dataLen+uint64(len(sf)))
	footer = pbMsg(footer, 3, stripe)
	for _, col := range c.cols {
		footer = pbMsg(footer, 4, craftType(col))
	}
	footer = c.compress(pbVarint(footer, 6, c.footerRowsOr()))
	out = append(out, footer...)
	version := c.version
	if version == nil {
		version = []uint64{0, 12}
	}
	ps := pbVarint(pbVarint(pbVarint(nil, 1, uint64(len(footer))), 2, uint64(c.comp)), 3, 256<<10)
	ps = pbMsg(ps, 4, packed(version))
	ps = pbMsg(ps, 8000, []byte("ORC"))
	out = append(out, ps...)
	return append(out, byte(len(ps)))
}

// compress frames b as one chunk of c.comp (kept as it is when the codec
// does not make it smaller, as writers do).
func (c craftFile) compress(b []byte) []byte {
	if c.comp == orc.None || len(b) == 0 {
		return b
	}
	z := compressChunk(c.comp, b)
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

func (c craftFile) footerRowsOr() uint64 {
	if c.footerRows != 0 {
		return c.footerRows
	}
	return c.rows
}

func craftType(col craftCol) []byte {
	t := pbVarint(nil, 1, uint64(col.kind))
	if len(col.subtypes) > 0 {
		t = pbMsg(t, 2, packed(col.subtypes))
	}
	for _, n := range col.names {
		t = pbMsg(t, 3, []byte(n))
	}
	if col.precision > 0 {
		t = pbVarint(pbVarint(t, 5, col.precision), 6, col.scale)
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

// rleV1 encodes integers as RLE v1 literal runs (zigzag when signed).
func rleV1(signed bool, vals ...int64) []byte {
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

// varints encodes zigzag varints, as decimals' DATA.
func varints(vals ...int64) []byte {
	var b []byte
	for _, v := range vals {
		b = binary.AppendUvarint(b, uint64(v<<1)^uint64(v>>63))
	}
	return b
}

// byteRLE encodes bytes as literal runs.
func byteRLE(vals ...byte) []byte {
	var b []byte
	for len(vals) > 0 {
		n := min(len(vals), 128)
		b = append(b, byte(-n))
		b = append(b, vals[:n]...)
		vals = vals[n:]
	}
	return b
}

// boolRLE encodes booleans, most significant bit first.
func boolRLE(bits ...bool) []byte {
	packedBits := make([]byte, (len(bits)+7)/8)
	for i, v := range bits {
		if v {
			packedBits[i/8] |= 0x80 >> (i % 8)
		}
	}
	return byteRLE(packedBits...)
}

// structOf is a root struct of the named fields, types 1…n.
func structOf(names ...string) craftCol {
	subs := make([]uint64, len(names))
	for i := range subs {
		subs[i] = uint64(i + 1)
	}
	return craftCol{kind: orc.Struct, subtypes: subs, names: names}
}
