package prepare

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/prepare/orc"
)

// errBadORC classifies ORC files that cannot be converted: corrupt,
// using what lagoon does not read, or of columns that clash with the
// path's. The file is rejected with the reason.
var errBadORC = errors.New("cannot convert this ORC file")

// passORC converts an ORC file dropped under prepare/ to Parquet under
// load/, where the loader takes it like a Parquet file a user dropped
// there (its columns typed as the ORC file types them, see
// orc.File.Schema), through an intent like a converted batch. Path
// name=value segments and the lineage column become columns. Timestamps
// keep microseconds; how many had nanoseconds cut is in the trail's
// "prepared" record of the file and in a warning. A file of no rows (a
// valid ORC file may have none) is recorded and deleted: it has nothing to
// load.
func (s *Stage) passORC(ctx context.Context, w waiting, res *lake.Result) error {
	in := s.newIntent(w.key.Table)
	in.Sources = []intentSrc{{Key: w.info.Key, Version: w.info.Version, Size: w.info.Size}}
	version, err := s.beginIntent(ctx, in)
	if err != nil {
		return err
	}
	if err := lake.Received(ctx, s.cfg.Audit, w.key.Table, in.Batch, []lake.ObjectInfo{w.info}); err != nil {
		return err
	}
	sink := &lakeSink{ctx: ctx, st: s.st, name: in.outputFinal}
	opt := s.cfg.Options
	opt.Metadata = map[string]string{lake.OriginsMetadata: lake.SourceID(w.info.Key, w.info.Version), lake.PrepareBatchMetadata: in.Batch}
	cres, err := convertORC(ctx, s.sources(ctx, []waiting{w})[0], sink, opt)
	if err == nil {
		err = lake.Unchanged(ctx, s.st, []lake.ObjectInfo{w.info})
	}
	if err != nil {
		err = errors.Join(err, sink.Reset(), s.discard(ctx, in))
		if errors.Is(err, errBadORC) {
			return s.rejecter().RejectErr(ctx, w.info.Key, w.key.Table, err, res)
		}
		return err
	}
	for i, t := range sink.temps {
		in.Outputs = append(in.Outputs, intentMove{Temp: t, Final: in.outputFinal(i)})
	}
	sr := cres.Sources[0]
	in.Sources[0].Rows, in.Sources[0].Truncated = sr.Rows, sr.Truncated
	in.State = statePublishing
	if _, err := s.advanceIntent(ctx, version, in); err != nil {
		return errors.Join(err, s.discard(ctx, in))
	}
	if _, err := s.publish(ctx, in); err != nil {
		return err
	}
	if sr.Truncated > 0 {
		s.log.Warn("timestamps cut to microseconds", "stage", "prepare", "key", w.info.Key,
			"table", w.key.Table.String(), "truncated", sr.Truncated)
	}
	res.Files++
	res.Rows += sr.Rows
	res.Bytes += w.info.Size
	res.Commits += cres.Outputs
	return nil
}

// convertORC writes the rows of ORC file src (Source.OpenRandom) as
// Parquet outputs into sink, under the stall watchdog. A file that
// cannot be converted — corrupt, of what lagoon does not read, a panic or
// a stall while reading it — is an error wrapping errBadORC.
func convertORC(ctx context.Context, src Source, sink Sink, opt Options) (Result, error) {
	return lake.Watch(ctx, opt.StallTimeout, func(ctx context.Context, p *lake.Progress) (Result, error) {
		var res Result
		err := lake.ProtectFile(src.Key, func() (err error) {
			defer p.Arm(src.Key)()
			res, err = writeORC(ctx, src, sink, opt, p)
			return err
		})
		var fe *lake.FileError
		if errors.As(err, &fe) && !errors.Is(err, lake.ErrStoreStalled) && !errors.Is(err, errBadORC) {
			err = fmt.Errorf("%w: %w", errBadORC, err)
		}
		return res, err
	})
}

func writeORC(ctx context.Context, src Source, sink Sink, opt Options, p *lake.Progress) (Result, error) {
	obj, err := openRandom(src)
	if err != nil {
		return Result{}, err
	}
	defer obj.Close()
	r, err := openORC(progressReaderAt{r: obj, p: p}, obj.Size(), opt)
	if err != nil {
		return Result{}, err
	}
	sc, err := withConstColumns(r.Schema(), src.Consts)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %w", errBadORC, err)
	}
	out := startWriter(sc, nil, opt, sink)
	rows, err := copyORC(ctx, opt.Mem, opt.OnRows, r, sc, src.Consts, out, p)
	if err != nil {
		out.abort()
		return Result{}, err
	}
	outs, err := out.close()
	if err != nil {
		return Result{}, err
	}
	sr := SourceResult{Key: src.Key, Rows: rows, Truncated: r.Truncated()}
	return Result{Rows: rows, Outputs: outs, Sources: []SourceResult{sr}, Schema: sc}, nil
}

// openRandom opens src for reading at random; a source that can only be
// read from its start is read into memory.
func openRandom(src Source) (RandomReader, error) {
	if src.OpenRandom != nil {
		return src.OpenRandom()
	}
	rc, err := src.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, err
	}
	return memFile{bytes.NewReader(b)}, nil
}

type memFile struct{ *bytes.Reader }

func (memFile) Close() error { return nil }

func openORC(ra io.ReaderAt, size int64, opt Options) (*orc.Reader, error) {
	f, err := orc.Open(ra, size)
	if err != nil {
		return nil, orcErr(err)
	}
	ropt := orc.DefaultReaderOptions()
	ropt.Mem = opt.Mem
	r, err := orc.NewReader(f, ropt)
	return r, orcErr(err)
}

// orcErr classifies an error of the ORC reader: the file's own (corrupt
// or unsupported), or the store's.
func orcErr(err error) error {
	if err != nil && errors.Is(err, orc.ErrCorrupt) || errors.Is(err, orc.ErrUnsupported) {
		return fmt.Errorf("%w: %w", errBadORC, err)
	}
	return err
}

// copyORC hands every stripe of r, with the constant columns, to out.
func copyORC(ctx context.Context, mem memory.Allocator, onRows func(int64), r *orc.Reader, sc *arrow.Schema, consts []Const, out *outWriter, p *lake.Progress) (int64, error) {
	var rows int64
	for {
		rec, err := r.Next(ctx)
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return rows, orcErr(err)
		}
		rows += rec.NumRows()
		p.Add(int(rec.NumRows()))
		if onRows != nil {
			onRows(rec.NumRows())
		}
		err = writeSlices(rec, orcChunkRows, func(part arrow.RecordBatch) error {
			return out.write(withConsts(mem, part, sc, consts))
		})
		if err != nil {
			return rows, err
		}
	}
}

// orcChunkRows is how many rows of a stripe go to the writer at a time:
// a stripe may hold millions, and the writer shapes its first output by
// its first batch.
const orcChunkRows = 64 << 10

// writeSlices hands rec to write in slices of at most n rows, releasing
// rec; write takes each slice over.
func writeSlices(rec arrow.RecordBatch, n int64, write func(arrow.RecordBatch) error) error {
	defer rec.Release()
	for off := int64(0); off < rec.NumRows(); off += n {
		if err := write(rec.NewSlice(off, min(off+n, rec.NumRows()))); err != nil {
			return err
		}
	}
	return nil
}

// withConstColumns is sc and one string column per constant; a file
// column of the same name, or one named like the load time, is an error:
// which value is right cannot be known.
func withConstColumns(sc *arrow.Schema, consts []Const) (*arrow.Schema, error) {
	fields := sc.Fields()
	for _, c := range append([]Const{{Name: lake.LoadedAtColumn}}, consts...) {
		if len(sc.FieldIndices(c.Name)) > 0 {
			return nil, fmt.Errorf("column %s is in the file and also lagoon's (the path's, the lineage's or the load time's)", c.Name)
		}
	}
	for _, c := range consts {
		fields = append(fields, arrow.Field{Name: c.Name, Type: arrow.BinaryTypes.String, Nullable: true})
	}
	return arrow.NewSchema(fields, nil), nil
}

// withConsts is rec with the constant columns appended; it takes rec over.
func withConsts(mem memory.Allocator, rec arrow.RecordBatch, sc *arrow.Schema, consts []Const) arrow.RecordBatch {
	if len(consts) == 0 {
		return rec
	}
	n := int(rec.NumRows())
	defer rec.Release()
	cols := append([]arrow.Array{}, rec.Columns()...)
	var made []arrow.Array
	for _, c := range consts {
		b := array.NewStringBuilder(mem)
		b.Reserve(n)
		b.ReserveData(n * len(c.Value))
		for range n {
			b.Append(c.Value)
		}
		a := b.NewArray()
		b.Release()
		made = append(made, a)
		cols = append(cols, a)
	}
	out := array.NewRecordBatch(sc, cols, int64(n))
	for _, a := range made {
		a.Release()
	}
	return out
}

// progressReaderAt counts the bytes read from the store, for the stall
// watchdog.
type progressReaderAt struct {
	r io.ReaderAt
	p *lake.Progress
}

func (r progressReaderAt) ReadAt(b []byte, off int64) (int, error) { return r.p.ReadAt(r.r, b, off) }

// countORC counts the ORC files among srcs.
func countORC(srcs []Source) int {
	n := 0
	for _, s := range srcs {
		if f, _, err := detect(s.Name); err == nil && f == FormatORC {
			n++
		}
	}
	return n
}

// convertORCSource is Convert for one ORC file: a file that cannot be
// converted is its SourceResult's Err, like a broken file of another
// format.
func convertORCSource(ctx context.Context, srcs []Source, orcs int, sink Sink, opt Options) (Result, error) {
	if orcs != 1 || len(srcs) != 1 {
		return Result{}, fmt.Errorf("%w: ORC files convert one at a time, each alone (%d sources, %d of them ORC)", ErrUnsupported, len(srcs), orcs)
	}
	res, err := convertORC(ctx, srcs[0], sink, opt)
	if errors.Is(err, errBadORC) {
		if rerr := sink.Reset(); rerr != nil {
			return Result{}, rerr
		}
		return Result{Sources: []SourceResult{{Key: srcs[0].Key, Err: err}}}, nil
	}
	return res, err
}
