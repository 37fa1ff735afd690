// Package maintain keeps tables fast to read for ever: small data files
// of a partition are compacted into files near a target size, the
// current snapshot's manifests are merged when there are many, snapshots
// past their retention are expired (and the files only they referenced
// deleted), old metadata files go past a limit, and orphan files — left
// by commits that never happened — are deleted once old enough.
//
// Every step is one commit that loses or repeats no row. A compaction or
// a manifest rewrite is not pinned: when an append lands before it,
// iceberg-go replays it onto the new head, validating that the files it
// replaces are still there, so the append is kept (the loader's commits
// are pinned, so that an append that meets a maintenance commit tries
// again, fenced). Expiry and orphan deletion never touch what an
// in-flight batch may still commit: the table's journal intents bound
// them (see Config.Journal).
package maintain

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"

	"github.com/lagoon-dev/lagoon/journal"
	"github.com/lagoon-dev/lagoon/lake"
)

// Config says when and how far a table is maintained. Table properties
// set by the user win over it where Iceberg defines one
// (history.expire.max-snapshot-age-ms, history.expire.min-snapshots-to-keep,
// write.metadata.previous-versions-max, write.target-file-size-bytes).
type Config struct {
	// TargetFileSize is the size compacted files are written near.
	// Files under 3/4 of it are small; a partition is compacted once it
	// has MinInputFiles small files.
	TargetFileSize int64
	MinInputFiles  int
	// MaxRewriteBytes bounds the data one run rewrites (the rest waits for
	// the next run), so that a run stays short.
	MaxRewriteBytes int64
	// MaxManifests: past this many data manifests in the current
	// snapshot, they are merged.
	MaxManifests int
	// Snapshots older than SnapshotAge are expired, but the last
	// KeepSnapshots are always kept.
	SnapshotAge   time.Duration
	KeepSnapshots int
	// MetadataVersions earlier metadata files are kept; older ones are
	// deleted at each commit.
	MetadataVersions int
	// OrphanAge: files no snapshot references are deleted once older
	// than this (0: orphans are left).
	OrphanAge time.Duration
	// Journal, when set, names the oldest batch of the table still in
	// flight (zero: none): expiry keeps every snapshot since, and orphans
	// newer than it stay (its data files may be about to be committed).
	Journal func(ctx context.Context, ref lake.TableRef) (time.Time, error)
	// DryRun reports what would be done and changes nothing.
	DryRun bool
	// Locks, shared with the process's loader, keeps a maintenance run and
	// a load attempt (or a load's cleanup) of one table apart (nil: none).
	Locks *lake.TableLocks
}

// DefaultConfig compacts into 256 MiB files from 5 small ones (1 GiB a
// run at most), merges
// manifests past 8, keeps 5 days of snapshots and at least 20, 100
// earlier metadata files, and deletes orphans older than 3 days.
func DefaultConfig() Config {
	return Config{
		TargetFileSize: 256 << 20, MinInputFiles: 5, MaxRewriteBytes: 1 << 30, MaxManifests: 8,
		SnapshotAge: 5 * 24 * time.Hour, KeepSnapshots: 20, MetadataVersions: 100, OrphanAge: 3 * 24 * time.Hour,
	}
}

// SideConfig is the maintenance of lagoon's side tables (trail,
// statistics, log), synced every few seconds: compacted from 8 small
// files, 50 snapshots or an hour of them kept, orphans (of syncs killed
// between writing and committing) deleted after an hour.
func SideConfig() Config {
	cfg := DefaultConfig()
	cfg.MinInputFiles, cfg.SnapshotAge, cfg.KeepSnapshots, cfg.OrphanAge = 8, time.Hour, 50, time.Hour
	return cfg
}

// Report says what one run did (or, in a dry run, would do) to a table.
type Report struct {
	Table  string `json:"table"`
	DryRun bool   `json:"dry_run,omitempty"`
	// Compaction.
	FilesRewritten int   `json:"files_rewritten"`
	FilesWritten   int   `json:"files_written"`
	BytesRewritten int64 `json:"bytes_rewritten"`
	// Manifests merged.
	ManifestsRewritten int `json:"manifests_rewritten"`
	ManifestsWritten   int `json:"manifests_written"`
	// Expiry: snapshots, and the objects (data files, manifests,
	// manifest lists) that only they referenced, deleted with them.
	SnapshotsExpired int `json:"snapshots_expired"`
	// Orphans deleted, and earlier metadata files deleted past the limit.
	OrphansDeleted  int `json:"orphans_deleted"`
	MetadataDeleted int `json:"metadata_deleted"`
	// Took is the run's wall time.
	Took time.Duration `json:"took_ns"`
	// Snapshot is the table's current snapshot after the run.
	Snapshot int64 `json:"snapshot_id,omitempty"`
}

// Did reports whether the run changed (or would change) anything.
func (r Report) Did() bool {
	return r.FilesRewritten+r.ManifestsRewritten+r.SnapshotsExpired+r.OrphansDeleted+r.MetadataDeleted > 0
}

// Maintainer maintains the tables of one lake.
type Maintainer struct {
	Store   lake.Store
	Catalog catalog.Catalog
	// Lake is the lake's identity: a table of another lake is never
	// maintained (an error wrapping lake.ErrForeignTable).
	Lake   lake.Identity
	Config Config
	Log    *slog.Logger
	// BeforeCommit, when set, is called before each commit with the table
	// as it stands (Recorder: a run's intent, once it is to change the
	// table).
	BeforeCommit func(ctx context.Context, tbl *table.Table) error
}

// Table runs every step that is due on ref and reports what it did. A
// step that fails ends the run with its error; the steps before it are
// committed (each is whole on its own).
func (m Maintainer) Table(ctx context.Context, ref lake.TableRef) (Report, error) {
	start := time.Now()
	rep := Report{Table: ref.String(), DryRun: m.Config.DryRun}
	tbl, err := replayable{m.Catalog}.LoadTable(ctx, ref.Ident())
	if err == nil {
		err = m.Lake.Owns(tbl, m.Store)
	}
	if err != nil {
		return rep, fmt.Errorf("maintain %s: %w", ref, err)
	}
	m.Config.Journal = once(m.Config.Journal) // m is this run's copy
	steps := []func(context.Context, lake.TableRef, *table.Table, *Report) (*table.Table, error){
		m.properties, m.compact, m.manifests, m.expire, m.orphans,
	}
	// The whole run holds the table's lock: a compaction's new files are
	// unreferenced until its commit, and a load's cleanup of its own
	// failed attempts (age 0, on a local lake) must not take them.
	defer m.Config.Locks.Lock(ref)()
	for _, step := range steps {
		if tbl, err = step(ctx, ref, tbl, &rep); err != nil {
			rep.Took = time.Since(start)
			return rep, fmt.Errorf("maintain %s: %w", ref, err)
		}
	}
	rep.Took = time.Since(start)
	if snap := tbl.CurrentSnapshot(); snap != nil {
		rep.Snapshot = snap.SnapshotID
	}
	return rep, nil
}

// reach is how far back expiry and the orphan sweep may go: age, or
// further back when a batch of ref is in flight — to its oldest file's
// arrival less journal.FenceSkew (the fence and recovery look there, and
// its data files may be about to be committed).
func (m Maintainer) reach(ctx context.Context, ref lake.TableRef, age time.Duration) (time.Duration, error) {
	if m.Config.Journal == nil {
		return age, nil
	}
	since, err := m.Config.Journal(ctx, ref)
	if err != nil || since.IsZero() {
		return age, err
	}
	return max(age, time.Since(since.Add(-journal.FenceSkew))), nil
}

// once has journal looked up once: a run asks it for expiry and for the
// orphan sweep, and each look lists the table's folders.
func once(lookup func(context.Context, lake.TableRef) (time.Time, error)) func(context.Context, lake.TableRef) (time.Time, error) {
	if lookup == nil {
		return nil
	}
	var since time.Time
	var err error
	done := false
	return func(ctx context.Context, ref lake.TableRef) (time.Time, error) {
		if !done {
			since, err = lookup(ctx, ref)
			done = true
		}
		return since, err
	}
}

// commit commits tx unless this is a dry run.
func (m Maintainer) commit(ctx context.Context, ref lake.TableRef, tbl *table.Table, tx *table.Transaction) (*table.Table, error) {
	if m.Config.DryRun {
		return tbl, nil
	}
	if m.BeforeCommit != nil {
		if err := m.BeforeCommit(ctx, tbl); err != nil {
			return tbl, err
		}
	}
	next, err := tx.Commit(ctx)
	if next != nil && err != nil {
		// The commit landed; what failed is iceberg-go's deletion after it
		// of files that only expired snapshots referenced (gone already:
		// another sweep). What stays is the orphan sweep's.
		if m.Log != nil {
			m.Log.Debug("files after a maintenance commit not deleted", "table", ref.String(), "err", err)
		}
		return next, nil
	}
	if err != nil {
		return tbl, err
	}
	return next, nil
}
