// Package pqencode writes Arrow record batches as a Parquet file with an
// encoder of its own, for the types a conversion makes: booleans, 64-bit
// integers, doubles, dates, timestamps and strings, in structs and lists.
// Its files are what arrow-go's pqarrow writer makes of the same batches
// (the same schema, ARROW:schema included; dictionary pages falling back
// to PLAIN past a size; v1 data pages; zstd), made with less work: no
// interface call or allocation per value, a dictionary that hashes a
// value once, and the leaves of a batch encoded in parallel.
//
// Supports reports whether a schema is one it writes; for another, use
// pqarrow.
package pqencode

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"runtime"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/arrow-go/v18/parquet/schema"
	"golang.org/x/sync/errgroup"

	"github.com/lagoon-dev/lagoon/pqcompat"
	"github.com/lagoon-dev/lagoon/pqcopy"
)

// Options shape a file.
type Options struct {
	// ZstdLevel is the zstd level of the pages (1 fastest … 22 smallest).
	ZstdLevel int
	// RowGroupRows ends a row group.
	RowGroupRows int64
	// PageBytes ends a data page; DictionaryBytes ends a chunk's
	// dictionary (its next pages are PLAIN).
	PageBytes, DictionaryBytes int64
	// MaxStatsBytes: a min or max longer than this is left out.
	MaxStatsBytes int64
	// NoDictionary lists the leaves (in Parquet column order) written PLAIN
	// from the start: mostly distinct values.
	NoDictionary []bool
	// CreatedBy is the footer's created_by.
	CreatedBy string
	// Parallel is how many leaves are encoded at once.
	Parallel int
}

// DefaultOptions are arrow-go's writer's defaults.
func DefaultOptions() Options {
	return Options{
		ZstdLevel:       1,
		RowGroupRows:    parquet.DefaultMaxRowGroupLen,
		PageBytes:       parquet.DefaultDataPageSize,
		DictionaryBytes: parquet.DefaultDictionaryPageSizeLimit,
		MaxStatsBytes:   parquet.DefaultMaxStatsSize,
		CreatedBy:       "lagoon version 1.0.0 (pqencode)",
		Parallel:        runtime.GOMAXPROCS(0),
	}
}

// ErrUnsupported: the schema has a type this package does not write.
var ErrUnsupported = errors.New("pqencode: type not supported")

// Supports reports whether sc is a schema this package writes.
func Supports(sc *arrow.Schema) bool {
	for _, f := range sc.Fields() {
		if _, _, err := leafPaths(f); err != nil {
			return false
		}
	}
	return true
}

// Writer writes one Parquet file. It is not safe for concurrent use.
type Writer struct {
	sc     *arrow.Schema
	pq     *schema.Schema
	opt    Options
	out    *counter
	cols   []*column
	tops   []int // each leaf's top-level field
	kv     metadata.KeyValueMetadata
	groups []pqcopy.RowGroup
	rows   int64 // in the open row group
	closed bool
}

// NewWriter starts a file of schema sc on w, with sc's metadata and
// ARROW:schema as its key-value metadata.
func NewWriter(w io.Writer, sc *arrow.Schema, opt Options) (*Writer, error) {
	pq, err := pqarrow.ToParquet(sc, nil, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return nil, fmt.Errorf("pqencode: schema: %w", err)
	}
	fw := &Writer{sc: sc, pq: pq, opt: opt, out: &counter{w: w}}
	if err := fw.columns(); err != nil {
		return nil, err
	}
	fw.kv = fileMetadata(sc)
	if _, err := io.WriteString(fw.out, "PAR1"); err != nil {
		return nil, err
	}
	return fw, nil
}

func (fw *Writer) columns() error {
	for i, f := range fw.sc.Fields() {
		paths, types, err := leafPaths(f)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrUnsupported, err)
		}
		for j, p := range paths {
			leaf := len(fw.cols)
			if leaf >= fw.pq.NumColumns() {
				return fmt.Errorf("pqencode: more leaves than the schema's %d", fw.pq.NumColumns())
			}
			dict := leaf >= len(fw.opt.NoDictionary) || !fw.opt.NoDictionary[leaf]
			c, err := newColumn(p, types[j], fw.pq.Column(leaf), dict, fw.opt)
			if err != nil {
				return err
			}
			fw.cols = append(fw.cols, c)
			fw.tops = append(fw.tops, i)
		}
	}
	if len(fw.cols) != fw.pq.NumColumns() {
		return fmt.Errorf("pqencode: %d leaves, the schema has %d", len(fw.cols), fw.pq.NumColumns())
	}
	return nil
}

// fileMetadata is sc's metadata and the serialized schema, as pqarrow's
// writer stores them.
func fileMetadata(sc *arrow.Schema) metadata.KeyValueMetadata {
	kv := make(metadata.KeyValueMetadata, 0)
	md := sc.Metadata()
	for i := range md.Len() {
		kv.Append(md.Keys()[i], md.Values()[i])
	}
	kv.Append("ARROW:schema", base64.StdEncoding.EncodeToString(flight.SerializeSchema(sc, memory.DefaultAllocator)))
	return kv
}

// AppendKeyValueMetadata adds a key-value pair to the footer.
func (fw *Writer) AppendKeyValueMetadata(k, v string) error { return fw.kv.Append(k, v) }

// Write adds rec's rows, ending row groups at RowGroupRows.
func (fw *Writer) Write(rec arrow.RecordBatch) error {
	if fw.closed {
		return errors.New("pqencode: write after close")
	}
	if !rec.Schema().Equal(fw.sc) {
		return fmt.Errorf("pqencode: a batch of schema %s into a file of %s", rec.Schema(), fw.sc)
	}
	for from := int64(0); from < rec.NumRows(); {
		n := min(rec.NumRows()-from, fw.opt.RowGroupRows-fw.rows)
		if err := fw.encode(rec, int(from), int(from+n)); err != nil {
			return err
		}
		from += n
		fw.rows += n
		if fw.rows >= fw.opt.RowGroupRows {
			if err := fw.endGroup(); err != nil {
				return err
			}
		}
	}
	return nil
}

// encode adds rows [from, to) of rec to every leaf.
func (fw *Writer) encode(rec arrow.RecordBatch, from, to int) error {
	return fw.each(func(i int, c *column) error { return c.write(rec.Column(fw.tops[i]), from, to) })
}

// each calls fn for every leaf, Parallel at a time; a panic is an error.
func (fw *Writer) each(fn func(i int, c *column) error) error {
	var g errgroup.Group
	g.SetLimit(max(fw.opt.Parallel, 1))
	for i, c := range fw.cols {
		g.Go(func() error { return protect(func() error { return fn(i, c) }) })
	}
	return g.Wait()
}

// protect turns a panic into an error.
func protect(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("pqencode: panic: %v", r)
		}
	}()
	return fn()
}

// endGroup writes the open row group's chunks.
func (fw *Writer) endGroup() error {
	if fw.rows == 0 {
		return nil
	}
	if err := fw.each(func(_ int, c *column) error { return c.seal() }); err != nil {
		return err
	}
	start := fw.out.n
	entries := make([]pqcompat.Value, 0, len(fw.cols))
	var unc int64
	for _, c := range fw.cols {
		e, u, err := c.finish(fw.out)
		if err != nil {
			return err
		}
		entries = append(entries, e)
		unc += u
	}
	fw.groups = append(fw.groups, pqcopy.NewRowGroup(entries, unc, fw.rows, start, fw.out.n-start, len(fw.groups)))
	fw.rows = 0
	return nil
}

// Size is about how many bytes the file takes so far, the open row
// group's buffered pages included.
func (fw *Writer) Size() int64 {
	n := fw.out.n
	for _, c := range fw.cols {
		n += c.size()
	}
	return n
}

// Close writes the last row group and the footer. It does not close the
// underlying writer.
func (fw *Writer) Close() error {
	if fw.closed {
		return nil
	}
	fw.closed = true
	if err := fw.endGroup(); err != nil {
		return err
	}
	return pqcopy.WriteFooter(fw.out, fw.pq, fw.opt.CreatedBy, fw.kv, fw.groups)
}

type counter struct {
	w io.Writer
	n int64
}

func (c *counter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}
