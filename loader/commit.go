package loader

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"path"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"

	"github.com/lagoon-dev/lagoon/contract"
	"github.com/lagoon-dev/lagoon/journal"
	"github.com/lagoon-dev/lagoon/lake"
)

// BatchProperty is the snapshot-summary property holding the id of the
// batch a commit appended; it is how a restarted loader knows a batch is in.
const BatchProperty = "lagoon.batch-id"

// errUnknownCommit marks a commit whose outcome could not be learnt.
var errUnknownCommit = errors.New("commit outcome unknown")

// commitBatch appends srcs to the table in one commit, retrying on
// conflicts and checking inside the retry whether the batch is already in.
// On success the files are deleted. A *RejectError names a file that
// spoiled the batch; nothing was committed then.
func (l *Loader) commitBatch(ctx context.Context, ref lake.TableRef, srcs []*source) (lake.Result, error) {
	in := newIntent(ref, srcs)
	if err := l.writeIntent(ctx, in); err != nil {
		return lake.Result{}, err
	}
	infos := make([]lake.ObjectInfo, len(srcs))
	for i, s := range srcs {
		infos[i] = s.info
	}
	if err := lake.Received(ctx, l.cfg.Audit, ref, in.Batch, infos); err != nil {
		return lake.Result{}, err
	}
	loadedAt := l.cfg.Now().UTC().Truncate(time.Microsecond)
	var rows int64
	var err error
	var aside lake.Result // files left out: waiting, skipped, rejected
	start := time.Now()
	for attempt := 0; attempt < l.cfg.CommitAttempts; attempt++ {
		var done bool
		err = lake.Protect(func() (err error) {
			defer l.cfg.Locks.Lock(ref)() // an attempt at a time, and no maintenance commit meanwhile
			done, rows, err = l.tryCommit(ctx, ref, srcs, in.Batch, loadedAt)
			return err
		})
		if done {
			res, err := l.finish(ctx, in, srcs, rows)
			res.Add(aside)
			res.CommitTimes = append(res.CommitTimes, time.Since(start))
			return res, err
		}
		if keys, why := leftOut(err); keys != nil {
			cause, all := err, srcs
			if srcs, err = l.leaveOut(ctx, &in, srcs, keys, why); err == nil {
				err = l.settleLeftOut(ctx, ref, all, cause, &aside)
			}
			if err != nil || len(srcs) == 0 {
				return l.emptyBatch(ctx, ref, in, aside, err)
			}
			attempt-- // not a conflict: the batch is smaller, not beaten
			continue
		}
		if !retryable(err) {
			break
		}
		aside.Conflicts++
		l.log.Debug("commit conflict, retrying", "table", ref.String(), "attempt", attempt+1, "err", err)
		lake.Sleep(ctx, conflictBackoff.Delay(attempt+1))
	}
	if errors.Is(err, errUnknownCommit) {
		// Keep the intent: recovery will learn the outcome later.
		return lake.Result{}, fmt.Errorf("commit %s: %w", ref, err)
	}
	if aerr := l.abandon(ctx, in); aerr != nil {
		l.log.Warn("cannot clean up after a failed batch; recovery will", "table", ref.String(), "err", aerr)
	}
	return lake.Result{}, fmt.Errorf("commit %s: %w", ref, err)
}

// conflictBackoff spaces a batch's commit attempts after conflicts: the
// one retry policy, jittered, so that workers beaten together do not try
// again together.
var conflictBackoff = lake.Backoff{Min: 50 * time.Millisecond, Max: 2 * time.Second}

// abandon cleans up after a batch known not to be committed: data files
// its attempts wrote (when CleanOrphans is on), then its intent.
func (l *Loader) abandon(ctx context.Context, in intent) error {
	if err := l.dropCopies(ctx, in); err != nil {
		return err
	}
	tbl, err := l.cat.LoadTable(ctx, in.ref().Ident())
	if err == nil {
		err = l.cleanOrphans(ctx, in.ref(), tbl)
	} else if errors.Is(err, catalog.ErrNoSuchTable) {
		err = nil
	}
	if err != nil {
		return err
	}
	return l.dropIntent(ctx, in)
}

// tryCommit makes one attempt. done is true when the batch is in the table,
// by this attempt or an earlier one whose answer was lost.
func (l *Loader) tryCommit(ctx context.Context, ref lake.TableRef, srcs []*source, batch string, loadedAt time.Time) (done bool, rows int64, err error) {
	tried := false // tx.Commit was called
	c, err := l.loadContract(ctx, ref)
	if err != nil {
		return false, 0, err
	}
	for _, s := range srcs {
		if err := s.applyPII(c, l.cfg.PIIKey); err != nil {
			return false, 0, fmt.Errorf("table %s: %w", ref, err)
		}
	}
	tbl, err := l.tableFor(ctx, ref, srcs[0], c)
	if err != nil {
		return false, 0, err
	}
	if batchCommitted(tbl.Metadata(), batch) {
		return true, countRows(srcs), nil
	}
	if ec := committedElsewhere(tbl.Metadata(), srcs); ec != nil {
		return false, 0, ec
	}
	if !c.UpsertMode() && registrable(tbl, srcs) {
		return l.register(ctx, ref, tbl, srcs, batch)
	}
	tx, err := pinned(tbl)
	if err != nil {
		return false, 0, err
	}
	if err := evolve(tx, srcs, c.ModeOrDefault()); err != nil {
		return false, 0, err
	}
	l.noteDiscarded(ref, srcs)
	newContract, err := applyContract(tx, tbl, c)
	if err != nil {
		return false, 0, fmt.Errorf("table %s: apply %s: %w", ref, contract.Key(ref), err)
	}
	staged, err := tx.StagedTable()
	if err != nil {
		return false, 0, fmt.Errorf("stage schema: %w", err)
	}
	var written attempt
	defer func() {
		if !done && (!tried || lake.IsCommitConflict(err)) {
			l.dropWritten(ctx, written.paths) // this attempt committed nothing: its files are garbage
		}
	}()
	props := commitProps(batch, srcs)
	rows, err = l.writeBatch(ctx, ref, tx, staged, srcs, c, props, batch, loadedAt, &written)
	if err != nil {
		return false, 0, err
	}
	if err := unchanged(ctx, l.st, srcs); err != nil {
		return false, 0, err
	}
	beforeCommit(ref)
	tried = true
	_, err = tx.Commit(ctx)
	if lake.IsCommitConflict(err) && !c.UpsertMode() {
		// an upsert looked the stored rows up: it is done again, whole
		err = l.recommit(ctx, ref, tbl, srcs, c, props, &written, err)
	}
	if err != nil {
		return l.afterFailedCommit(ctx, ref, batch, err, rows)
	}
	if newContract {
		if err := l.recordContract(ctx, ref, c); err != nil {
			return true, rows, err
		}
	}
	return true, rows, nil
}

// attempt is what an attempt wrote: its data files, and their paths, to
// delete if it commits nothing. (Its manifests are left to the orphan
// sweep: which of the staged metadata files are its own alone, iceberg-go
// does not say for sure.)
type attempt struct {
	files []iceberg.DataFile
	paths []string
}

// recommitAttempts bounds how often a batch's written files are committed
// again onto a table that only maintenance changed meanwhile.
const recommitAttempts = 5

// recommit commits the data files an attempt wrote again, onto the table
// as it is now, when what landed since base was only maintenance
// (replace snapshots: compactions, manifest merges, which change no row
// and no schema): the batch is not read and written again for it. It
// returns the conflict (err, or the latest) when anything else landed (an append, a
// schema change: the batch tries again from the start, fenced).
func (l *Loader) recommit(ctx context.Context, ref lake.TableRef, base *table.Table, srcs []*source, c *contract.Contract, props iceberg.Properties, w *attempt, err error) error {
	for range recommitAttempts {
		fresh, lerr := l.cat.LoadTable(ctx, ref.Ident())
		if lerr != nil || !onlyReplaced(base.Metadata(), fresh.Metadata()) {
			return err
		}
		if ec := committedElsewhere(fresh.Metadata(), srcs); ec != nil {
			return ec
		}
		tx, perr := pinned(fresh)
		if perr != nil {
			return perr
		}
		if eerr := evolve(tx, srcs, c.ModeOrDefault()); eerr != nil { // as the first attempt did: the files were written so
			return eerr
		}
		if _, aerr := applyContract(tx, fresh, c); aerr != nil {
			return aerr
		}
		if aerr := tx.AddDataFiles(ctx, w.files, props, table.WithoutDuplicateCheck(), table.WithoutAutoNameMapping()); aerr != nil {
			return fmt.Errorf("recommit: %w", aerr)
		}
		if _, err = tx.Commit(ctx); !lake.IsCommitConflict(err) {
			return err
		}
	}
	return err
}

// onlyReplaced reports whether every snapshot fresh has that base does
// not is a replace (maintenance), with schema and partition spec as they
// were.
func onlyReplaced(base, fresh table.Metadata) bool {
	if base.CurrentSchema().ID != fresh.CurrentSchema().ID || base.DefaultPartitionSpec() != fresh.DefaultPartitionSpec() {
		return false
	}
	var stop int64 = -1
	if s := base.CurrentSnapshot(); s != nil {
		stop = s.SnapshotID
	}
	for snap := fresh.CurrentSnapshot(); snap != nil && snap.SnapshotID != stop; snap = journal.Parent(fresh, snap) {
		if snap.Summary == nil || snap.Summary.Operation != table.OpReplace {
			return false
		}
	}
	return true
}

// dropWritten deletes the data files of an attempt that committed
// nothing (it failed before its commit, or its commit met
// another and was refused whole). An attempt whose commit's outcome is unknown keeps them:
// recovery learns whether they are in.
func (l *Loader) dropWritten(ctx context.Context, urls []string) {
	root := strings.TrimSuffix(l.st.URL(""), "/") + "/"
	for _, u := range urls {
		if key, ok := strings.CutPrefix(u, root); ok {
			if err := l.st.Delete(ctx, key); err != nil {
				l.log.Debug("a data file of an attempt that committed nothing stays, for the orphan sweep", "key", key, "err", err)
			}
		}
	}
}

// pinned is a transaction on tbl that commits only onto the snapshot the
// fence looked at: a commit landing first fails it for good, and the
// batch tries again, fence first. Unpinned, iceberg-go would replay it
// onto the new head — past the fence, so that a batch another worker
// committed meanwhile would land twice.
func pinned(tbl *table.Table) (*table.Transaction, error) {
	tx := tbl.NewTransaction()
	if err := tx.AssertRefSnapshotID(table.MainBranch); err != nil {
		return nil, fmt.Errorf("pin %s: %w", strings.Join(tbl.Identifier(), "."), err)
	}
	return tx, nil
}

// writeBatch writes the batch's data files for staged (the table as tx
// has it) and adds them to tx: copied when every file can be (see
// copyPlans), re-encoded otherwise. It returns the rows added; what it
// wrote is in written.
func (l *Loader) writeBatch(ctx context.Context, ref lake.TableRef, tx *table.Transaction, staged *table.StagedTable, srcs []*source, c *contract.Contract, props iceberg.Properties, batch string, loadedAt time.Time, written *attempt) (int64, error) {
	if plans := copyPlans(c, staged, srcs, loadedAt, l.cfg.CopyRowGroupBytes); plans != nil {
		err := l.copyBatch(ctx, ref, tx, staged, srcs, plans, batch, props, written)
		if !errors.Is(err, errRecode) {
			return countRows(srcs), err
		}
	}
	rdr, err := newBatchReader(ctx, staged.Schema(), srcs, loadedAt)
	if err != nil {
		return 0, err
	}
	defer rdr.Release()
	rows := int64(-1) // all rows read, unless an upsert kept some out
	if c.UpsertMode() {
		rows, err = l.upsertRecords(ctx, ref, tx, staged, rdr, c, props, written)
	} else {
		err = appendRecords(ctx, tx, staged, rdr, props, written)
	}
	if err != nil {
		if rdr.err != nil {
			return 0, rdr.err
		}
		return 0, fmt.Errorf("append: %w", err)
	}
	if rows < 0 {
		rows = rdr.rows.Load()
	}
	return rows, nil
}

// writeQueue bounds the record batches (of readBatchRows rows) waiting for
// each data file writer; iceberg-go's Append queues 64, up to four million
// rows held as Arrow. Re-encoding a 2M-row file peaked at 2.5 GB of heap
// with Append, 2.0 GB with this. The rest still grows with the file inside
// iceberg-go's write path (reading alone peaks at 0.28 GB); not found yet.
const writeQueue = 2

// appendRecords is tx.Append with a bounded write queue: the batches are
// written into data files of staged (the table as tx has it), then added.
func appendRecords(ctx context.Context, tx *table.Transaction, staged *table.StagedTable, rdr *batchReader, props iceberg.Properties, written *attempt) error {
	owned := func(yield func(arrow.RecordBatch, error) bool) {
		for rec, err := range array.IterFromReader(rdr) {
			if err == nil {
				rec.Retain() // WriteRecords releases what it is given
			}
			if !yield(rec, err) {
				return
			}
		}
	}
	var files []iceberg.DataFile
	for df, err := range table.WriteRecords(ctx, staged.Table, rdr.Schema(), owned, table.WithRecordBatchBufferSize(writeQueue)) {
		if err != nil {
			return err
		}
		files = append(files, df)
		written.paths = append(written.paths, df.FilePath())
	}
	written.files = files
	return tx.AddDataFiles(ctx, files, props, table.WithoutDuplicateCheck(), table.WithoutAutoNameMapping())
}

// afterFailedCommit looks at the table again: a commit whose answer was an
// error may still have landed (a lost reply, a timeout).
func (l *Loader) afterFailedCommit(ctx context.Context, ref lake.TableRef, batch string, cerr error, rows int64) (bool, int64, error) {
	tbl, err := l.cat.LoadTable(ctx, ref.Ident())
	if err != nil {
		return false, 0, fmt.Errorf("%w: %w (reload: %w)", errUnknownCommit, cerr, err)
	}
	if batchCommitted(tbl.Metadata(), batch) {
		return true, rows, nil
	}
	return false, 0, cerr
}

// retryable reports whether a failed attempt met a concurrent commit (see
// lake.IsCommitConflict).
func retryable(err error) bool {
	if err == nil || errors.Is(err, ErrRejected) {
		return false
	}
	return lake.IsCommitConflict(err)
}

func batchCommitted(meta table.Metadata, batch string) bool { return batchSnapshot(meta, batch) != 0 }

func countRows(srcs []*source) int64 {
	var n int64
	for _, s := range srcs {
		n += s.rows
	}
	return n
}

// tableFor loads the table, creating it from first's schema when missing.
func (l *Loader) tableFor(ctx context.Context, ref lake.TableRef, first *source, c *contract.Contract) (*table.Table, error) {
	tbl, err := l.cat.LoadTable(ctx, ref.Ident())
	if err == nil {
		return tbl, l.cfg.Lake.Owns(tbl, l.st)
	}
	if !errors.Is(err, catalog.ErrNoSuchTable) {
		return nil, err
	}
	sc, err := first.icebergSchema()
	if err != nil {
		return nil, reject(first.info.Key, "unsupported schema", err)
	}
	if sc, err = withContractTypes(sc, c); err != nil {
		return nil, reject(first.info.Key, "does not fit the table's contract", err)
	}
	// The table takes the first file's schema: make sure that file can be
	// read through before creating it, so a bad file leaves no empty table.
	if err := first.decodeAll(ctx, sc); err != nil {
		return nil, err
	}
	if err := lake.EnsureNamespace(ctx, l.cat, ref.DB); err != nil {
		return nil, err
	}
	spec, order, props, err := l.createOptions(first, sc, c)
	if err != nil {
		return nil, err
	}
	tbl, err = l.cat.CreateTable(ctx, ref.Ident(), sc,
		catalog.WithPartitionSpec(&spec), catalog.WithSortOrder(order),
		catalog.WithLocation(strings.TrimSuffix(l.st.URL(ref.Dir(lake.PrefixStg)), "/")),
		catalog.WithProperties(props))
	if errors.Is(err, catalog.ErrTableAlreadyExists) {
		return l.cat.LoadTable(ctx, ref.Ident())
	}
	if errors.Is(err, iceberg.ErrInvalidSchema) {
		// the file's schema, not the catalog: retrying cannot help
		return nil, reject(first.info.Key, "unsupported schema", err)
	}
	if err != nil {
		return nil, fmt.Errorf("create table %s: %w", ref, err)
	}
	l.log.Info("table created", "table", ref.String(), "columns", len(sc.Fields()), "from", first.info.Key)
	if err := l.cfg.Audit.Record(ctx, lake.AuditEvent{Kind: lake.AuditTableCreated, Table: ref.String(),
		Key: first.info.Key, Detail: tbl.Schema().String()}); err != nil {
		return nil, err
	}
	if err := l.recordContract(ctx, ref, c); err != nil {
		return nil, err
	}
	return tbl, l.writeVersionHint(ctx, ref, tbl)
}

// evolve merges each file's schema into the table's within tx: new columns
// are added, legal widenings applied. The files' schemas are merged on a
// scratch transaction first, then taken in as one schema change:
// iceberg-go asserts each change's base schema, so a second change in one
// transaction would fail its commit for good. A file whose types conflict
// is returned as a *RejectError and tx is left as it was.
func evolve(tx *table.Transaction, srcs []*source, mode contract.Mode) error {
	staged, err := tx.StagedTable()
	if err != nil {
		return err
	}
	scratch := staged.Table.NewTransaction()
	frozen := mode == contract.Freeze || mode == contract.DiscardRows
	for _, s := range srcs {
		sc, err := s.icebergSchema()
		if err != nil {
			return reject(s.info.Key, "unsupported schema", err)
		}
		if mode == contract.DiscardColumns {
			sc, s.discarded = discardColumns(tx, sc, staged.Schema())
		}
		if err := scratch.UpdateSchema(true, false).UnionByNameWith(sc).Commit(); err != nil {
			return rejectFit(s, mode, err)
		}
		merged, err := scratch.StagedTable()
		if err != nil {
			return err
		}
		if frozen && !sameFields(merged.Schema(), staged.Schema()) {
			return rejectFit(s, mode, fmt.Errorf("it would change the table's schema from %s to %s", staged.Schema(), merged.Schema()))
		}
	}
	if frozen {
		return nil
	}
	merged, err := scratch.StagedTable()
	if err != nil {
		return err
	}
	if err := tx.UpdateSchema(true, false).UnionByNameWith(merged.Schema()).Commit(); err != nil {
		return fmt.Errorf("evolve schema: %w", err)
	}
	return nil
}

// rejectFit is the rejection of a file whose schema the table does not
// take in (err), worded as the contract's mode says.
func rejectFit(s *source, mode contract.Mode, err error) error {
	switch mode {
	case contract.DiscardRows:
		// prepare discards the rows; a Parquet file is taken or left whole
		return reject(s.info.Key, "the table's contract discards rows of new columns (mode discard_rows), and a Parquet file in load/ is not split", err)
	case contract.Freeze:
		return reject(s.info.Key, "the table's contract freezes its schema (mode freeze)", err)
	}
	return reject(s.info.Key, "schema does not fit the table", err)
}

// discardColumns is sc without the columns the table lacks or holds with
// a type sc's cannot merge into (each tried alone), and their names.
func discardColumns(tx *table.Transaction, sc, tbl *iceberg.Schema) (*iceberg.Schema, []string) {
	var keep []iceberg.NestedField
	var dropped []string
	for _, f := range sc.Fields() {
		if _, ok := tbl.FindFieldByName(f.Name); !ok && f.Name != LoadedAtColumn {
			dropped = append(dropped, f.Name)
			continue
		}
		if _, err := tx.UpdateSchema(true, false).UnionByNameWith(iceberg.NewSchema(0, f)).Apply(); err != nil {
			dropped = append(dropped, f.Name)
			continue
		}
		keep = append(keep, f)
	}
	if len(dropped) == 0 {
		return sc, nil
	}
	return iceberg.NewSchema(sc.ID, keep...), dropped
}

func sameFields(a, b *iceberg.Schema) bool {
	return slices.EqualFunc(a.Fields(), b.Fields(), func(x, y iceberg.NestedField) bool { return x.Equals(y) })
}

// batchReader streams the batch's files as one RecordReader in the table's
// schema. A file's decode error stops it and is kept in err.
type batchReader struct {
	refs   atomic.Int64
	schema *arrow.Schema
	next   func() (arrow.RecordBatch, error, bool)
	stop   func()
	cur    arrow.RecordBatch
	err    error
	rows   atomic.Int64
	key    string // the file being read (set by the pulled iterator)
}

var _ interface {
	Next() bool
	RecordBatch() arrow.RecordBatch
} = (*batchReader)(nil)

func newBatchReader(ctx context.Context, target *iceberg.Schema, srcs []*source, loadedAt time.Time) (*batchReader, error) {
	sc, err := table.SchemaToArrowSchema(target, nil, true, false)
	if err != nil {
		return nil, fmt.Errorf("table schema to arrow: %w", err)
	}
	r := &batchReader{schema: sc}
	seq := func(yield func(arrow.RecordBatch, error) bool) {
		for _, s := range srcs {
			r.key = s.info.Key
			for rec, err := range s.records(ctx, target, loadedAt) {
				if !yield(rec, err) {
					return
				}
			}
		}
	}
	r.refs.Store(1)
	r.next, r.stop = iter.Pull2(coalesced(seq))
	return r, nil
}

// coalesceRows: a record batch of fewer rows is joined to its neighbours
// (see coalesced).
const coalesceRows = readBatchRows / 4

// coalesced joins runs of small record batches of one schema (small
// files, one after another) into batches of up to readBatchRows rows: the Parquet
// writer's cost per batch (level buffers zeroed, pages, statistics) is
// then paid per 64K rows, not per file. A batch of 1,000 files of 100 rows
// spent a seventh of its CPU zeroing level buffers.
func coalesced(in iter.Seq2[arrow.RecordBatch, error]) iter.Seq2[arrow.RecordBatch, error] {
	return func(yield func(arrow.RecordBatch, error) bool) {
		var held []arrow.RecordBatch
		var rows int64
		defer func() { releaseRecords(held) }()
		flush := func() bool {
			if len(held) == 0 {
				return true
			}
			rec, err := concatRecords(held, rows)
			releaseRecords(held)
			held, rows = nil, 0
			return yield(rec, err)
		}
		for rec, err := range in {
			if err != nil {
				yield(nil, err)
				return
			}
			joins := len(held) > 0 && held[0].Schema().Equal(rec.Schema())
			if !joins || rows+rec.NumRows() > readBatchRows || rec.NumRows() >= coalesceRows {
				if !flush() {
					rec.Release()
					return
				}
			}
			if rec.NumRows() >= coalesceRows {
				if !yield(rec, nil) {
					return
				}
				continue
			}
			held, rows = append(held, rec), rows+rec.NumRows()
		}
		flush()
	}
}

// concatRecords is recs (of one schema, rows in all) as one record
// batch; one batch alone is itself.
func concatRecords(recs []arrow.RecordBatch, rows int64) (arrow.RecordBatch, error) {
	if len(recs) == 1 {
		recs[0].Retain()
		return recs[0], nil
	}
	sc := recs[0].Schema()
	cols := make([]arrow.Array, 0, sc.NumFields())
	defer func() { releaseAll(cols) }()
	parts := make([]arrow.Array, len(recs))
	for i := range sc.NumFields() {
		for j, r := range recs {
			parts[j] = r.Column(i)
		}
		c, err := array.Concatenate(parts, memoryPool)
		if err != nil {
			return nil, fmt.Errorf("join record batches: %w", err)
		}
		cols = append(cols, c)
	}
	return array.NewRecordBatch(sc, cols, rows), nil
}

func releaseRecords(recs []arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}

func (r *batchReader) Retain() { r.refs.Add(1) }

func (r *batchReader) Release() {
	if r.refs.Add(-1) == 0 {
		r.stop()
		if r.cur != nil {
			r.cur.Release()
			r.cur = nil
		}
	}
}

func (r *batchReader) Schema() *arrow.Schema { return r.schema }

func (r *batchReader) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.err != nil {
		return false
	}
	var rec arrow.RecordBatch
	var ok bool
	err := lake.ProtectFile(r.key, func() (err error) {
		rec, err, ok = r.next() // a panic reading a file surfaces here
		return err
	})
	if !ok && err == nil {
		return false
	}
	if err != nil {
		r.err = err
		return false
	}
	r.cur = rec
	r.rows.Add(rec.NumRows())
	return true
}

func (r *batchReader) RecordBatch() arrow.RecordBatch { return r.cur }

// Record is RecordBatch under its deprecated name.
func (r *batchReader) Record() arrow.RecordBatch { return r.cur }

func (r *batchReader) Err() error { return r.err }

// receivedAt is when the batch's oldest file arrived: as prepare
// recorded it in the file, or else the file's mtime.
func receivedAt(srcs []*source) time.Time {
	var oldest time.Time
	for _, s := range srcs {
		t := s.info.ModTime
		if v := s.pf.MetaData().KeyValueMetadata().FindValue(lake.ReceivedAtMetadata); v != nil {
			if p, err := time.Parse(time.RFC3339Nano, *v); err == nil {
				t = p
			}
		}
		if oldest.IsZero() || t.Before(oldest) {
			oldest = t
		}
	}
	return oldest
}

// copyPrefix is where register puts a batch's copies: the table's data/
// folder, names starting with the batch id.
func copyPrefix(ref lake.TableRef, batch string) string {
	return ref.Dir(lake.PrefixStg) + "data/" + batch + "-"
}

// dropCopies deletes the copies register made for a batch that was not
// committed: on S3 too, where no orphan sweep runs, they go.
func (l *Loader) dropCopies(ctx context.Context, in intent) error {
	return l.deleteCopies(ctx, in.ref(), in.Batch)
}

// deleteCopies deletes the copies (registered or copied chunk by chunk)
// made for a batch of ref.
func (l *Loader) deleteCopies(ctx context.Context, ref lake.TableRef, batch string) error {
	return lake.DeleteAll(ctx, l.st, copyPrefix(ref, batch))
}

// registrable reports whether every file of a batch was prepared for the
// table's current schema (lake.RegisterMetadata: its SchemaMark, or the
// FreshMark of a file written before the table existed): such files hold
// the table's field ids and _etl_loaded_at, and are added as they are.
func registrable(tbl *table.Table, srcs []*source) bool {
	if !defaultPartitioned(tbl) {
		return false // a file may span partitions: it is written again, split
	}
	mark, fresh := lake.SchemaMark(tbl), lake.FreshMark(tbl.Schema())
	for _, s := range srcs {
		if (s.mark != mark && s.mark != fresh) || len(s.consts) > 0 {
			return false
		}
	}
	return true
}

// register adds a batch of prepared files to the table without re-encoding
// them: each is copied into the table's data/ folder (a hard link on a
// local lake, a server-side copy on S3), then added in one commit. The
// files under load/ go only once the commit is in (as on the other path);
// copies of a commit that did not happen are deleted when the batch is
// abandoned or recovered (dropCopies).
func (l *Loader) register(ctx context.Context, ref lake.TableRef, tbl *table.Table, srcs []*source, batch string) (bool, int64, error) {
	urls := make([]string, 0, len(srcs))
	for _, s := range srcs {
		dst := copyPrefix(ref, batch) + path.Base(s.info.Key)
		if err := l.st.Copy(ctx, s.info.Key, dst); err != nil {
			return false, 0, fmt.Errorf("register %s: %w", s.info.Key, err)
		}
		urls = append(urls, l.st.URL(dst))
	}
	tx, err := pinned(tbl)
	if err != nil {
		return false, 0, err
	}
	if err := tx.AddFiles(ctx, urls, commitProps(batch, srcs), true); err != nil {
		return false, 0, fmt.Errorf("add files: %w", err)
	}
	rows := countRows(srcs)
	if err := unchanged(ctx, l.st, srcs); err != nil {
		return false, 0, err
	}
	beforeCommit(ref)
	if _, err := tx.Commit(ctx); err != nil {
		return l.afterFailedCommit(ctx, ref, batch, err, rows)
	}
	return true, rows, nil
}
