package prepare

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/lagoon-dev/lagoon/lake"
)

// Holding batches back while the table's schema moves. A batch converts
// to the table's types as the table is when it starts; if earlier
// outputs of the table still wait under load/, the table may yet change
// under it (be created from one of them, take new columns from it) and
// the batch's outputs would then not fit — found at load time, when the
// user's files are gone. So one decision, taken at two points: a batch
// that would change the table's schema waits while earlier outputs of the
// table wait for the loader, and converts again after, to the table as
// they leave it (its values that do not fit are then bad records of
// their own). Before converting, a table that does not exist yet takes
// only its first batch (newTableFirst); after, outputs with new columns
// wait (newColumnsWait).

// newTableFirst holds back all but the first batch of a table that does
// not exist yet — and every batch while an earlier one waits under load/
// for the loader to create the table from it — so that later batches
// convert to the types the table took: a value that does not fit is then
// a bad record of its own, not a reason to reject a whole prepared file.
// Without a catalog (no loader makes tables) every batch goes.
func (s *Stage) newTableFirst(ctx context.Context, ref lake.TableRef, tv tableView, batches [][]waiting, res *lake.Result) ([][]waiting, error) {
	if s.cat == nil || tv.sc != nil || s.cfg.NoLoader {
		return batches, nil
	}
	keep := 1
	if waiting, err := s.outputsWaiting(ctx, ref); err != nil {
		return nil, err
	} else if waiting {
		keep = 0
	}
	ready := s.cfg.Now().Add(time.Second)
	for _, b := range batches[keep:] {
		res.WaitUntil(len(b), ready)
	}
	return batches[:keep], nil
}

// outputsWaiting reports whether an output of the table waits under
// load/ for the loader.
func (s *Stage) outputsWaiting(ctx context.Context, ref lake.TableRef) (bool, error) {
	for info, err := range s.st.List(ctx, ref.Dir(lake.PrefixLoad)) {
		if err != nil {
			return false, err
		}
		if !lake.Ignored(info.Key) {
			return true, nil
		}
	}
	return false, nil
}

// errWaitForLoad: a batch's outputs bring columns the table lacks while
// earlier outputs of the table wait under load/; it converts again once
// those are in, to the table as they leave it.
var errWaitForLoad = errors.New("new columns wait for earlier outputs to load")

// newColumnsWait holds back outputs with new columns while other outputs
// of the table wait for the loader, or when the table's schema changed
// while the batch converted: those may add the same columns with other
// types, and this batch's outputs would then not fit the table — found at
// load time, when the user's files are gone. Converted again after, to
// the table as it is then, its values that do not fit are bad records of
// their own.
func (s *Stage) newColumnsWait(ctx context.Context, ref lake.TableRef, tv *tableView, srcs []Source, cres Result) error {
	if s.cfg.NoLoader || tv.reg == nil || tv.reg.New || cres.Registrable || !newColumns(cres.Schema, tv.reg.Table, constNames(srcs)) {
		return nil
	}
	waiting, err := s.outputsWaiting(ctx, ref)
	if err != nil || waiting {
		return cmp.Or(err, errWaitForLoad)
	}
	// None waits: but one may have loaded while this batch converted.
	tbl, err := s.cat.LoadTable(ctx, ref.Ident())
	if err != nil {
		return fmt.Errorf("load table %s: %w", ref, err)
	}
	if lake.SchemaMark(tbl) != tv.reg.Mark {
		return errWaitForLoad
	}
	return nil
}

// newColumns reports whether sc has a column the table lacks, leaving out
// the constant columns (strings always: they cannot conflict).
func newColumns(sc, tbl *arrow.Schema, consts []string) bool {
	for _, f := range sc.Fields() {
		if len(tbl.FieldIndices(f.Name)) == 0 && !slices.Contains(consts, f.Name) {
			return true
		}
	}
	return false
}
