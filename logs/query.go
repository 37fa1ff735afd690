package logs

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

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
	var opts []table.ScanOption
	if !f.Since.IsZero() {
		opts = append(opts, table.WithRowFilter(iceberg.GreaterThanEqual(iceberg.Reference("time"),
			iceberg.Timestamp(f.Since.UnixMicro()))))
	}
	var out []Entry
	err := lk.ScanSide(ctx, TableDef, func(c lake.Cols) {
		for _, e := range entries(c) {
			if f.match(e) {
				out = append(out, e)
			}
		}
	}, opts...)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b Entry) int { return a.Time.Compare(b.Time) })
	return out, nil
}

// entries decodes the rows of a log-table batch.
func entries(c lake.Cols) []Entry {
	out := make([]Entry, 0, c.Rows())
	for i := range c.Rows() {
		e := Entry{Time: c.Time("time", i), Level: c.Str("level", i), Stage: c.Str("stage", i), DB: c.Str("db", i),
			Table: c.Str("table", i), Key: c.Str("key", i), Message: c.Str("message", i), Error: c.Str("error", i),
			Worker: c.Str("worker", i)}
		if d := c.Str("detail", i); d != "" {
			_ = json.Unmarshal([]byte(d), &e.Detail)
		}
		out = append(out, e)
	}
	return out
}
