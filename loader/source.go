package loader

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"iter"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/lagoon-dev/lagoon/contract"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/pqcompat"
)

// LoadedAtColumn is lake.LoadedAtColumn.
const LoadedAtColumn = lake.LoadedAtColumn

// LineageColumn is lake.LineageColumn.
const LineageColumn = lake.LineageColumn

// readBatchRows is how many rows a record batch read from a file holds.
const readBatchRows = 64 * 1024

// source is one Parquet file of load/ opened for appending. It owns the
// open object; close releases it.
type source struct {
	info   lake.ObjectInfo
	key    lake.Key
	obj    lake.Object
	pf     *file.Reader
	fr     *pqarrow.FileReader
	int96  []int96Col    // top-level INT96 columns, read by hand
	raw    *arrow.Schema // the file's own schema, INT96 as µs timestamps
	canon  *arrow.Schema // raw made canonical (see canonicalSchema)
	schema *arrow.Schema // canon plus the path columns, no _etl_loaded_at
	rows   int64
	// batchRows is how many rows a batch read from the file holds (see
	// batchRows).
	batchRows int64
	// mark is the table schema a file prepare wrote for registering was
	// written for (lake.RegisterMetadata); leaves then leave out its own
	// _etl_loaded_at when the file is read (re-encoded) after all.
	mark   string
	leaves []int
	// sha is the file's SHA-256 (hex), when it was asked for.
	sha string
	// origins are the sources prepare made the file from (lake.SourceID)
	// and prepBatch its prepare batch; empty for files prepare did not
	// write.
	origins   []string
	prepBatch string
	// consts are the columns of one value for the whole file: its key's
	// name=value folders, then its lineage (see addLineage).
	consts  []lake.PartitionValue
	lineage bool
	// discarded are the file's columns its table's contract left out
	// (mode discard_columns).
	discarded []string
	// base is schema before applyPII; pii, piiKey and piiDrop are the
	// contract's personal-data actions on the file (see applyPII).
	base    *arrow.Schema
	pii     map[string]contract.PIIAction
	piiKey  []byte
	piiDrop []string
	// repairs are what the file's footer needed for arrow-go to read it.
	repairs pqcompat.Repairs
	// prog is the progress of the watched work reading the file now
	// (nil: none); obj's reads count in it.
	prog atomic.Pointer[lake.Progress]
}

// watchedObject counts the reads of a source's object in the source's
// progress, as time waiting on the store.
type watchedObject struct {
	lake.Object
	s *source
}

func (o watchedObject) ReadAt(b []byte, off int64) (int, error) {
	return o.s.prog.Load().ReadAt(o.Object, b, off)
}

func (o watchedObject) Read(b []byte) (int, error) { return o.s.prog.Load().Read(o.Object, b) }

// ReadRange streams a range in one request where the object can
// (lake.RangeReader), else through ReadAt; its reads count too.
func (o watchedObject) ReadRange(off, n int64) (io.ReadCloser, error) {
	if rr, ok := o.Object.(lake.RangeReader); ok {
		rc, err := rr.ReadRange(off, n)
		if err != nil {
			return nil, err
		}
		return o.s.prog.Load().Reader(rc), nil
	}
	return io.NopCloser(io.NewSectionReader(o, off, n)), nil
}

// openSource opens and checks a waiting file, under a watchdog of stall
// (see lake.Watch). Problems of the file itself come back as *RejectError
// or *lake.FileError; other errors are transient.
// sourceOptions tune openSource.
type sourceOptions struct {
	stall   time.Duration // the watchdog's (see lake.Watch)
	hash    bool          // compute the file's SHA-256
	lineage bool          // add LineageColumn to files prepare did not write
}

func openSource(ctx context.Context, st lake.Store, info lake.ObjectInfo, key lake.Key, opt sourceOptions) (*source, error) {
	if info.Size == 0 {
		return nil, reject(info.Key, "empty file (0 bytes)", nil)
	}
	obj, err := st.Open(ctx, info.Key)
	if errors.Is(err, lake.ErrUnreadable) {
		return nil, &lake.FileError{Key: info.Key, Err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", info.Key, err)
	}
	s := &source{info: info, key: key, lineage: opt.lineage}
	s.obj = watchedObject{Object: obj, s: s}
	_, err = lake.Watch(ctx, opt.stall, func(ctx context.Context, p *lake.Progress) (struct{}, error) {
		s.prog.Store(p)
		if err := lake.ProtectFile(info.Key, s.check); err != nil || !opt.hash {
			return struct{}{}, err
		}
		return struct{}{}, s.hash(ctx)
	})
	if err != nil {
		obj.Close()
		return nil, err
	}
	return s, nil
}

// hash reads the file through for its SHA-256 (once, for the content
// index and the trail both).
func (s *source) hash(ctx context.Context) error {
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(s.obj, 0, s.info.Size)); err != nil {
		return s.readErr(ctx, err)
	}
	s.sha = hex.EncodeToString(h.Sum(nil))
	return nil
}

// prepared reports whether prepare wrote the file (it records when its
// sources arrived): such files are not checked for duplicates here.
func (s *source) prepared() bool {
	return s.pf.MetaData().KeyValueMetadata().FindValue(lake.ReceivedAtMetadata) != nil
}

func (s *source) check() error {
	defer s.prog.Load().Arm(s.info.Key)()
	pf, repairs, err := pqcompat.NewReader(s.obj, s.obj.Size(), memoryPool)
	s.repairs = repairs
	if err == nil {
		err = checkFooter(pf.MetaData(), s.obj.Size())
	}
	if err != nil {
		return reject(s.info.Key, "not a readable Parquet file", err)
	}
	s.batchRows = batchRows(pf.MetaData())
	s.fr, err = pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: s.batchRows}, memoryPool)
	if err != nil {
		return reject(s.info.Key, "unreadable Parquet schema", err)
	}
	s.rows = pf.NumRows()
	if s.rows == 0 {
		return reject(s.info.Key, "file has no rows", nil)
	}
	s.pf = pf
	s.int96 = findInt96(pf)
	s.raw, err = s.fr.Schema()
	if err != nil {
		return reject(s.info.Key, "unreadable Parquet schema", err)
	}
	s.raw = withInt96(s.raw, s.int96)
	s.readMark()
	s.readOrigins()
	s.canon, _, err = canonicalSchema(s.raw)
	if err != nil {
		return reject(s.info.Key, "unsupported schema", err)
	}
	s.consts = s.key.Partitions
	s.schema, err = withPathColumns(s.canon, s.consts)
	if err != nil {
		return reject(s.info.Key, "unsupported schema", err)
	}
	s.addLineage()
	return nil
}

// addLineage gives the rows of a file that prepare did not write (prepare
// decides for its own) the file's key in LineageColumn, unless the file
// has that column already (one exported from a lake, say).
func (s *source) addLineage() {
	if !s.lineage || s.mark != "" || s.prepared() || len(s.schema.FieldIndices(LineageColumn)) > 0 {
		return
	}
	lin := lake.PartitionValue{Name: LineageColumn, Value: s.info.Key}
	s.consts = append(slices.Clip(s.consts), lin)
	fields := append(s.schema.Fields(), arrow.Field{Name: LineageColumn, Type: arrow.BinaryTypes.String, Nullable: true})
	s.schema = arrow.NewSchema(fields, nil)
}

// readMark notes a file prepare wrote for registering, and reads it
// without its _etl_loaded_at (the last column) should it be re-encoded.
func (s *source) readMark() {
	v := s.pf.MetaData().KeyValueMetadata().FindValue(lake.RegisterMetadata)
	n := s.raw.NumFields()
	if v == nil || n < 2 || s.raw.Field(n-1).Name != LoadedAtColumn || len(s.int96) > 0 {
		return
	}
	s.mark = *v
	s.raw = arrow.NewSchema(s.raw.Fields()[:n-1], nil)
	leaves := s.pf.MetaData().Schema.NumColumns()
	s.leaves = make([]int, leaves-1)
	for i := range s.leaves {
		s.leaves[i] = i
	}
}

// readOrigins notes the sources prepare made the file from.
func (s *source) readOrigins() {
	kv := s.pf.MetaData().KeyValueMetadata()
	o, b := kv.FindValue(lake.OriginsMetadata), kv.FindValue(lake.PrepareBatchMetadata)
	if o == nil || b == nil || *o == "" {
		return
	}
	s.origins, s.prepBatch = strings.Split(*o, ","), *b
}

// withPathColumns appends one string column per name=value path segment.
// A file column of the same name, or one named _etl_loaded_at, is an error:
// which value is right cannot be known.
func withPathColumns(sc *arrow.Schema, parts []lake.PartitionValue) (*arrow.Schema, error) {
	if idx := sc.FieldIndices(LoadedAtColumn); len(idx) > 0 {
		return nil, fmt.Errorf("column %s is reserved for the load time", LoadedAtColumn)
	}
	fields := sc.Fields()
	for _, p := range parts {
		if len(sc.FieldIndices(p.Name)) > 0 {
			return nil, fmt.Errorf("column %s is both in the file and in the path (%s=%s)", p.Name, p.Name, p.Value)
		}
		fields = append(fields, arrow.Field{Name: p.Name, Type: arrow.BinaryTypes.String, Nullable: true})
	}
	return arrow.NewSchema(fields, nil), nil
}

func (s *source) close() { s.obj.Close() }

// icebergSchema is the file's schema as Iceberg sees it, _etl_loaded_at
// included, with fresh ids (for union with the table's).
func (s *source) icebergSchema() (*iceberg.Schema, error) {
	return lake.NewTableSchema(s.tableSchema())
}

// records yields the file's rows as batches of the target table schema:
// canonical types, path columns and _etl_loaded_at filled in, missing
// columns null. Errors decoding the file come back as *RejectError.
func (s *source) records(ctx context.Context, target *iceberg.Schema, loadedAt time.Time) iter.Seq2[arrow.RecordBatch, error] {
	return func(yield func(arrow.RecordBatch, error) bool) {
		proj, err := s.projector(target, loadedAt)
		if err != nil {
			yield(nil, err)
			return
		}
		defer proj.release()
		// Reading and projecting is the file's own work; the consumer's
		// time (between yields) is not.
		p := s.prog.Load()
		disarm := p.Arm(s.info.Key)
		defer func() { disarm() }()
		var read int64
		for rec, err := range s.rawBatches(ctx) {
			if err == nil {
				read += rec.NumRows()
				if err = checkOffsets(rec); err != nil {
					rec.Release()
				}
			}
			if err != nil {
				yield(nil, s.readErr(ctx, err))
				return
			}
			onBatch(s.info.Key)
			out, err := proj.apply(ctx, rec)
			rec.Release()
			if err != nil {
				yield(nil, s.readErr(ctx, err))
				return
			}
			p.Add(int(out.NumRows()))
			disarm()
			ok := yield(out, nil)
			disarm = p.Arm(s.info.Key)
			if !ok {
				return
			}
		}
		if read != s.rows {
			yield(nil, reject(s.info.Key, "cannot read the file's data", fmt.Errorf("%w: %d of %d", errRowCount, read, s.rows)))
		}
	}
}

// testCommitHook, set by tests only, is called just before each commit
// of a batch (a worker paused there, for tests).
var testCommitHook atomic.Pointer[func(table string)]

func beforeCommit(ref lake.TableRef) {
	if hook := testCommitHook.Load(); hook != nil {
		(*hook)(ref.String())
	}
}

// testBatchHook, set by tests only, is called for every batch read
// (atomic: a stalled read a test left behind may still call it).
var testBatchHook atomic.Pointer[func(key string)]

// onBatch calls testBatchHook, if set, for a batch of key read (or the
// whole file copied).
func onBatch(key string) {
	if hook := testBatchHook.Load(); hook != nil {
		(*hook)(key)
	}
}

// decodeAll reads every row of the file into the shape of schema target
// and discards it: a check that the whole file is readable.
func (s *source) decodeAll(ctx context.Context, target *iceberg.Schema) error {
	return lake.ProtectFile(s.info.Key, func() error {
		for rec, err := range s.records(ctx, target, time.Time{}) {
			if err != nil {
				return err
			}
			rec.Release()
		}
		return nil
	})
}

// readErr classifies an error met while reading: cancellation and network
// trouble are transient, anything else is the file's fault.
func (s *source) readErr(ctx context.Context, err error) error {
	var ne net.Error
	if ctx.Err() != nil || errors.As(err, &ne) {
		return fmt.Errorf("read %s: %w", s.info.Key, err)
	}
	return reject(s.info.Key, "cannot read the file's data", err)
}

// projector turns one file's record batches into the table's shape.
type projector struct {
	src, canon *arrow.StructType
	consts     []arrow.Array // path columns then _etl_loaded_at, full batch length
	constN     int
	loadedAt   time.Time
	parts      []lake.PartitionValue
	fileSchema *iceberg.Schema // the canonical+consts schema with the table's ids
	target     *iceberg.Schema
	withTime   *arrow.Schema
	kept       columnSelection // withTime less the columns the contract discards
	file       *source         // for its personal-data actions
}

func (s *source) projector(target *iceberg.Schema, loadedAt time.Time) (*projector, error) {
	withTime := lake.WithLoadedAt(s.schema)
	kept := keptColumns(withTime, append(slices.Clip(s.discarded), s.piiDrop...))
	fileSchema, err := table.ArrowSchemaToIceberg(kept.schema, false, target.NameMapping())
	if err != nil {
		return nil, fmt.Errorf("map %s onto the table schema: %w", s.info.Key, err)
	}
	return &projector{
		src: arrow.StructOf(s.raw.Fields()...), canon: arrow.StructOf(s.canon.Fields()...),
		loadedAt: loadedAt, parts: s.consts,
		fileSchema: fileSchema, target: target, withTime: withTime, kept: kept, file: s,
	}, nil
}

// columnSelection is a schema's columns less some, and their positions.
type columnSelection struct {
	schema *arrow.Schema
	idx    []int // nil: all
}

// keptColumns is sc without the columns named in drop.
func keptColumns(sc *arrow.Schema, drop []string) columnSelection {
	if len(drop) == 0 {
		return columnSelection{schema: sc}
	}
	var fields []arrow.Field
	var idx []int
	for i, f := range sc.Fields() {
		if !slices.Contains(drop, f.Name) {
			fields, idx = append(fields, f), append(idx, i)
		}
	}
	return columnSelection{schema: arrow.NewSchema(fields, nil), idx: idx}
}

// apply cuts arrs, of the whole schema, to the kept columns.
func (c columnSelection) apply(arrs []arrow.Array) []arrow.Array {
	if c.idx == nil {
		return arrs
	}
	out := make([]arrow.Array, len(c.idx))
	for i, j := range c.idx {
		out[i] = arrs[j]
	}
	return out
}

func (p *projector) apply(ctx context.Context, rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	st := array.RecordToStructArray(rec)
	defer st.Release()
	conformed, err := conformStruct(ctx, st.Data(), p.src, p.canon)
	if err != nil {
		return nil, err
	}
	defer conformed.Release()
	cols := conformed.(*array.Struct)
	arrs := make([]arrow.Array, 0, len(p.withTime.Fields()))
	for i := range cols.NumField() {
		arrs = append(arrs, cols.Field(i))
	}
	consts := p.constants(int(rec.NumRows()))
	defer releaseAll(consts)
	arrs = append(arrs, consts...)
	defer releaseAll(p.file.transformPII(p.withTime, arrs))
	full := array.NewRecordBatch(p.kept.schema, p.kept.apply(arrs), rec.NumRows())
	defer full.Release()
	return table.ToRequestedSchema(ctx, p.target, p.fileSchema, full, table.SchemaOptions{
		IncludeFieldIDs: true, FormatVersion: 2,
	})
}

func (p *projector) release() { releaseAll(p.consts) }

// constants returns the path columns and _etl_loaded_at for n rows, reusing
// the arrays of the last call when n fits.
func (p *projector) constants(n int) []arrow.Array {
	if n > p.constN {
		releaseAll(p.consts)
		p.consts = buildConstants(p.parts, p.loadedAt, n)
		p.constN = n
	}
	out := make([]arrow.Array, len(p.consts))
	for i, c := range p.consts {
		out[i] = array.NewSlice(c, 0, int64(n))
	}
	return out
}

func buildConstants(parts []lake.PartitionValue, loadedAt time.Time, n int) []arrow.Array {
	out := make([]arrow.Array, 0, len(parts)+1)
	for _, pv := range parts {
		b := array.NewStringBuilder(memoryPool)
		b.Reserve(n)
		b.ReserveData(n * len(pv.Value))
		for range n {
			b.Append(pv.Value)
		}
		out = append(out, b.NewArray())
		b.Release()
	}
	tb := array.NewTimestampBuilder(memoryPool, lake.LoadedAtType)
	tb.Reserve(n)
	ts := arrow.Timestamp(loadedAt.UnixMicro())
	for range n {
		tb.Append(ts)
	}
	out = append(out, tb.NewArray())
	tb.Release()
	return out
}

func releaseAll(arrs []arrow.Array) {
	for _, a := range arrs {
		a.Release()
	}
}
