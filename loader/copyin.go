package loader

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"path"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/lagoon-dev/lagoon/contract"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/pqcopy"
)

// copyPlans are the plans that write every file of a batch anew without
// re-encoding it (see source.copyPlan), or nil when one of them must be
// re-encoded: a column that does not fit, row groups smaller than
// minGroup on average, or a table a copy cannot feed: an upsert table
// (rows are looked up), or one partitioned otherwise than by load day (a
// file may span partitions).
func copyPlans(c *contract.Contract, staged *table.StagedTable, srcs []*source, loadedAt time.Time, minGroup int64) []pqcopy.Plan {
	if c.UpsertMode() || !defaultPartitioned(staged.Table) {
		return nil
	}
	plans := make([]pqcopy.Plan, len(srcs))
	for i, s := range srcs {
		if s.info.Size < minGroup*int64(max(1, s.pf.NumRowGroups())) {
			return nil
		}
		p, ok := s.copyPlan(staged.Schema(), loadedAt)
		if !ok {
			return nil
		}
		plans[i] = p
	}
	return plans
}

// copyOutputs groups a batch's files into the data files that copying
// them writes, as indices of srcs: files of one output schema together,
// in order, up to target bytes of source each (one file alone may be
// larger).
func copyOutputs(srcs []*source, plans []pqcopy.Plan, target int64) [][]int {
	var outs [][]int
	var sizes []int64
	open := map[string]int{} // output schema → the output its files go to
	for i, s := range srcs {
		key := plans[i].SchemaString()
		j, ok := open[key]
		if !ok || sizes[j]+s.info.Size > target {
			outs, sizes = append(outs, nil), append(sizes, 0)
			j = len(outs) - 1
			open[key] = j
		}
		outs[j], sizes[j] = append(outs[j], i), sizes[j]+s.info.Size
	}
	return outs
}

// writeCopies writes a batch's files anew by copying their chunks, merged
// as copyOutputs groups them, into the table's data/ folder beside
// register's copies (dropCopies deletes those of a batch not committed),
// and returns their URLs. When a file cannot be copied (pqcopy.ErrUnfit,
// or a panic reading it), the copies written are deleted and the error
// wraps errRecode: the batch is re-encoded.
func (l *Loader) writeCopies(ctx context.Context, ref lake.TableRef, batch string, srcs []*source, plans []pqcopy.Plan, target int64) ([]string, error) {
	var urls []string
	for i, idx := range copyOutputs(srcs, plans, target) {
		first := srcs[idx[0]]
		dst := copyPrefix(ref, batch) + fmt.Sprintf("%04d-", i) + path.Base(first.info.Key)
		err := lake.ProtectFile(first.info.Key, func() error { return l.writeCopy(ctx, dst, srcs, plans, idx) })
		if errors.Is(err, pqcopy.ErrUnfit) || errors.Is(err, lake.ErrInternal) {
			l.log.Info("batch re-encoded: a file's chunks cannot be copied", "table", ref.String(), "reason", err)
			if derr := l.deleteCopies(ctx, ref, batch); derr != nil {
				return nil, derr // tried again: no copy of a re-encoded batch stays
			}
			return nil, fmt.Errorf("%w: %w", errRecode, err)
		}
		if err != nil {
			return nil, err
		}
		urls = append(urls, l.st.URL(dst))
	}
	return urls, nil
}

// writeCopy writes the files srcs[idx] as one file at dst, each as its
// plan says; the first file's progress is the batch's.
func (l *Loader) writeCopy(ctx context.Context, dst string, srcs []*source, plans []pqcopy.Plan, idx []int) error {
	first := srcs[idx[0]]
	defer first.prog.Load().Arm(first.info.Key)()
	parts := make([]pqcopy.Part, 0, len(idx))
	for _, i := range idx {
		s := srcs[i]
		onBatch(s.info.Key)
		parts = append(parts, pqcopy.Part{Source: pqcopy.Source{R: s.obj, Size: s.info.Size, File: s.pf}, Plan: plans[i]})
	}
	w, err := l.st.Create(ctx, dst)
	if err != nil {
		return fmt.Errorf("copy into %s: %w", dst, err)
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	if _, err = pqcopy.Write(ctx, bw, parts...); err == nil {
		err = bw.Flush()
	}
	if err != nil {
		w.Abort()
		return fmt.Errorf("copy into %s: %w", dst, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("copy into %s: %w", dst, err)
	}
	return nil
}

// errRecode says that a batch's files could not be copied after all: it
// is re-encoded.
var errRecode = errors.New("re-encode the batch")

// copyBatch writes the batch's files anew by copying their chunks (see
// writeCopies) and adds them to tx, as appendRecords adds what it wrote;
// errRecode when one turned out unfit (tx is untouched then).
func (l *Loader) copyBatch(ctx context.Context, ref lake.TableRef, tx *table.Transaction, staged *table.StagedTable, srcs []*source, plans []pqcopy.Plan, batch string, props iceberg.Properties, written *attempt) error {
	target := staged.Properties().GetInt(table.WriteTargetFileSizeBytesKey, table.WriteTargetFileSizeBytesDefault)
	urls, err := l.writeCopies(ctx, ref, batch, srcs, plans, int64(target))
	if err != nil {
		return err
	}
	written.paths = append(written.paths, urls...)
	fs, err := staged.FS(ctx)
	if err != nil {
		return fmt.Errorf("table %s: %w", ref, err)
	}
	for _, u := range urls {
		df, err := table.FileToDataFile(ctx, fs, u, staged.Schema(), staged.Spec(), 0, staged.Properties())
		if err != nil {
			return fmt.Errorf("add %s: %w", u, err)
		}
		written.files = append(written.files, df)
	}
	return tx.AddDataFiles(ctx, written.files, props, table.WithoutDuplicateCheck(), table.WithoutAutoNameMapping())
}
