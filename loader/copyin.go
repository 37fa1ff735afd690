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
// re-encoded, or the table is one a copy cannot feed: an upsert table
// (rows are looked up), or one partitioned otherwise than by load day (a
// file may span partitions).
func copyPlans(c *contract.Contract, staged *table.StagedTable, srcs []*source, loadedAt time.Time) []pqcopy.Plan {
	if c.UpsertMode() || !defaultPartitioned(staged.Table) {
		return nil
	}
	plans := make([]pqcopy.Plan, len(srcs))
	for i, s := range srcs {
		p, ok := s.copyPlan(staged.Schema(), loadedAt)
		if !ok {
			return nil
		}
		plans[i] = p
	}
	return plans
}

// writeCopies writes each file of a batch anew as its plan says, into
// the table's data/ folder beside register's copies (dropCopies deletes
// those of a batch not committed), and returns their URLs. An error
// wrapping pqcopy.ErrUnfit names a file that cannot be copied; the
// copies written are deleted then, and the batch is re-encoded.
func (l *Loader) writeCopies(ctx context.Context, ref lake.TableRef, batch string, srcs []*source, plans []pqcopy.Plan) ([]string, error) {
	urls := make([]string, 0, len(srcs))
	for i, s := range srcs {
		dst := copyPrefix(ref, batch) + path.Base(s.info.Key)
		err := lake.ProtectFile(s.info.Key, func() error { return s.writeCopy(ctx, l.st, dst, plans[i]) })
		if errors.Is(err, pqcopy.ErrUnfit) || errors.Is(err, lake.ErrInternal) {
			l.log.Info("file re-encoded: its chunks cannot be copied", "key", s.info.Key, "reason", err)
			if derr := lake.DeleteAll(ctx, l.st, copyPrefix(ref, batch)); derr != nil {
				return nil, derr // tried again: no copy of a re-encoded batch stays
			}
			return nil, err
		}
		if err != nil {
			return nil, err
		}
		urls = append(urls, l.st.URL(dst))
	}
	return urls, nil
}

// writeCopy writes the file anew to dst as plan says.
func (s *source) writeCopy(ctx context.Context, st lake.Store, dst string, plan pqcopy.Plan) error {
	defer s.prog.Load().Arm(s.info.Key)()
	onBatch(s.info.Key)
	w, err := st.Create(ctx, dst)
	if err != nil {
		return fmt.Errorf("copy %s: %w", s.info.Key, err)
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	src := pqcopy.Source{R: s.obj, Size: s.info.Size, File: s.pf}
	if _, err = pqcopy.Write(ctx, bw, src, plan); err == nil {
		err = bw.Flush()
	}
	if err != nil {
		w.Abort()
		return fmt.Errorf("copy %s: %w", s.info.Key, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("copy %s: %w", s.info.Key, err)
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
	urls, err := l.writeCopies(ctx, ref, batch, srcs, plans)
	if errors.Is(err, pqcopy.ErrUnfit) || errors.Is(err, lake.ErrInternal) {
		return fmt.Errorf("%w: %w", errRecode, err)
	}
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
