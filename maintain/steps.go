package maintain

import (
	"cmp"
	"context"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"github.com/apache/iceberg-go/table/compaction"

	"github.com/lagoon-dev/lagoon/lake"
)

// OperationProperty is the snapshot-summary property naming the
// maintenance step that made a snapshot.
const OperationProperty = lake.MaintenanceProperty

// properties turns on the deletion of metadata files past the table's
// limit (write.metadata.previous-versions-max, set to MetadataVersions
// unless the table has one).
func (m Maintainer) properties(ctx context.Context, ref lake.TableRef, tbl *table.Table, rep *Report) (*table.Table, error) {
	props := tbl.Properties()
	want := iceberg.Properties{}
	if props[table.MetadataDeleteAfterCommitEnabledKey] != "true" {
		want[table.MetadataDeleteAfterCommitEnabledKey] = "true"
	}
	if _, ok := props[table.MetadataPreviousVersionsMaxKey]; !ok && m.Config.MetadataVersions > 0 {
		want[table.MetadataPreviousVersionsMaxKey] = strconv.Itoa(m.Config.MetadataVersions)
	}
	if len(want) == 0 {
		return tbl, nil
	}
	tx := tbl.NewTransaction()
	if err := tx.SetProperties(want); err != nil {
		return tbl, err
	}
	return m.commitCounting(ctx, ref, tbl, tx, rep)
}

// compact rewrites the small files of each partition that has enough of
// them into files near the target size, up to MaxRewriteBytes a run.
func (m Maintainer) compact(ctx context.Context, ref lake.TableRef, tbl *table.Table, rep *Report) (*table.Table, error) {
	if tbl.CurrentSnapshot() == nil {
		return tbl, nil
	}
	tasks, err := tbl.Scan().PlanFiles(ctx)
	if err != nil {
		return tbl, fmt.Errorf("plan compaction: %w", err)
	}
	target := m.targetSize(tbl)
	cfg := compaction.DefaultConfig()
	cfg.TargetFileSizeBytes, cfg.MinFileSizeBytes, cfg.MaxFileSizeBytes = target, target*3/4, target*9/5
	cfg.MinInputFiles = uint(max(2, m.Config.MinInputFiles))
	plan, err := cfg.PlanCompaction(tasks)
	if err != nil {
		return tbl, fmt.Errorf("plan compaction: %w", err)
	}
	groups := m.bounded(plan.Groups, rep)
	if len(groups) == 0 || m.Config.DryRun {
		return tbl, nil
	}
	tx := tbl.NewTransaction()
	res, err := tx.RewriteDataFiles(ctx, groups, table.RewriteDataFilesOptions{
		SnapshotProps: iceberg.Properties{OperationProperty: "compaction"},
		GroupOptions:  []table.CompactionGroupOption{table.WithCompactionTargetFileSize(target)},
	})
	if err != nil {
		return tbl, fmt.Errorf("compact: %w", err)
	}
	rep.FilesRewritten, rep.FilesWritten = res.RemovedDataFiles, res.AddedDataFiles
	return m.commitCounting(ctx, ref, tbl, tx, rep)
}

// bounded keeps the groups that fit in MaxRewriteBytes (at least one)
// and counts them in rep.
func (m Maintainer) bounded(groups []compaction.Group, rep *Report) []table.CompactionTaskGroup {
	var out []table.CompactionTaskGroup
	var bytes int64
	for _, g := range groups {
		if len(out) > 0 && m.Config.MaxRewriteBytes > 0 && bytes+g.TotalSizeBytes > m.Config.MaxRewriteBytes {
			break
		}
		bytes += g.TotalSizeBytes
		out = append(out, table.CompactionTaskGroup{PartitionKey: g.PartitionKey, Tasks: g.Tasks, TotalSizeBytes: g.TotalSizeBytes})
		rep.FilesRewritten += len(g.Tasks)
		rep.FilesWritten += max(1, int((g.TotalSizeBytes+m.Config.TargetFileSize-1)/max(1, m.Config.TargetFileSize)))
	}
	rep.BytesRewritten = bytes
	return out
}

// targetSize is the table's write.target-file-size-bytes, or the config's.
func (m Maintainer) targetSize(tbl *table.Table) int64 {
	if v, ok := tbl.Properties()[table.WriteTargetFileSizeBytesKey]; ok {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
			return n
		}
	}
	return max(1, m.Config.TargetFileSize)
}

// manifests merges the current snapshot's data manifests when there are
// more than MaxManifests.
func (m Maintainer) manifests(ctx context.Context, ref lake.TableRef, tbl *table.Table, rep *Report) (*table.Table, error) {
	n, err := dataManifests(ctx, tbl)
	if err != nil || n <= m.Config.MaxManifests || m.Config.MaxManifests <= 0 {
		return tbl, err
	}
	if m.Config.DryRun {
		rep.ManifestsRewritten = n
		return tbl, nil
	}
	tx := tbl.NewTransaction()
	res, err := tx.RewriteManifests(ctx)
	if err != nil {
		return tbl, fmt.Errorf("rewrite manifests: %w", err)
	}
	if res.IsNoOp() {
		return tbl, nil
	}
	rep.ManifestsRewritten, rep.ManifestsWritten = len(res.RewrittenManifests), len(res.AddedManifests)
	return m.commitCounting(ctx, ref, tbl, tx, rep)
}

// dataManifests counts the data manifests of tbl's current snapshot.
func dataManifests(ctx context.Context, tbl *table.Table) (int, error) {
	snap := tbl.CurrentSnapshot()
	if snap == nil {
		return 0, nil
	}
	fs, err := tbl.FS(ctx)
	if err != nil {
		return 0, err
	}
	list, err := snap.Manifests(fs)
	if err != nil {
		return 0, fmt.Errorf("manifests: %w", err)
	}
	n := 0
	for _, mf := range list {
		if mf.ManifestContent() == iceberg.ManifestContentData {
			n++
		}
	}
	return n, nil
}

// expire expires the snapshots past the table's retention, keeping every
// snapshot since the oldest batch in flight (the fence and recovery look
// for it there).
func (m Maintainer) expire(ctx context.Context, ref lake.TableRef, tbl *table.Table, rep *Report) (*table.Table, error) {
	age, keep := m.retention(tbl)
	age, err := m.reach(ctx, ref, age)
	if err != nil {
		return tbl, err
	}
	n := expirable(tbl.Metadata(), age, keep)
	if n == 0 || m.Config.DryRun {
		rep.SnapshotsExpired = n
		return tbl, nil
	}
	before := len(tbl.Metadata().Snapshots())
	tx := tbl.NewTransaction()
	if err := tx.ExpireSnapshots(table.WithOlderThan(age), table.WithRetainLast(keep)); err != nil {
		return tbl, fmt.Errorf("expire snapshots: %w", err)
	}
	next, err := m.commitCounting(ctx, ref, tbl, tx, rep)
	if err == nil {
		rep.SnapshotsExpired = before - len(next.Metadata().Snapshots())
	}
	return next, err
}

// retention is the table's snapshot age and count to keep: its
// history.expire properties where set, else the config's.
func (m Maintainer) retention(tbl *table.Table) (time.Duration, int) {
	props := tbl.Properties()
	age, keep := m.Config.SnapshotAge, max(1, m.Config.KeepSnapshots)
	if v, err := strconv.ParseInt(props[table.MaxSnapshotAgeMsKey], 10, 64); err == nil && v >= 0 {
		age = time.Duration(v) * time.Millisecond
	}
	if v, err := strconv.Atoi(props[table.MinSnapshotsToKeepKey]); err == nil && v >= 1 {
		keep = v
	}
	return age, keep
}

// expirable counts the snapshots an expiry with age and keep would
// remove: those older than age, past the keep newest, other than the
// current one.
func expirable(meta table.Metadata, age time.Duration, keep int) int {
	snaps := slices.Clone(meta.Snapshots())
	slices.SortFunc(snaps, func(a, b table.Snapshot) int { return cmp.Compare(b.TimestampMs, a.TimestampMs) })
	cutoff := time.Now().Add(-age).UnixMilli()
	cur := meta.CurrentSnapshot()
	n := 0
	for i, s := range snaps {
		if i >= keep && s.TimestampMs < cutoff && (cur == nil || s.SnapshotID != cur.SnapshotID) {
			n++
		}
	}
	return n
}

// orphans deletes the files under the table's data/ and metadata/ that
// no snapshot references and that are older than OrphanAge (and than
// the oldest batch in flight, whose files may be about to be committed).
func (m Maintainer) orphans(ctx context.Context, ref lake.TableRef, tbl *table.Table, rep *Report) (*table.Table, error) {
	if m.Config.OrphanAge <= 0 {
		return tbl, nil
	}
	age, err := m.reach(ctx, ref, m.Config.OrphanAge)
	if err != nil {
		return tbl, err
	}
	refs, err := referenced(ctx, tbl)
	if err != nil {
		return tbl, fmt.Errorf("orphans: %w", err)
	}
	cutoff := time.Now().Add(-age)
	dir := m.tableDir(tbl)
	for info, err := range m.Store.List(ctx, dir) {
		if err != nil {
			return tbl, fmt.Errorf("orphans: %w", err)
		}
		key := info.Key
		if !deletable(strings.TrimPrefix(key, dir)) || refs[m.Store.URL(key)] || !info.ModTime.Before(cutoff) {
			continue
		}
		if !m.Config.DryRun {
			if err := lake.IgnoreNotExist(m.Store.Delete(ctx, key)); err != nil {
				return tbl, fmt.Errorf("orphans: %w", err)
			}
		}
		rep.OrphansDeleted++
	}
	return tbl, nil
}

// referenced is every file tbl's metadata names: its metadata files
// (current and logged), each snapshot's manifest list, manifests and
// their data and delete files (whatever their entries' status), and its
// statistics files.
func referenced(ctx context.Context, tbl *table.Table) (map[string]bool, error) {
	refs := map[string]bool{tbl.MetadataLocation(): true}
	meta := tbl.Metadata()
	for e := range meta.PreviousFiles() {
		refs[e.MetadataFile] = true
	}
	for st := range meta.Statistics() {
		refs[st.StatisticsPath] = true
	}
	fs, err := tbl.FS(ctx)
	if err != nil {
		return nil, err
	}
	for _, snap := range meta.Snapshots() {
		refs[snap.ManifestList] = true
		list, err := snap.Manifests(fs)
		if err != nil {
			return nil, err
		}
		for _, mf := range list {
			if refs[mf.FilePath()] {
				continue
			}
			refs[mf.FilePath()] = true
			entries, err := mf.FetchEntries(fs, false)
			if err != nil {
				return nil, err
			}
			for _, e := range entries {
				refs[e.DataFile().FilePath()] = true
			}
		}
	}
	return refs, nil
}

// tableDir is the key prefix of tbl's folder in the lake.
func (m Maintainer) tableDir(tbl *table.Table) string {
	return strings.TrimPrefix(strings.TrimSuffix(tbl.Location(), "/")+"/", strings.TrimSuffix(m.Store.URL(""), "/")+"/")
}

// deletable reports whether a file of a table's folder (its path there)
// may go as an orphan: a data file, manifest, manifest list, statistics
// file or metadata file — never a version hint, a lock, a temp file
// being written or anything else found there.
func deletable(rest string) bool {
	if strings.HasPrefix(path.Base(rest), ".") {
		return false
	}
	switch {
	case strings.HasPrefix(rest, "data/"):
		return strings.HasSuffix(rest, ".parquet")
	case strings.HasPrefix(rest, "metadata/"):
		for _, suffix := range []string{".avro", ".metadata.json", ".puffin", ".stats"} {
			if strings.HasSuffix(rest, suffix) {
				return true
			}
		}
	}
	return false
}

// commitCounting commits tx and counts the earlier metadata files the
// commit dropped from the table's log (deleted with it).
func (m Maintainer) commitCounting(ctx context.Context, ref lake.TableRef, tbl *table.Table, tx *table.Transaction, rep *Report) (*table.Table, error) {
	next, err := m.commit(ctx, ref, tbl, tx)
	if err != nil || next == tbl {
		return next, err
	}
	kept := map[string]bool{}
	for e := range next.Metadata().PreviousFiles() {
		kept[e.MetadataFile] = true
	}
	if next.Properties()[table.MetadataDeleteAfterCommitEnabledKey] == "true" {
		for e := range tbl.Metadata().PreviousFiles() {
			if !kept[e.MetadataFile] {
				rep.MetadataDeleted++
			}
		}
	}
	return next, nil
}
