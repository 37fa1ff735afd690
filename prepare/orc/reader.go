package orc

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// MaxStripeValues is the default bound on the values of one column in
// one stripe (a stripe's rows, a list's elements): a stripe is read whole,
// and a corrupt count must not ask for more memory than a real stripe
// holds.
const MaxStripeValues = 1 << 27

// ReaderOptions configure a Reader.
type ReaderOptions struct {
	Mem       memory.Allocator
	MaxValues int // per column and stripe; more is ErrUnsupported
}

// DefaultReaderOptions are the options lagoon reads with.
func DefaultReaderOptions() ReaderOptions {
	return ReaderOptions{Mem: memory.DefaultAllocator, MaxValues: MaxStripeValues}
}

// Reader reads a file's rows as Arrow record batches, one per stripe:
// memory is bounded by a stripe, not by the file. It is not safe for
// concurrent use.
type Reader struct {
	f      *File
	schema *arrow.Schema
	opt    ReaderOptions
	next   int
	rows   uint64
	trunc  int64
}

// NewReader returns a reader of f's rows (see File.Schema for the types).
func NewReader(f *File, opt ReaderOptions) (*Reader, error) {
	sc, err := f.Schema()
	if err != nil {
		return nil, err
	}
	return &Reader{f: f, schema: sc, opt: opt}, nil
}

// Schema is the schema of the batches Next returns.
func (r *Reader) Schema() *arrow.Schema { return r.schema }

// Truncated counts the timestamps read so far whose nanoseconds were cut
// to microseconds.
func (r *Reader) Truncated() int64 { return r.trunc }

// Next reads the next stripe's rows; io.EOF after the last. The caller
// releases the batch. A file whose stripe cannot be read returns an error
// wrapping ErrCorrupt or ErrUnsupported.
func (r *Reader) Next(ctx context.Context) (arrow.RecordBatch, error) {
	for r.next < len(r.f.Footer.Stripes) {
		i := r.next
		r.next++
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if r.f.Footer.Stripes[i].Rows == 0 {
			continue
		}
		rec, err := r.stripe(ctx, i)
		if err != nil {
			return nil, fmt.Errorf("stripe %d: %w", i, err)
		}
		r.rows += uint64(rec.NumRows())
		return rec, nil
	}
	if r.rows != r.f.Footer.Rows {
		return nil, fmt.Errorf("%w: the stripes hold %d rows, the footer says %d", ErrCorrupt, r.rows, r.f.Footer.Rows)
	}
	return nil, io.EOF
}

func (r *Reader) stripe(ctx context.Context, i int) (arrow.RecordBatch, error) {
	sd, err := r.f.openStripe(i)
	if err != nil {
		return nil, err
	}
	if sd.s.Rows > uint64(r.opt.MaxValues) {
		return nil, fmt.Errorf("%w: a stripe of %d rows (lagoon reads at most %d)", ErrUnsupported, sd.s.Rows, r.opt.MaxValues)
	}
	cr := &columnReader{sd: sd, ctx: compute.WithAllocator(ctx, r.opt.Mem), mem: r.opt.Mem, max: r.opt.MaxValues, trunc: &r.trunc}
	n := int(sd.s.Rows)
	root, err := cr.read(0, n)
	if err != nil {
		return nil, err
	}
	defer root.Release()
	if r.f.Footer.Types[0].Kind != Struct {
		return array.NewRecordBatch(r.schema, []arrow.Array{root}, int64(n)), nil
	}
	return flatten(r.schema, root.(*array.Struct))
}

// flatten turns the root struct into a record; a null root row (which
// writers do not make) is a row of nulls.
func flatten(sc *arrow.Schema, root *array.Struct) (arrow.RecordBatch, error) {
	if root.NullN() > 0 {
		return nil, fmt.Errorf("%w: %d rows are null as a whole", ErrUnsupported, root.NullN())
	}
	cols := make([]arrow.Array, root.NumField())
	for i := range cols {
		cols[i] = root.Field(i)
	}
	return array.NewRecordBatch(sc, cols, int64(root.Len())), nil
}

// columnReader reads the columns of one stripe.
type columnReader struct {
	sd    *stripeData
	ctx   context.Context // for compute's kernels, with the allocator
	mem   memory.Allocator
	max   int // values per column
	trunc *int64
}

// read reads column col's n values (its parent's non-null values), nulls
// included: an array of length n.
func (cr *columnReader) read(col, n int) (arrow.Array, error) {
	if n > cr.max {
		return nil, cr.columnErr(col, fmt.Errorf("%w: %d values in a stripe (lagoon reads at most %d)", ErrUnsupported, n, cr.max))
	}
	pres, err := cr.sd.present(col, n)
	if err != nil {
		return nil, cr.columnErr(col, err)
	}
	m := n
	if pres != nil {
		m = nonNull(pres)
	}
	vals, err := cr.values(col, m)
	if err != nil {
		return nil, cr.columnErr(col, err)
	}
	if m == n {
		return vals, nil
	}
	defer vals.Release()
	return cr.spread(vals, pres)
}

// columnErr names col in err, once: errors from nested columns name the
// innermost.
func (cr *columnReader) columnErr(col int, err error) error {
	var ce *columnError
	if errors.As(err, &ce) {
		return err
	}
	return &columnError{name: cr.sd.f.columnName(col), err: err}
}

type columnError struct {
	name string
	err  error
}

func (e *columnError) Error() string { return "column " + e.name + ": " + e.err.Error() }
func (e *columnError) Unwrap() error { return e.err }

// spread places vals, one per true of pres, at those positions, with
// nulls between.
func (cr *columnReader) spread(vals arrow.Array, pres []bool) (arrow.Array, error) {
	b := array.NewInt32Builder(cr.mem)
	defer b.Release()
	b.Reserve(len(pres))
	j := int32(0)
	for _, p := range pres {
		if p {
			b.UnsafeAppend(j)
			j++
		} else {
			b.UnsafeAppendBoolToBitmap(false)
		}
	}
	idx := b.NewArray()
	defer idx.Release()
	return compute.TakeArray(cr.ctx, vals, idx)
}

// values reads column col's m non-null values.
func (cr *columnReader) values(col, m int) (arrow.Array, error) {
	t := cr.sd.f.Footer.Types[col]
	switch t.Kind {
	case Struct:
		return cr.structValues(col, m)
	case List:
		return cr.listValues(col, m)
	case Map:
		return cr.mapValues(col, m)
	case Union:
		return cr.unionValues(col, m)
	case Boolean:
		return cr.booleans(col, m)
	case Byte, Short, Int, Long:
		return cr.integers(col, m, t.Kind)
	case Float, Double:
		return cr.floats(col, m, t.Kind == Float)
	case String, Varchar, Char, Binary:
		return cr.strings(col, m, t.Kind != Binary)
	case Decimal:
		return cr.decimals(col, m)
	case Date:
		return cr.dates(col, m)
	case Timestamp, TimestampInstant:
		return cr.timestamps(col, m, t.Kind == TimestampInstant)
	}
	return nil, fmt.Errorf("%w: type kind %d", ErrUnsupported, t.Kind)
}
