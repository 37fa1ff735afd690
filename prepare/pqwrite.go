package prepare

import (
	"fmt"
	"io"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/pqencode"
)

// outWriter encodes record batches into the Parquet outputs of a
// conversion on a goroutine of its own, so that encoding and compression
// overlap parsing: a conversion keeps two cores busy. It owns the batches
// handed to it and at most two wait for it, which bounds memory.
type outWriter struct {
	sc   *arrow.Schema
	reg  *registration // nil: outputs are not registrable
	opt  Options
	sink Sink

	in      chan arrow.RecordBatch
	done    chan struct{}
	failed  atomic.Pointer[error]
	aborted atomic.Bool

	out  *output
	outs int
}

// output is one Parquet file being written.
type output struct {
	w  io.WriteCloser
	cw *countingWriter
	fw fileEncoder
}

// fileEncoder writes one Parquet file: lagoon's own encoder (pqencode)
// for the types it writes, arrow-go's for the others.
type fileEncoder interface {
	WriteBuffered(rec arrow.RecordBatch) error
	// Buffered is the bytes of the open row group not yet written out.
	Buffered() int64
	AppendKeyValueMetadata(k, v string) error
	// Close writes the footer and closes the sink's writer.
	Close() error
}

// arrowEncoder is arrow-go's writer as a fileEncoder.
type arrowEncoder struct{ *pqarrow.FileWriter }

func (a arrowEncoder) Buffered() int64 { return a.RowGroupTotalBytesWritten() }

// ownEncoder is pqencode's writer as a fileEncoder.
type ownEncoder struct {
	w    *pqencode.Writer
	sink io.Closer
	cw   *countingWriter
}

func (o ownEncoder) WriteBuffered(rec arrow.RecordBatch) error { return o.w.Write(rec) }
func (o ownEncoder) Buffered() int64                           { return o.w.Size() - o.cw.n }
func (o ownEncoder) AppendKeyValueMetadata(k, v string) error {
	return o.w.AppendKeyValueMetadata(k, v)
}

func (o ownEncoder) Close() error {
	err := o.w.Close()
	if cerr := o.sink.Close(); err == nil {
		err = cerr
	}
	return err
}

// startWriter starts the writer's goroutine; close or abort ends it.
func startWriter(sc *arrow.Schema, reg *registration, opt Options, sink Sink) *outWriter {
	if reg != nil {
		sc = reg.schema
	}
	w := &outWriter{sc: sc, reg: reg, opt: opt, sink: sink, in: make(chan arrow.RecordBatch, 1), done: make(chan struct{})}
	go w.run()
	return w
}

func (w *outWriter) run() {
	defer close(w.done)
	var err error
	for rec := range w.in {
		if err == nil && !w.aborted.Load() {
			// A panic while encoding (this goroutine is out of any
			// file's Protect) fails the conversion, not the process.
			if err = lake.Protect(func() error { return w.encode(rec) }); err != nil {
				w.failed.Store(&err)
			}
		}
		rec.Release()
	}
	if err == nil && !w.aborted.Load() {
		if err = lake.Protect(w.closeOutput); err != nil {
			w.failed.Store(&err)
		}
		return
	}
	if w.out != nil {
		w.out.fw.Close() // a partial output; the caller resets the sink
		w.out = nil
	}
}

// write hands rec over to the writer. It fails once the writer has.
func (w *outWriter) write(rec arrow.RecordBatch) error {
	if err := w.failed.Load(); err != nil {
		rec.Release()
		return *err
	}
	w.in <- rec
	return nil
}

// close waits until everything is written and returns how many outputs
// were made, or the first error.
func (w *outWriter) close() (int, error) {
	close(w.in)
	<-w.done
	if err := w.failed.Load(); err != nil {
		return 0, *err
	}
	return w.outs, nil
}

// abort stops the writer, leaving partial outputs for the caller to reset.
func (w *outWriter) abort() {
	w.aborted.Store(true)
	close(w.in)
	<-w.done
}

func (w *outWriter) encode(rec arrow.RecordBatch) error {
	if w.reg != nil {
		rec = w.reg.withLoadedAt(rec)
		defer rec.Release()
	}
	if w.out == nil {
		if err := w.open(rec); err != nil {
			return err
		}
	}
	if err := w.out.fw.WriteBuffered(rec); err != nil {
		return fmt.Errorf("write parquet: %w", err)
	}
	if w.out.cw.n+w.out.fw.Buffered() >= w.opt.FileBytes {
		return w.closeOutput()
	}
	return nil
}

// open starts the next output file, shaped by its first batch (which
// columns get a dictionary).
func (w *outWriter) open(first arrow.RecordBatch) error {
	sw, err := w.sink.Create(w.outs)
	if err != nil {
		return err
	}
	cw := &countingWriter{w: sw}
	fw, err := w.encoder(first, cw)
	if err != nil {
		sw.Close()
		return fmt.Errorf("parquet writer: %w", err)
	}
	if w.reg != nil {
		if err := fw.AppendKeyValueMetadata(RegisterMetadata, w.reg.mark); err != nil {
			fw.Close()
			return fmt.Errorf("parquet metadata: %w", err)
		}
	}
	for k, v := range w.opt.Metadata {
		if err := fw.AppendKeyValueMetadata(k, v); err != nil {
			fw.Close()
			return fmt.Errorf("parquet metadata: %w", err)
		}
	}
	w.out = &output{w: sw, cw: cw, fw: fw}
	w.outs++
	return nil
}

// encoder is the writer of an output file shaped by its first batch:
// pqencode's where it writes the schema, arrow-go's otherwise.
func (w *outWriter) encoder(first arrow.RecordBatch, cw *countingWriter) (fileEncoder, error) {
	if pqencode.Supports(w.sc) {
		opt := pqencode.DefaultOptions()
		opt.ZstdLevel, opt.RowGroupRows, opt.NoDictionary = w.opt.ZstdLevel, w.opt.RowGroupRows, plainLeaves(first)
		pw, err := pqencode.NewWriter(cw, w.sc, opt)
		if err != nil {
			return nil, err
		}
		return ownEncoder{w: pw, sink: cw, cw: cw}, nil
	}
	opts := []parquet.WriterProperty{
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithCompressionLevel(w.opt.ZstdLevel),
		parquet.WithMaxRowGroupLength(w.opt.RowGroupRows),
		parquet.WithAllocator(w.opt.Mem),
	}
	opts = append(opts, dictionaryProps(first, parquet.NewWriterProperties(opts...))...)
	fw, err := pqarrow.NewFileWriter(w.sc, cw, parquet.NewWriterProperties(opts...),
		pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return nil, err
	}
	return arrowEncoder{fw}, nil
}

func (w *outWriter) closeOutput() error {
	if w.out == nil {
		return nil
	}
	err := w.out.fw.Close() // closes the sink writer too
	w.out = nil
	if err != nil {
		return fmt.Errorf("close parquet: %w", err)
	}
	return nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

// Close closes the sink's writer (the Parquet writer closes its sink).
func (c *countingWriter) Close() error {
	if cl, ok := c.w.(io.Closer); ok {
		return cl.Close()
	}
	return nil
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
