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

// rowGroup is one row group written: its footer entry and its rows.
type rowGroup struct {
	meta pqcompat.Value
	rows int64
}

// writeGroup writes one row group's chunks to out (copies, then
// constants, as plan orders them) and returns its footer entry.
func writeGroup(out *counter, src Source, rg *metadata.RowGroupMetaData, plan Plan, stats []metadata.EncodedStatistics, ordinal int) (rowGroup, error) {
	start := out.n
	var cols []pqcompat.Value
	var unc int64
	for j, c := range plan.Columns {
		col := plan.Schema.Column(j)
		var cc chunk
		var err error
		if c.Source >= 0 {
			cc, err = copySourceChunk(out, src, rg, c.Source, col)
		} else {
			cc, err = writeConstant(out, col, c.Value, rg.NumRows())
			stats[j] = constantStats(c.Value)
		}
		if err != nil {
			return rowGroup{}, err
		}
		unc += cc.uncompressed
		cols = append(cols, cc.value(col, stats[j]))
	}
	meta := pqcompat.Struct(
		field(1, pqcompat.List(pqcompat.TypeStruct, cols...)),
		field(2, pqcompat.I64(unc)),
		field(3, pqcompat.I64(rg.NumRows())),
		field(5, pqcompat.I64(start)),
		field(6, pqcompat.I64(out.n-start)),
	)
	if ordinal <= math.MaxInt16 { // an i16, optional: past it, left out
		meta.Set(7, pqcompat.Value{Type: pqcompat.TypeI16, Int: int64(ordinal)})
	}
	return rowGroup{meta: meta, rows: rg.NumRows()}, nil
}

// chunk is one column chunk written.
type chunk struct {
	codec        compress.Compression
	values       int64
	start, data  int64 // where the chunk and its first data page are
	dictionary   bool
	compressed   int64
	uncompressed int64
	encodings    []int32
	pageStats    map[pageKind]int32
}

// copySourceChunk copies source leaf col of row group rg to out.
func copySourceChunk(out *counter, src Source, rg *metadata.RowGroupMetaData, col int, to *schema.Column) (chunk, error) {
	meta, err := rg.ColumnChunk(col)
	if err != nil {
		return chunk{}, fmt.Errorf("%w: column %s: %v", ErrUnfit, to.Path(), err)
	}
	from, length, err := chunkRange(meta, src.Size)
	if err != nil {
		return chunk{}, fmt.Errorf("%w: column %s: %v", ErrUnfit, to.Path(), err)
	}
	cc := chunk{codec: meta.Compression(), values: meta.NumValues(), start: out.n, compressed: length}
	rc, err := openRange(src.R, from, length)
	if err != nil {
		return chunk{}, fmt.Errorf("column %s: %w", to.Path(), err)
	}
	cp, err := copyChunk(out, rc, length)
	rc.Close()
	if err != nil {
		return chunk{}, fmt.Errorf("column %s: %w", to.Path(), err)
	}
	if cp.values != cc.values || cp.firstData != meta.DataPageOffset()-from || cp.dictionary != (from < meta.DataPageOffset()) {
		return chunk{}, fmt.Errorf("%w: column %s: its pages disagree with its metadata", ErrUnfit, to.Path())
	}
	cc.data, cc.dictionary = cc.start+cp.firstData, cp.dictionary
	cc.uncompressed, cc.encodings, cc.pageStats = cp.uncompressed, cp.encodings, cp.pageStats
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
func writeConstant(out *counter, col *schema.Column, value []byte, rows int64) (chunk, error) {
	b, dict, err := constantChunk(col, value, rows)
	if err != nil {
		return chunk{}, err
	}
	cc := chunk{codec: compress.Codecs.Uncompressed, values: rows, start: out.n, data: out.n + int64(dict),
		dictionary: true, compressed: int64(len(b)), uncompressed: int64(len(b)),
		encodings: []int32{encodingPlain, encodingRLE, encodingDict},
		pageStats: map[pageKind]int32{{pageDictionary, encodingPlain}: 1, {pageData, encodingDict}: 1}}
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

// value is the chunk's footer entry (a ColumnChunk), as col with stats.
func (cc chunk) value(col *schema.Column, st metadata.EncodedStatistics) pqcompat.Value {
	path := make([]pqcompat.Value, 0, len(col.ColumnPath()))
	for _, p := range col.ColumnPath() {
		path = append(path, pqcompat.Binary([]byte(p)))
	}
	encs := make([]pqcompat.Value, 0, len(cc.encodings))
	for _, e := range cc.encodings {
		encs = append(encs, pqcompat.I32(e))
	}
	md := pqcompat.Struct(
		field(1, pqcompat.I32(int32(col.PhysicalType()))),
		field(2, pqcompat.List(pqcompat.TypeI32, encs...)),
		field(3, pqcompat.List(pqcompat.TypeBinary, path...)),
		field(4, pqcompat.I32(int32(cc.codec))),
		field(5, pqcompat.I64(cc.values)),
		field(6, pqcompat.I64(cc.uncompressed)),
		field(7, pqcompat.I64(cc.compressed)),
		field(9, pqcompat.I64(cc.data)),
		field(12, statsValue(st)),
		field(13, cc.encodingStats()),
	)
	if cc.dictionary {
		md.Set(11, pqcompat.I64(cc.start))
	}
	return pqcompat.Struct(field(2, pqcompat.I64(cc.start)), field(3, md))
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

func (cc chunk) encodingStats() pqcompat.Value {
	kinds := make([]pageKind, 0, len(cc.pageStats))
	for k := range cc.pageStats {
		kinds = append(kinds, k)
	}
	slices.SortFunc(kinds, func(a, b pageKind) int {
		return int(a.page-b.page)*1000 + int(a.encoding-b.encoding)
	})
	var out []pqcompat.Value
	for _, k := range kinds {
		out = append(out, pqcompat.Struct(field(1, pqcompat.I32(k.page)), field(2, pqcompat.I32(k.encoding)),
			field(3, pqcompat.I32(cc.pageStats[k]))))
	}
	return pqcompat.List(pqcompat.TypeStruct, out...)
}

// writeFooter writes the footer: plan's schema and column orders, as
// arrow-go writes them, with groups, then its length and the magic.
func writeFooter(out *counter, plan Plan, groups []rowGroup) error {
	props := parquet.NewWriterProperties(parquet.WithCreatedBy(plan.CreatedBy))
	fmd, err := metadata.NewFileMetadataBuilder(plan.Schema, props, plan.Metadata).Finish()
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
	_, err = out.Write(append(b, "PAR1"...))
	return err
}
