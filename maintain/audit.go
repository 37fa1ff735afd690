package maintain

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"

	"github.com/lagoon-dev/lagoon/journal"
	"github.com/lagoon-dev/lagoon/lake"
)

// RunPrefix holds the intents of maintenance runs under way.
const RunPrefix = lake.PrefixTmp + "lagoon/maintain/"

// run is a maintenance run begun: its table and where the table stood.
type run struct {
	ID    string    `json:"id"`
	Table string    `json:"table"`
	Began time.Time `json:"began"`
	// Snapshot is the current snapshot when the run began (0: none);
	// Oldest the oldest one kept then.
	Snapshot int64 `json:"snapshot"`
	Oldest   int64 `json:"oldest"`
}

// Recorder audits maintenance runs exactly once. A run's intent is
// stored before it begins and dropped once its record is written; a run
// cut between (a kill, a record that failed) is recorded by the table's
// next run, from what the table shows it did: its compaction and manifest
// snapshots since it began, and its expiry. (What it deleted that no
// snapshot referenced, orphans and old metadata files, leaves no trace to
// record.)
type Recorder struct {
	Store lake.Store
	Audit lake.Auditor
	Log   *slog.Logger
}

func (r Recorder) journal() journal.Journal[run] {
	return journal.Journal[run]{Store: r.Store, Prefix: RunPrefix, Log: r.Log}
}

// Run maintains ref with m and records what it did; first it records
// the runs of ref that were cut. The run's intent is stored before its
// first commit only: a run that commits nothing stores none.
func (r Recorder) Run(ctx context.Context, m Maintainer, ref lake.TableRef) (Report, error) {
	if m.Config.DryRun {
		return m.Table(ctx, ref) // changes nothing: nothing to record
	}
	if err := r.recoverRuns(ctx, m, ref); err != nil {
		return Report{Table: ref.String()}, err
	}
	var in *run
	m.BeforeCommit = func(ctx context.Context, tbl *table.Table) error {
		if in != nil {
			return nil
		}
		began := newRun(ref, tbl)
		if err := r.journal().Write(ctx, ref.String(), began.ID, began); err != nil {
			return err
		}
		in = &began
		return nil
	}
	rep, err := m.Table(ctx, ref)
	if err != nil {
		return rep, err // the intent stays: the next run records what this one did
	}
	if err := r.record(ctx, ref, rep); err != nil || in == nil {
		return rep, err
	}
	return rep, r.journal().Drop(ctx, ref.String(), in.ID)
}

// newRun is the intent of a run of ref about to change tbl.
func newRun(ref lake.TableRef, tbl *table.Table) run {
	in := run{ID: uuid.NewString(), Table: ref.String(), Began: time.Now().UTC()}
	if s := tbl.CurrentSnapshot(); s != nil {
		in.Snapshot = s.SnapshotID
	}
	if snaps := tbl.Metadata().Snapshots(); len(snaps) > 0 {
		in.Oldest = snaps[0].SnapshotID
	}
	return in
}

// record audits a run that changed the table.
func (r Recorder) record(ctx context.Context, ref lake.TableRef, rep Report) error {
	if !rep.Did() || r.Audit == nil {
		return nil
	}
	return r.Audit.Record(ctx, lake.AuditEvent{Kind: lake.AuditMaintained, Table: ref.String(), SnapshotID: rep.Snapshot, Detail: rep.Summary()})
}

// recoverRuns records each cut run of ref that changed the table, then
// drops its intent.
func (r Recorder) recoverRuns(ctx context.Context, m Maintainer, ref lake.TableRef) error {
	return r.journal().Recover(ctx, ref.String(), func(ctx context.Context, in run) error {
		tbl, err := m.Catalog.LoadTable(ctx, ref.Ident())
		if err != nil {
			return fmt.Errorf("maintain %s: recover run %s: %w", ref, in.ID, err)
		}
		if did := cutRunDid(tbl.Metadata(), in); did != "" && r.Audit != nil {
			ev := lake.AuditEvent{Kind: lake.AuditMaintained, Table: ref.String(), Detail: did}
			if s := tbl.CurrentSnapshot(); s != nil {
				ev.SnapshotID = s.SnapshotID
			}
			if err := r.Audit.Record(ctx, ev); err != nil {
				return err
			}
		}
		return r.journal().Drop(ctx, ref.String(), in.ID)
	})
}

// cutRunDid says what a run cut after in began did to the table, as the
// table shows it ("": nothing): the replace snapshots (compaction,
// manifests) made since, and whether snapshots were expired.
func cutRunDid(meta table.Metadata, in run) string {
	var made []string
	began := in.Began.Add(-time.Minute).UnixMilli() // clocks differ a little; older snapshots are not the run's
	for s := meta.CurrentSnapshot(); s != nil && s.SnapshotID != in.Snapshot && s.TimestampMs >= began; s = journal.Parent(meta, s) {
		if s.Summary != nil && s.Summary.Operation == table.OpReplace {
			made = append(made, fmt.Sprint(s.SnapshotID))
		}
	}
	var parts []string
	if len(made) > 0 {
		parts = append(parts, "committed replace snapshots "+strings.Join(made, ", "))
	}
	if in.Oldest != 0 && meta.SnapshotByID(in.Oldest) == nil {
		parts = append(parts, "expired snapshots")
	}
	if len(parts) == 0 {
		return ""
	}
	return fmt.Sprintf("a run cut before its record (began %s) %s", in.Began.Format(time.RFC3339), strings.Join(parts, "; "))
}
