package lake

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go/table"
)

// ReadTable reads up to limit rows (all when limit < 0) of a table's
// current snapshot. The caller releases the result.
func ReadTable(ctx context.Context, tbl *table.Table, limit int64) (arrow.Table, error) {
	var opts []table.ScanOption
	if limit >= 0 {
		opts = append(opts, table.WithLimit(limit))
	}
	out, err := tbl.Scan(opts...).ToArrowTable(ctx)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", tbl.Identifier(), err)
	}
	return out, nil
}

// DataFiles lists the data files of a table's current snapshot, as URLs.
func DataFiles(ctx context.Context, tbl *table.Table) ([]string, error) {
	tasks, err := tbl.Scan().PlanFiles(ctx)
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", tbl.Identifier(), err)
	}
	out := make([]string, 0, len(tasks))
	for _, t := range tasks {
		out = append(out, t.File.FilePath())
	}
	return out, nil
}
