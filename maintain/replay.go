package maintain

import (
	"context"
	"fmt"

	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
)

// replayable is a catalog whose commits that find the table moved on (a
// requirement no longer met: an append landed) fail as
// table.ErrCommitFailed — the conflict that iceberg-go answers by
// replaying the commit onto the new head, validated — rather than as the
// plain error the SQL and Glue catalogs return when they check the
// requirements themselves. A compaction beaten by an append is then
// replayed over it (its new files are kept; the append's files are
// inherited), not rewritten from scratch. Tables it loads commit through
// it.
type replayable struct{ catalog.Catalog }

// LoadTable returns the table bound to c.
func (c replayable) LoadTable(ctx context.Context, ident table.Identifier) (*table.Table, error) {
	tbl, err := c.Catalog.LoadTable(ctx, ident)
	if err != nil {
		return nil, err
	}
	return table.New(tbl.Identifier(), tbl.Metadata(), tbl.MetadataLocation(), tbl.FS, c), nil
}

// CommitTable checks reqs against the table as the catalog has it first.
func (c replayable) CommitTable(ctx context.Context, ident table.Identifier, reqs []table.Requirement, updates []table.Update) (table.Metadata, string, error) {
	cur, err := c.Catalog.LoadTable(ctx, ident)
	if err != nil {
		return nil, "", err
	}
	for _, r := range reqs {
		if err := r.Validate(cur.Metadata()); err != nil {
			return nil, "", fmt.Errorf("%w: %v", table.ErrCommitFailed, err)
		}
	}
	return c.Catalog.CommitTable(ctx, ident, reqs, updates)
}

var _ catalog.Catalog = replayable{}
