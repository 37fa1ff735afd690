package logs

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/lagoon-dev/lagoon/lake"
)

// Filter selects log entries. Zero fields match everything.
type Filter struct {
	// Level is the lowest level shown ("warn" shows warnings and errors).
	Level string
	Since time.Time
	// Table is "db.table" or "db".
	Table string
}

// ParseLevel maps "debug", "info", "warn"/"warning" and "error" to a level.
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if strings.EqualFold(s, "warning") {
		s = "warn"
	}
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

func (f Filter) match(e Entry) bool {
	if f.Level != "" {
		want, _ := ParseLevel(f.Level)
		got, err := ParseLevel(e.Level)
		if err == nil && got < want {
			return false
		}
	}
	if f.Table != "" {
		db, t, hasTable := strings.Cut(f.Table, ".")
		if e.DB != db || hasTable && e.Table != t {
			return false
		}
	}
	return !e.Time.Before(f.Since)
}

// Query returns the log table's entries that f selects, oldest first. A
// lake without a log table yet has no entries.
func Query(ctx context.Context, lk *lake.Lake, f Filter) ([]Entry, error) {
	if f.Level != "" {
		if _, err := ParseLevel(f.Level); err != nil {
			return nil, err
		}
	}
	tbl, err := lk.LoadTable(ctx, TableDef.Ref())
	if lake.IsNoSuchTable(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var opts []table.ScanOption
	if !f.Since.IsZero() {
		opts = append(opts, table.WithRowFilter(iceberg.GreaterThanEqual(iceberg.Reference("time"),
			iceberg.Timestamp(f.Since.UnixMicro()))))
	}
	data, err := tbl.Scan(opts...).ToArrowTable(ctx)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", TableDef.Ref(), err)
	}
	defer data.Release()
	var out []Entry
	for _, e := range entries(data) {
		if f.match(e) {
			out = append(out, e)
		}
	}
	slices.SortStableFunc(out, func(a, b Entry) int { return a.Time.Compare(b.Time) })
	return out, nil
}

// entries decodes the rows of a log-table read.
func entries(data arrow.Table) []Entry {
	var out []Entry
	tr := array.NewTableReader(data, 4096)
	defer tr.Release()
	for tr.Next() {
		rec := tr.RecordBatch()
		col := func(name string) arrow.Array { return rec.Column(rec.Schema().FieldIndices(name)[0]) }
		s := func(name string, i int) string {
			c := col(name).(*array.String)
			if c.IsNull(i) {
				return ""
			}
			return c.Value(i)
		}
		ts := col("time").(*array.Timestamp)
		for i := range int(rec.NumRows()) {
			e := Entry{Time: time.UnixMicro(int64(ts.Value(i))).UTC(), Level: s("level", i), Stage: s("stage", i),
				DB: s("db", i), Table: s("table", i), Key: s("key", i), Message: s("message", i),
				Error: s("error", i), Worker: s("worker", i)}
			if d := s("detail", i); d != "" {
				_ = json.Unmarshal([]byte(d), &e.Detail)
			}
			out = append(out, e)
		}
	}
	return out
}
