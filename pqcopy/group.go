package pqcopy

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/schema"

	"github.com/lagoon-dev/lagoon/pqcompat"
)

// copiedCodecs are the compression codecs whose chunks are copied: those
// every Iceberg reader reads. A chunk of another (LZ4's two framings,
// LZO, Brotli) is re-encoded.
var copiedCodecs = []compress.Compression{
	compress.Codecs.Uncompressed, compress.Codecs.Snappy, compress.Codecs.Gzip, compress.Codecs.Zstd,
}

// writeGroup writes one row group's chunks to out (copies, then
// constants, as plan orders them) and returns its footer entry.
func writeGroup(out *counter, src Source, rg *metadata.RowGroupMetaData, plan Plan, stats []metadata.EncodedStatistics, ordinal int) (RowGroup, error) {
	start := out.n
	var cols []pqcompat.Value
	var unc int64
	for j, c := range plan.Columns {
		col := plan.Schema.Column(j)
		var cc Chunk
		var err error
		if c.Source >= 0 {
			cc, err = copySourceChunk(out, src, rg, c.Source, col)
		} else {
			cc, err = writeConstant(out, col, c.Value, rg.NumRows())
			stats[j] = constantStats(c.Value)
		}
		if err != nil {
			return RowGroup{}, err
		}
		unc += cc.Uncompressed
		cols = append(cols, cc.Entry(col, stats[j]))
	}
	return NewRowGroup(cols, unc, rg.NumRows(), start, out.n-start, ordinal), nil
}

// RowGroup is a row group written: its footer entry and its rows.
type RowGroup struct {
	meta pqcompat.Value
	rows int64
}

// NewRowGroup is the footer entry of the row group whose chunks' entries
// are cols, with rows rows, uncompressed bytes in its chunks' pages, and
// its chunks at start for size bytes; ordinal is its place in the file.
func NewRowGroup(cols []pqcompat.Value, uncompressed, rows, start, size int64, ordinal int) RowGroup {
	meta := pqcompat.Struct(
		field(1, pqcompat.List(pqcompat.TypeStruct, cols...)),
		field(2, pqcompat.I64(uncompressed)),
		field(3, pqcompat.I64(rows)),
		field(5, pqcompat.I64(start)),
		field(6, pqcompat.I64(size)),
	)
	if ordinal <= math.MaxInt16 { // an i16, optional: past it, left out
		meta.Set(7, pqcompat.Value{Type: pqcompat.TypeI16, Int: int64(ordinal)})
	}
	return RowGroup{meta: meta, rows: rows}
}

// Chunk is one column chunk written: what its footer entry says of it.
type Chunk struct {
	Codec        compress.Compression
	Values       int64 // levels, nulls included
	Start, Data  int64 // where the chunk and its first data page are
	Dictionary   bool
	Compressed   int64
	Uncompressed int64
	Encodings    []int32 // sorted
	PageStats    map[PageKind]int32
}

// copySourceChunk copies source leaf col of row group rg to out.
func copySourceChunk(out *counter, src Source, rg *metadata.RowGroupMetaData, col int, to *schema.Column) (Chunk, error) {
	meta, err := rg.ColumnChunk(col)
	if err != nil {
		return Chunk{}, fmt.Errorf("%w: column %s: %v", ErrUnfit, to.Path(), err)
	}
	from, length, err := chunkRange(meta, src.Size)
	if err != nil {
		return Chunk{}, fmt.Errorf("%w: column %s: %v", ErrUnfit, to.Path(), err)
	}
	cc := Chunk{Codec: meta.Compression(), Values: meta.NumValues(), Start: out.n, Compressed: length}
	rc, err := openRange(src.R, from, length)
	if err != nil {
		return Chunk{}, fmt.Errorf("column %s: %w", to.Path(), err)
	}
	cp, err := copyChunk(out, rc, length)
	rc.Close()
	if err != nil {
		return Chunk{}, fmt.Errorf("column %s: %w", to.Path(), err)
	}
	if cp.values != cc.Values || cp.firstData != meta.DataPageOffset()-from || cp.dictionary != (from < meta.DataPageOffset()) {
		return Chunk{}, fmt.Errorf("%w: column %s: its pages disagree with its metadata", ErrUnfit, to.Path())
	}
	cc.Data, cc.Dictionary = cc.Start+cp.firstData, cp.dictionary
	cc.Uncompressed, cc.Encodings, cc.PageStats = cp.uncompressed, cp.encodings, cp.pageStats
	return cc, nil
}

// rangeReader is a source that streams a byte range in one request (an
// S3 object: one GET per chunk, not one per buffer).
type rangeReader interface {
	ReadRange(off, n int64) (io.ReadCloser, error)
}

// openRange streams the n bytes of r at off.
func openRange(r io.ReaderAt, off, n int64) (io.ReadCloser, error) {
	if rr, ok := r.(rangeReader); ok {
		return rr.ReadRange(off, n)
	}
	return io.NopCloser(io.NewSectionReader(r, off, n)), nil
}

// chunkRange is where a column chunk's pages lie in a file of size bytes:
// from its dictionary page (if any) for its compressed size. A chunk in
// another file, encrypted, of a codec not copied, or not within the file's
// data is refused.
func chunkRange(meta *metadata.ColumnChunkMetaData, size int64) (from, length int64, err error) {
	if meta.FilePath() != "" || meta.CryptoMetadata() != nil {
		return 0, 0, fmt.Errorf("a chunk in another file, or encrypted")
	}
	if !slices.Contains(copiedCodecs, meta.Compression()) {
		return 0, 0, fmt.Errorf("codec %s", meta.Compression())
	}
	from, length = meta.DataPageOffset(), meta.TotalCompressedSize()
	if meta.HasDictionaryPage() && meta.DictionaryPageOffset() > 0 && meta.DictionaryPageOffset() < from {
		from = meta.DictionaryPageOffset()
	}
	if from < 4 || length <= 0 || length > size-8-from {
		return 0, 0, fmt.Errorf("pages at %d for %d bytes, in a file of %d", from, length, size)
	}
	return from, length, nil
}

// writeConstant writes a chunk of rows copies of value to out.
func writeConstant(out *counter, col *schema.Column, value []byte, rows int64) (Chunk, error) {
	b, dict, err := constantChunk(col, value, rows)
	if err != nil {
		return Chunk{}, err
	}
	cc := Chunk{Codec: compress.Codecs.Uncompressed, Values: rows, Start: out.n, Data: out.n + int64(dict),
		Dictionary: true, Compressed: int64(len(b)), Uncompressed: int64(len(b)),
		Encodings: []int32{encodingPlain, encodingRLE, encodingDict},
		PageStats: map[PageKind]int32{{Page: pageDictionary, Encoding: encodingPlain}: 1, {Page: pageData, Encoding: encodingDict}: 1}}
	_, err = out.Write(b)
	return cc, err
}

// constantStats are the statistics of a column of one value.
func constantStats(v []byte) metadata.EncodedStatistics {
	st := metadata.EncodedStatistics{HasNullCount: true}
	if len(v) <= maxStat {
		st.HasMin, st.Min, st.HasMax, st.Max = true, v, true, v
	}
	return st
}

// value is the chunk's footer entry (a Columnchunk), as col with stats.
func (cc Chunk) Entry(col *schema.Column, st metadata.EncodedStatistics) pqcompat.Value {
	path := make([]pqcompat.Value, 0, len(col.ColumnPath()))
	for _, p := range col.ColumnPath() {
		path = append(path, pqcompat.Binary([]byte(p)))
	}
	encs := make([]pqcompat.Value, 0, len(cc.Encodings))
	for _, e := range cc.Encodings {
		encs = append(encs, pqcompat.I32(e))
	}
	md := pqcompat.Struct(
		field(1, pqcompat.I32(int32(col.PhysicalType()))),
		field(2, pqcompat.List(pqcompat.TypeI32, encs...)),
		field(3, pqcompat.List(pqcompat.TypeBinary, path...)),
		field(4, pqcompat.I32(int32(cc.Codec))),
		field(5, pqcompat.I64(cc.Values)),
		field(6, pqcompat.I64(cc.Uncompressed)),
		field(7, pqcompat.I64(cc.Compressed)),
		field(9, pqcompat.I64(cc.Data)),
		field(12, statsValue(st)),
		field(13, cc.encodingStats()),
	)
	if cc.Dictionary {
		md.Set(11, pqcompat.I64(cc.Start))
	}
	return pqcompat.Struct(field(2, pqcompat.I64(cc.Start)), field(3, md))
}

// statsValue is a Statistics struct: the null count, min_value and
// max_value (ordered as the column's type says: the footer's column
// orders are TYPE_DEFINED_ORDER).
func statsValue(st metadata.EncodedStatistics) pqcompat.Value {
	v := pqcompat.Struct()
	if st.HasNullCount {
		v.Set(3, pqcompat.I64(st.NullCount))
	}
	if st.HasMax && st.HasMin {
		v.Set(5, pqcompat.Binary(st.Max))
		v.Set(6, pqcompat.Binary(st.Min))
	}
	return v
}

func (cc Chunk) encodingStats() pqcompat.Value {
	kinds := make([]PageKind, 0, len(cc.PageStats))
	for k := range cc.PageStats {
		kinds = append(kinds, k)
	}
	slices.SortFunc(kinds, func(a, b PageKind) int {
		return int(a.Page-b.Page)*1000 + int(a.Encoding-b.Encoding)
	})
	var out []pqcompat.Value
	for _, k := range kinds {
		out = append(out, pqcompat.Struct(field(1, pqcompat.I32(k.Page)), field(2, pqcompat.I32(k.Encoding)),
			field(3, pqcompat.I32(cc.PageStats[k]))))
	}
	return pqcompat.List(pqcompat.TypeStruct, out...)
}

// WriteFooter writes a file's footer to w: schema sc and its column
// orders, as arrow-go writes them, created_by, the key-value metadata kv
// and groups, then its length and the magic.
func WriteFooter(w io.Writer, sc *schema.Schema, createdBy string, kv metadata.KeyValueMetadata, groups []RowGroup) error {
	props := parquet.NewWriterProperties(parquet.WithCreatedBy(createdBy))
	fmd, err := metadata.NewFileMetadataBuilder(sc, props, kv).Finish()
	if err != nil {
		return fmt.Errorf("pqcopy: footer: %w", err)
	}
	var base bytes.Buffer
	if _, err := fmd.WriteTo(&base, nil); err != nil {
		return fmt.Errorf("pqcopy: footer: %w", err)
	}
	v, _, err := pqcompat.DecodeStruct(base.Bytes(), 0)
	if err != nil {
		return fmt.Errorf("pqcopy: footer: %w", err)
	}
	var rows int64
	metas := make([]pqcompat.Value, 0, len(groups))
	for _, g := range groups {
		rows += g.rows
		metas = append(metas, g.meta)
	}
	v.Set(3, pqcompat.I64(rows))
	v.Set(4, pqcompat.List(pqcompat.TypeStruct, metas...))
	b := v.Encode(nil)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(b)))
	_, err = w.Write(append(b, "PAR1"...))
	return err
}
