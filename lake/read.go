package lake

import (
	"context"
	"fmt"
	"strconv"

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

// LiveRecordsProperty is the snapshot summary property in which an
// upsert commit records the rows its readers see: the records less those
// its equality deletes (and earlier ones) remove.
const LiveRecordsProperty = "lagoon.live-records"

// LiveRecords is the rows the readers of snapshot s see. A table without
// delete files has its records; an upserted one, the count its last
// upsert recorded (maintenance, which changes no row, records none: its
// parents are looked at). Where no count was recorded (deletes of another
// writer) it is the records less the delete rows, a bound.
func LiveRecords(meta table.Metadata, s *table.Snapshot) int64 {
	for cur := s; cur != nil && cur.Summary != nil; {
		p := cur.Summary.Properties
		if v, ok := p[LiveRecordsProperty]; ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
		if summaryNum(p, "total-delete-files") == 0 {
			return summaryNum(p, "total-records")
		}
		if cur.Summary.Operation != table.OpReplace || cur.ParentSnapshotID == nil {
			break
		}
		cur = meta.SnapshotByID(*cur.ParentSnapshotID)
	}
	if s == nil || s.Summary == nil {
		return 0
	}
	p := s.Summary.Properties
	return max(0, summaryNum(p, "total-records")-summaryNum(p, "total-equality-deletes")-summaryNum(p, "total-position-deletes"))
}

func summaryNum(p map[string]string, key string) int64 {
	n, _ := strconv.ParseInt(p[key], 10, 64)
	return n
}
