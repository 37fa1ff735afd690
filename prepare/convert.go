package prepare

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lagoon-dev/lagoon/contract"
	"github.com/lagoon-dev/lagoon/lake"
)

// Source is one input file of a conversion.
type Source struct {
	Key  string // its key (or path): named in rejects and the lineage column
	Name string // file name, for the format
	Size int64
	// Open opens the file from its start; each call returns a fresh reader
	// the caller closes (a conversion may read a file twice).
	Open func() (io.ReadCloser, error)
	// Consts are columns with one value for every row of the file (path
	// name=value segments, the lineage column).
	Consts []Const
	// OpenRandom opens the file for reading at random (ORC files need
	// it); nil when the file can only be read from its start.
	OpenRandom func() (RandomReader, error)
}

// RandomReader is a file read at random: an ORC file's tail first.
type RandomReader interface {
	io.ReaderAt
	io.Closer
	Size() int64
}

// Const is a constant column of a source.
type Const struct{ Name, Value string }

// BadRecord is a record that could not be converted.
type BadRecord struct {
	Key    string `json:"file"`
	Line   int    `json:"line"`
	Record int    `json:"record"`
	Reason string `json:"reason"`
	Raw    string `json:"raw"`
}

// Options tune a conversion. Start from DefaultOptions.
type Options struct {
	// Table is the schema of the table the output goes to, if it exists:
	// its columns keep their types (values are converted to them).
	Table *arrow.Schema
	// SampleRecords is how many records the first inference reads.
	SampleRecords int
	// BatchRows is the number of rows per Arrow batch.
	BatchRows int
	// Builders is how many batches are built at once, each on a goroutine
	// of its own (at least one).
	Builders int
	// RowGroupRows and FileBytes shape the Parquet output.
	RowGroupRows int64
	FileBytes    int64
	// MaxRecordBytes bounds one record (a line, a CSV row, a JSON element).
	MaxRecordBytes int
	// PII are the columns of personal data and what to do with them
	// (contract.Contract.PII), applied before any byte is written: to the
	// outputs, and the rejects (whose raw text is then withheld). PIIKey is
	// the HMAC key of contract.Hash.
	PII    map[string]contract.PIIAction
	PIIKey []byte
	// DiscardRows makes a record with a value in a column Table lacks a
	// bad record (a contract's mode discard_rows; no effect without Table).
	DiscardRows bool
	// Validator, when set, checks every record against the table's JSON
	// Schema: one that fails is a bad record with the failing JSON pointer
	// and keyword.
	Validator *Validator
	// Rejects receives each bad record (nil: dropped after counting).
	Rejects func(BadRecord) error
	// ResetRejects, when set, is called when the conversion restarts:
	// the bad records given so far will be given again.
	ResetRejects func() error
	Mem          memory.Allocator
	// Metadata is written into every output file's key-value metadata.
	Metadata map[string]string
	// OnRows, when set, is told of rows as they are converted (from the
	// converting goroutine; a second pass after a widening counts again):
	// for progress.
	OnRows func(n int64)
	// ZstdLevel is the zstd level of the output (1 fastest … 22 smallest).
	ZstdLevel int
	// Register, when set, makes outputs the loader can add as they are.
	Register *Register
	// HashSources takes each source's SHA-256 while reading it
	// (SourceResult.SHA256), for the audit trail.
	HashSources bool
	// StallTimeout stops a conversion that makes no progress (no byte
	// read, no record taken) for this long: it fails with a
	// *lake.FileError wrapping lake.ErrStalled for the file being read —
	// or, when it was waiting for bytes from the store, with an error
	// wrapping lake.ErrStoreStalled (transient: the file is not to
	// blame). Zero turns the watchdog off.
	StallTimeout time.Duration

	progress *lake.Progress // set by Convert for its watchdog
}

// DefaultOptions: 20,000 sample records, 8 Ki-row batches, row groups of
// 122,880 rows, output files of up to 256 MiB, records up to 64 MiB, a
// conversion stopped after a minute without progress.
func DefaultOptions() Options {
	return Options{
		SampleRecords:  20_000,
		BatchRows:      4 * 1024,
		Builders:       runtime.GOMAXPROCS(0),
		RowGroupRows:   122_880,
		FileBytes:      256 << 20,
		MaxRecordBytes: 64 << 20,
		Mem:            memory.DefaultAllocator,
		ZstdLevel:      1,
		StallTimeout:   time.Minute,
	}
}

// SourceResult says how one source went.
type SourceResult struct {
	Key  string
	Rows int64 // good records
	Bad  int64 // bad records
	// Err, when set, is why the file as a whole could not be read (it
	// stopped early; rows before the failure count in Rows).
	Err error
	// SHA256 is the hex SHA-256 of the file's bytes (as stored, before
	// decompression), taken while converting it (with Options.HashSources).
	SHA256 string
	// Truncated counts timestamps whose nanoseconds were cut to
	// microseconds (ORC).
	Truncated int64
}

// Result says what a conversion did.
type Result struct {
	Rows    int64
	Outputs int
	Sources []SourceResult
	Schema  *arrow.Schema
	// Registrable: the outputs fit the table as it is (Options.Register),
	// for the loader to add as they are; false when they bring new
	// columns.
	Registrable bool
}

// Sink receives the Parquet output files of a conversion.
type Sink interface {
	// Create opens the i-th output file.
	Create(i int) (io.WriteCloser, error)
	// Reset discards every output created so far (the conversion restarts).
	Reset() error
}

// errWiden restarts a conversion with the schema inferred from all records.
var errWiden = errors.New("schema must widen")

// Convert turns srcs into Parquet files written to sink, in one schema:
// the table's columns as they are, new columns inferred. It reads a sample
// first; if a later value does not fit, it infers from every record and
// converts again. Bad records go to opt.Rejects; a file that cannot be
// read to its end is reported in its SourceResult.
//
// A failure that is one source's own — a panic while reading or
// converting it (lake.ErrInternal), no progress for opt.StallTimeout
// (lake.ErrStalled; lake.ErrStoreStalled when the store sent nothing is
// not the file's), a file the store cannot read (lake.ErrUnreadable) —
// stops the conversion with a *lake.FileError naming that source; the
// caller converts the others again without it. Other errors (writing the
// output, the store) are returned as they are.
//
// An ORC file converts alone (its types are the file's, nothing is
// inferred): with any other source it is an error.
func Convert(ctx context.Context, srcs []Source, sink Sink, opt Options) (Result, error) {
	if orcs := countORC(srcs); orcs > 0 {
		return convertORCSource(ctx, srcs, orcs, sink, opt)
	}
	return lake.Watch(ctx, opt.StallTimeout, func(ctx context.Context, p *lake.Progress) (Result, error) {
		opt.progress = p
		return convert(ctx, srcs, sink, opt)
	})
}

func convert(ctx context.Context, srcs []Source, sink Sink, opt Options) (Result, error) {
	opt.Table = withoutConsts(opt.Table, srcs)
	t := tableType(opt.Table)
	t.reserve(append(constNames(srcs), lake.LoadedAtColumn)...)
	if err := observe(ctx, srcs, t, opt, opt.SampleRecords); err != nil {
		return Result{}, err
	}
	res, err := convertAll(ctx, srcs, t, sink, opt, false)
	if !errors.Is(err, errWiden) {
		return res, err
	}
	if err := sink.Reset(); err != nil {
		return Result{}, err
	}
	if opt.ResetRejects != nil {
		if err := opt.ResetRejects(); err != nil {
			return Result{}, err
		}
	}
	t = tableType(opt.Table)
	if err := observe(ctx, srcs, t, opt, -1); err != nil {
		return Result{}, err
	}
	res, err = convertAll(ctx, srcs, t, sink, opt, true)
	if errors.Is(err, errWiden) {
		return Result{}, fmt.Errorf("conversion did not settle on a schema: %w", err)
	}
	return res, err
}

// tableType is the starting type: the table's columns, fixed.
func tableType(sc *arrow.Schema) *Type {
	if sc == nil {
		return newStruct()
	}
	return fixedType(arrow.StructOf(sc.Fields()...))
}

// observe infers from up to limit records (all when limit < 0).
func observe(ctx context.Context, srcs []Source, t *Type, opt Options, limit int) error {
	n := 0
	for _, src := range srcs {
		err := lake.ProtectFile(src.Key, func() error {
			return eachRecord(ctx, src, opt, false, func(r Record, mem recordMemory) error {
				if r.Err == nil {
					t.observe(r.Val) // keeps nothing of the record
					n++
				}
				mem.release()
				if limit >= 0 && n >= limit {
					return errStop
				}
				return nil
			})
		})
		if errors.Is(err, errStop) {
			return nil
		}
		if err != nil && !isFileErr(err) {
			return err
		}
	}
	return nil
}

var errStop = errors.New("stop")

// fileErr wraps errors that are the file's fault (bad compression, broken
// structure): the file is reported, the conversion goes on.
type fileErr struct{ err error }

func (e fileErr) Error() string { return e.err.Error() }
func (e fileErr) Unwrap() error { return e.err }

// testRecordHook, set by tests only, is called for every record read
// (atomic: a stalled conversion a test left behind may still call it).
var testRecordHook atomic.Pointer[func(key string)]

func isFileErr(err error) bool {
	var fe fileErr
	return errors.As(err, &fe)
}

// eachRecord calls fn for each record of src. Errors of the file itself
// come back as fileErr; fn's errors pass through.
//
// With raw set, JSON records come unparsed (see jsonMode); fn says
// through mem when it no longer refers to the records it was given.
func eachRecord(ctx context.Context, src Source, opt Options, raw bool, fn func(r Record, mem recordMemory) error) error {
	rc, err := src.Open()
	if errors.Is(err, lake.ErrUnreadable) {
		return &lake.FileError{Key: src.Key, Err: err}
	}
	if err != nil {
		return err
	}
	defer rc.Close()
	defer opt.progress.Arm(src.Key)()
	rc = opt.progress.Reader(rc)
	rr, closer, err := openRecords(src.Name, rc, opt.MaxRecordBytes, raw)
	if err != nil {
		return fileErr{err}
	}
	defer closer.Close()
	mem := memoryOf(rr)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec, err := rr.next()
		if err == io.EOF {
			return nil
		}
		if err != nil && ctx.Err() != nil {
			return context.Cause(ctx) // stopped, not the file's fault
		}
		if errors.Is(err, lake.ErrInternal) { // a panic on the read-ahead goroutine
			return &lake.FileError{Key: src.Key, Err: err}
		}
		if err != nil {
			return fileErr{err}
		}
		opt.progress.Add(1)
		if rec.Err == nil && opt.Validator != nil {
			rec.Err = opt.Validator.Check(rec.Raw) // a bad record, in every pass: it types nothing
		}
		if rec.Err == nil && opt.DiscardRows && opt.Table != nil {
			if col := newColumn(rec, opt.Table); col != "" {
				rec.Err = discardRowError(col)
			}
		}
		if hook := testRecordHook.Load(); hook != nil {
			(*hook)(src.Key)
		}
		if err := fn(rec, mem); err != nil {
			return err
		}
	}
}

// recordMemory is how a caller of eachRecord gives back the memory of the
// records handed to it: release, once none of them is referred to any
// more (their memory is reused at once); or detach, which hands their
// memory over until the returned func is called, from any goroutine.
type recordMemory struct {
	release func()
	detach  func() func()
}

// reusingReader is a reader whose records share memory it reuses.
type reusingReader interface {
	release()
	detach() func()
}

var (
	_ reusingReader = (*jsonMode)(nil)
	_ reusingReader = (*csvRecords)(nil)
)

// memoryOf is rr's record memory. A reader that does not reuse memory
// hands out records that own theirs.
func memoryOf(rr recordReader) recordMemory {
	if rl, ok := rr.(reusingReader); ok {
		return recordMemory{release: rl.release, detach: rl.detach}
	}
	return recordMemory{release: func() {}, detach: func() func() { return func() {} }}
}

// openRecords picks the reader for a file's format.
func openRecords(name string, r io.Reader, maxRecord int, raw bool) (recordReader, io.Closer, error) {
	format, comp, err := detect(name)
	if err != nil {
		return nil, nil, err
	}
	dr, err := decompress(r, comp)
	if err != nil {
		return nil, nil, err
	}
	rr, err := formatRecords(format, bufio.NewReaderSize(dr, 1<<20), maxRecord, raw)
	if err != nil {
		dr.Close()
		return nil, nil, err
	}
	return rr, dr, nil
}

// formatRecords sniffs the format when the name did not tell it and
// checks text formats' heads, then starts the format's reader.
func formatRecords(format Format, br *bufio.Reader, maxRecord int, raw bool) (recordReader, error) {
	br, err := decodeBOM(br)
	if err != nil {
		return nil, err
	}
	if format == "" {
		if format, err = sniff(br); err != nil {
			return nil, err
		}
	}
	if format != FormatAvro {
		if err := checkTextHead(br, format); err != nil {
			return nil, err
		}
	}
	return formatReader(format, br, maxRecord, raw)
}

func formatReader(f Format, br *bufio.Reader, maxRecord int, raw bool) (recordReader, error) {
	switch f {
	case FormatNDJSON:
		r := newNDJSONReader(br, maxRecord)
		r.raw = raw
		return r, nil
	case FormatJSON:
		r := newJSONStreamReader(br, maxRecord)
		r.raw = raw
		return r, nil
	case FormatCSV:
		return newCSVRecords(newCSVReader(br, ',', maxRecord))
	case FormatTSV:
		return newCSVRecords(newCSVReader(br, '\t', maxRecord))
	case FormatAvro:
		return newAvroReader(br)
	}
	return nil, fmt.Errorf("%w: %s", ErrUnsupported, f)
}

// constNames lists the sources' constant columns.
func constNames(srcs []Source) []string {
	var names []string
	for _, s := range srcs {
		for _, c := range s.Consts {
			if !slices.Contains(names, c.Name) {
				names = append(names, c.Name)
			}
		}
	}
	return names
}

// withoutConsts drops the table's columns that the sources give as
// constants (name=value folders): they come from the path, not records.
func withoutConsts(sc *arrow.Schema, srcs []Source) *arrow.Schema {
	if sc == nil {
		return nil
	}
	consts := map[string]bool{}
	for _, s := range srcs {
		for _, c := range s.Consts {
			consts[c.Name] = true
		}
	}
	fields := make([]arrow.Field, 0, sc.NumFields())
	for _, f := range sc.Fields() {
		if !consts[f.Name] {
			fields = append(fields, f)
		}
	}
	return arrow.NewSchema(fields, nil)
}
