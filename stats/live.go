package stats

import (
	"context"
	"fmt"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// hasDeletes reports whether the snapshot's rows are less than its data
// files hold (an upserted table: equality deletes not yet compacted).
func hasDeletes(s *table.Snapshot) bool {
	if s == nil || s.Summary == nil {
		return false
	}
	n, _ := strconv.ParseInt(s.Summary.Properties["total-delete-files"], 10, 64)
	return n > 0
}

// liveCounts counts, over the rows readers see (deletes applied), the
// values and nulls of each top-level column: the manifests' counts include
// the rows deletes removed. Nested columns' counts are left out (unknown
// rather than wrong).
func liveCounts(ctx context.Context, tbl *table.Table, aggs map[int]*columnAgg) error {
	_, recs, err := tbl.Scan().ToArrowRecords(ctx)
	if err != nil {
		return fmt.Errorf("count live rows of %s: %w", tbl.Identifier(), err)
	}
	sc := tbl.Schema()
	counts := map[int]*columnAgg{}
	for rec, err := range recs {
		if err != nil {
			return fmt.Errorf("count live rows of %s: %w", tbl.Identifier(), err)
		}
		countRecord(sc, rec, counts)
		rec.Release()
	}
	for id, a := range aggs {
		c, top := counts[id]
		if !top {
			a.hasV, a.hasN = false, false
			continue
		}
		a.values, a.nulls, a.hasV, a.hasN = c.values, c.nulls, true, true
	}
	return nil
}

func countRecord(sc *iceberg.Schema, rec arrow.RecordBatch, counts map[int]*columnAgg) {
	for i, col := range rec.Columns() {
		f, ok := sc.FindFieldByName(rec.Schema().Field(i).Name)
		if !ok {
			continue
		}
		c := counts[f.ID]
		if c == nil {
			c = &columnAgg{}
			counts[f.ID] = c
		}
		c.nulls += int64(col.NullN())
		c.values += int64(col.Len())
	}
}
