package lake

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/apache/iceberg-go/table"
	"github.com/apache/iceberg-go/table/compaction"
)

// Maintenance keeps a side table fast to read after months of small
// appends: small data files are compacted, old snapshots expired.
type Maintenance struct {
	// MaxFiles is how many data files a side table may hold before its
	// small files are compacted (within each day partition).
	MaxFiles int
	// KeepSnapshots snapshots are always kept; older ones go once older
	// than SnapshotAge (their unreferenced files are deleted with them).
	KeepSnapshots int
	SnapshotAge   time.Duration
	// OrphanAge: after a compaction, files under the table's data/ that
	// no snapshot references and that are older than this are deleted
	// (left by syncs killed between writing and committing). It must
	// exceed the longest a sync can take between the two.
	OrphanAge time.Duration
}

// DefaultMaintenance compacts past 32 files, keeps 50 snapshots or an
// hour of them, whichever is more, and deletes orphans older than an hour.
func DefaultMaintenance() Maintenance {
	return Maintenance{MaxFiles: 32, KeepSnapshots: 50, SnapshotAge: time.Hour, OrphanAge: time.Hour}
}

// MaintainSide compacts and expires a side table when it needs it and
// reports what it did ("" when nothing). Safe to run at any time: each
// step is one pinned commit (see CommitSide); readers of older snapshots
// keep working until those expire.
func (l *Lake) MaintainSide(ctx context.Context, d SideTable, m Maintenance) (string, error) {
	tbl, err := l.OpenSide(ctx, d)
	if err != nil {
		return "", err
	}
	did := ""
	if files := summaryInt(tbl, "total-data-files"); m.MaxFiles > 0 && files > int64(m.MaxFiles) {
		if tbl, err = l.compact(ctx, d, tbl); err != nil {
			return "", fmt.Errorf("compact %s: %w", d.Ref(), err)
		}
		did = fmt.Sprintf("compacted %d files into %d", files, summaryInt(tbl, "total-data-files"))
		if m.OrphanAge > 0 {
			res, err := tbl.DeleteOrphanFiles(ctx, table.WithLocation(tbl.Location()+"/data"), table.WithFilesOlderThan(m.OrphanAge))
			if err != nil {
				return did, fmt.Errorf("orphans of %s: %w", d.Ref(), err)
			}
			if n := len(res.DeletedFiles); n > 0 {
				did += fmt.Sprintf("; deleted %d orphan files", n)
			}
		}
	}
	if n := len(tbl.Metadata().Snapshots()); m.KeepSnapshots > 0 && n > m.KeepSnapshots {
		tbl, err = l.CommitSide(ctx, d, tbl, func(tx *table.Transaction) error {
			return tx.ExpireSnapshots(table.WithRetainLast(m.KeepSnapshots), table.WithOlderThan(m.SnapshotAge))
		})
		if err != nil {
			return did, fmt.Errorf("expire snapshots of %s: %w", d.Ref(), err)
		}
		if left := len(tbl.Metadata().Snapshots()); left < n {
			did = strings.TrimPrefix(did+fmt.Sprintf("; expired %d snapshots", n-left), "; ")
		}
	}
	return did, nil
}

func (l *Lake) compact(ctx context.Context, d SideTable, tbl *table.Table) (*table.Table, error) {
	tasks, err := tbl.Scan().PlanFiles(ctx)
	if err != nil {
		return nil, err
	}
	plan, err := compaction.DefaultConfig().PlanCompaction(tasks)
	if err != nil || len(plan.Groups) == 0 {
		return tbl, err
	}
	groups := make([]table.CompactionTaskGroup, len(plan.Groups))
	for i, g := range plan.Groups {
		groups[i] = table.CompactionTaskGroup{PartitionKey: g.PartitionKey, Tasks: g.Tasks, TotalSizeBytes: g.TotalSizeBytes}
	}
	return l.CommitSide(ctx, d, tbl, func(tx *table.Transaction) error {
		_, err := tx.RewriteDataFiles(ctx, groups, table.RewriteDataFilesOptions{})
		return err
	})
}

func summaryInt(tbl *table.Table, key string) int64 {
	s := tbl.CurrentSnapshot()
	if s == nil || s.Summary == nil {
		return 0
	}
	n, _ := strconv.ParseInt(s.Summary.Properties[key], 10, 64)
	return n
}

// MaintainTask runs MaintainSide over side tables, as a side task.
type MaintainTask struct {
	Lake   *Lake
	Tables []SideTable
	Config Maintenance
	Log    *slog.Logger
}

// Name implements the daemon's side task.
func (m MaintainTask) Name() string { return "maintenance" }

// Sync implements the daemon's side task: it maintains each table that
// needs it and adds no rows.
func (m MaintainTask) Sync(ctx context.Context) (int, error) {
	for _, d := range m.Tables {
		did, err := m.Lake.MaintainSide(ctx, d, m.Config)
		if err != nil {
			return 0, err
		}
		if did != "" {
			m.Log.Info("side table maintained", "table", d.Ref().String(), "did", did)
		}
	}
	return 0, nil
}
