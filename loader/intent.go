package loader

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"

	"github.com/lagoon-dev/lagoon/journal"
	"github.com/lagoon-dev/lagoon/lake"
)

// IntentPrefix holds the intents of batches being committed.
const IntentPrefix = lake.PrefixTmp + "lagoon/intents/"

// InFlight returns the arrival of the oldest file of ref that a batch
// may still commit — a batch's intent, a file waiting under load/, or
// one under prepare/ still to be converted — zero when there is none. Snapshots since (less journal.FenceSkew) are
// what the fence and recovery look at; table maintenance keeps them.
func InFlight(ctx context.Context, st lake.Store, ref lake.TableRef) (time.Time, error) {
	oldest, err := journal.Journal[intent]{Store: st, Prefix: IntentPrefix}.Oldest(ctx, ref.String())
	if err != nil {
		return time.Time{}, fmt.Errorf("batches in flight of %s: %w", ref, err)
	}
	for _, zone := range []string{lake.PrefixLoad, lake.PrefixPrepare} {
		for info, err := range st.List(ctx, ref.Dir(zone)) {
			if err != nil {
				return time.Time{}, fmt.Errorf("files waiting for %s: %w", ref, err)
			}
			if oldest.IsZero() || info.ModTime.Before(oldest) {
				oldest = info.ModTime
			}
		}
	}
	return oldest, nil
}

// intent records a batch before its commit: which files it appends, in
// which version, so that a restarted loader deletes exactly those files if
// (and only if) the batch's id made it into the table.
type intent struct {
	Batch   string       `json:"batch"`
	DB      string       `json:"db"`
	Table   string       `json:"table"`
	Created time.Time    `json:"created"`
	Files   []intentFile `json:"files"`
	// Abandoned: recovered while recent and not committed (see copyGrace).
	Abandoned bool `json:"abandoned,omitempty"`
}

type intentFile struct {
	Key      string `json:"key"`
	Version  string `json:"version"`
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256,omitempty"`
	Prepared bool   `json:"prepared,omitempty"`
}

func newIntent(ref lake.TableRef, srcs []*source) intent {
	in := intent{Batch: uuid.NewString(), DB: ref.DB, Table: ref.Table, Created: time.Now().UTC()}
	for _, s := range srcs {
		in.Files = append(in.Files, intentFile{Key: s.info.Key, Version: s.info.Version, Size: s.info.Size,
			SHA256: s.sha, Prepared: s.prepared()})
	}
	return in
}

func (in intent) ref() lake.TableRef { return lake.TableRef{DB: in.DB, Table: in.Table} }

// journal keeps the loader's intents, grouped by table:
// tmp/lagoon/intents/<db>.<table>/<batch>.json.
func (l *Loader) journal() journal.Journal[intent] {
	return journal.Journal[intent]{Store: l.st, Prefix: IntentPrefix, Log: l.log}
}

func (in intent) key() string {
	return journal.Journal[intent]{Prefix: IntentPrefix}.Key(in.ref().String(), in.Batch)
}

func (l *Loader) writeIntent(ctx context.Context, in intent) error {
	return l.journal().Write(ctx, in.ref().String(), in.Batch, in)
}

func (l *Loader) dropIntent(ctx context.Context, in intent) error {
	return l.journal().Drop(ctx, in.ref().String(), in.Batch)
}

// Recover finishes what a stopped process left half done, for every table:
// a batch that is in its table has its files deleted; any other intent is
// dropped, and its files load again. It is idempotent and safe to run at
// any time no batch of this lake is being committed.
func (l *Loader) Recover(ctx context.Context) error {
	return l.journal().Recover(ctx, "", l.recoverIntent)
}

func (l *Loader) recoverTable(ctx context.Context, ref lake.TableRef) error {
	return l.journal().Recover(ctx, ref.String(), l.recoverIntent)
}

// copyGrace is how long the copies a batch made for registering outlive
// its intent's recovery where several workers share the lake (no
// CleanOrphans): its worker, paused past its claim, may still commit them
// (deleting them first would leave the table naming files that are
// gone). Its files are free to load again meanwhile: the fence keeps them
// from landing twice. A lake with one process (CleanOrphans) needs no
// grace.
const copyGrace = time.Hour

// markAbandoned notes, once, that a recent batch that did not commit was
// recovered: its intent stays, copies and all, until copyGrace is over.
func (l *Loader) markAbandoned(ctx context.Context, in intent) error {
	if in.Abandoned {
		return nil
	}
	l.log.Info("a batch that was not committed: its files load again; its copies wait out the grace",
		"table", in.ref().String(), "batch", in.Batch, "files", len(in.Files), "grace", copyGrace)
	in.Abandoned = true
	return l.writeIntent(ctx, in)
}

func (l *Loader) recoverIntent(ctx context.Context, in intent) error {
	tbl, err := l.cat.LoadTable(ctx, in.ref().Ident())
	if errors.Is(err, catalog.ErrNoSuchTable) {
		return l.dropIntent(ctx, in)
	}
	if err == nil && !batchCommitted(tbl.Metadata(), in.Batch) && !l.cfg.CleanOrphans && time.Since(in.Created) < copyGrace {
		return l.markAbandoned(ctx, in)
	}
	if err == nil && !batchCommitted(tbl.Metadata(), in.Batch) {
		l.log.Info("dropping intent of a batch that was not committed", "table", in.ref().String(), "batch", in.Batch, "files", len(in.Files))
		if err := l.dropCopies(ctx, in); err != nil {
			return err
		}
		if err := l.cleanOrphans(ctx, in.ref(), tbl); err != nil {
			return err
		}
		return l.dropIntent(ctx, in)
	}
	if err != nil {
		return err
	}
	l.log.Info("finishing a committed batch", "table", in.ref().String(), "batch", in.Batch, "files", len(in.Files))
	if err := l.auditLoaded(ctx, in, batchSnapshot(tbl.Metadata(), in.Batch), nil); err != nil {
		return err
	}
	if err := l.noteTaken(ctx, in, batchSnapshot(tbl.Metadata(), in.Batch)); err != nil {
		return err
	}
	if err := l.auditSchemaChange(ctx, in.ref(), tbl.Metadata(), batchSnapshot(tbl.Metadata(), in.Batch)); err != nil {
		return err
	}
	if err := l.deleteLoaded(ctx, in); err != nil {
		return err
	}
	if err := l.writeVersionHint(ctx, in.ref(), tbl); err != nil {
		return err
	}
	return l.dropIntent(ctx, in)
}

// cleanOrphans deletes data files of the table that no snapshot
// references: what an attempt killed before its commit left behind.
func (l *Loader) cleanOrphans(ctx context.Context, ref lake.TableRef, tbl *table.Table) error {
	if !l.cfg.CleanOrphans {
		return nil
	}
	if !l.hasData(ctx, ref) {
		return nil // no data file yet: nothing can be orphaned
	}
	defer l.cfg.Locks.Lock(ref)() // not while a maintenance run has new files not yet committed
	res, err := tbl.DeleteOrphanFiles(ctx, table.WithLocation(tbl.Location()+"/data"), table.WithFilesOlderThan(0))
	if err != nil {
		return fmt.Errorf("orphan cleanup of %s: %w", tbl.Identifier(), err)
	}
	if n := len(res.DeletedFiles); n > 0 {
		l.log.Info("deleted data files of uncommitted attempts", "table", strings.Join(tbl.Identifier(), "."), "files", n)
	}
	return nil
}

// hasData reports whether the table's data/ folder holds any file.
func (l *Loader) hasData(ctx context.Context, ref lake.TableRef) bool {
	for _, err := range l.st.List(ctx, ref.Dir(lake.PrefixStg)+"data/") {
		return err == nil
	}
	return false
}

// finish runs after a batch's commit: delete its files, point the version
// hint at the new metadata, drop the intent.
func (l *Loader) finish(ctx context.Context, in intent, srcs []*source, rows int64) (lake.Result, error) {
	res := lake.Result{Table: in.ref(), Files: len(srcs), Rows: rows, Commits: 1}
	fileRows := map[string]int64{}
	for _, s := range srcs {
		res.Bytes += s.info.Size
		fileRows[s.info.Key] = s.rows
		s.close()
	}
	tbl, err := l.cat.LoadTable(ctx, in.ref().Ident())
	if err != nil {
		return res, fmt.Errorf("reload %s: %w", in.ref(), err)
	}
	if err := l.auditLoaded(ctx, in, batchSnapshot(tbl.Metadata(), in.Batch), fileRows); err != nil {
		return res, err
	}
	if err := l.noteTaken(ctx, in, batchSnapshot(tbl.Metadata(), in.Batch)); err != nil {
		return res, err
	}
	if err := l.auditSchemaChange(ctx, in.ref(), tbl.Metadata(), batchSnapshot(tbl.Metadata(), in.Batch)); err != nil {
		return res, err
	}
	if err := l.deleteLoaded(ctx, in); err != nil {
		return res, err
	}
	for _, s := range srcs {
		if err := l.cfg.Strikes.Clear(ctx, s.info.Key); err != nil {
			return res, err
		}
	}
	if err := l.writeVersionHint(ctx, in.ref(), tbl); err != nil {
		return res, err
	}
	var snap int64
	if cur := tbl.CurrentSnapshot(); cur != nil {
		snap = cur.SnapshotID
	}
	l.log.Info("batch loaded", "table", in.ref().String(), "files", res.Files, "rows", rows, "snapshot", snap)
	return res, l.dropIntent(ctx, in)
}

// deleteLoaded deletes an intent's files that are still the version that
// was loaded (up to lake.StoreFanout at a time); a file written again
// under the same key since is kept.
func (l *Loader) deleteLoaded(ctx context.Context, in intent) error {
	gone := make([]bool, len(in.Files))
	err := lake.Each(ctx, len(in.Files), func(ctx context.Context, i int) error {
		f := in.Files[i]
		ok, err := lake.DeleteTaken(ctx, l.st, f.Key, f.Version)
		if errors.Is(err, lake.ErrChanged) {
			l.log.Warn("file changed after it was loaded; keeping the new version", "key", f.Key)
			return nil
		}
		gone[i] = ok
		return err
	})
	if err != nil {
		return err
	}
	var deleted []lake.AuditFile
	for i, f := range in.Files {
		if gone[i] {
			deleted = append(deleted, lake.AuditFile{Key: f.Key, Size: f.Size})
		}
	}
	if len(deleted) == 0 {
		return nil
	}
	return l.cfg.Audit.Record(ctx, lake.AuditEvent{Kind: lake.AuditDeleted, Table: in.ref().String(), Files: deleted})
}

// noteTaken adds a committed batch's files (those prepare did not write)
// to the table's content index, for later duplicates to be found.
func (l *Loader) noteTaken(ctx context.Context, in intent, snapshot int64) error {
	var taken []lake.Taken
	for _, f := range in.Files {
		if !f.Prepared {
			taken = append(taken, lake.Taken{Key: f.Key, SHA256: f.SHA256, Snapshot: snapshot, Batch: in.Batch})
		}
	}
	return l.cfg.Dedupe.Note(ctx, in.ref(), taken...)
}

// auditLoaded records one "loaded" event for the batch, listing each of
// its files still in place (the version that was loaded) with its SHA-256,
// before they are deleted. rows may be nil (recovery does not know them).
func (l *Loader) auditLoaded(ctx context.Context, in intent, snapshot int64, rows map[string]int64) error {
	if _, off := l.cfg.Audit.(lake.NoAudit); off {
		return nil
	}
	ev := lake.AuditEvent{Kind: lake.AuditLoaded, Table: in.ref().String(), SnapshotID: snapshot, Detail: "batch " + in.Batch}
	files := make([]*lake.AuditFile, len(in.Files))
	err := lake.Each(ctx, len(in.Files), func(ctx context.Context, i int) error {
		var err error
		files[i], err = l.loadedFile(ctx, in.Files[i], rows)
		return err
	})
	if err != nil {
		return err
	}
	for _, f := range files {
		if f != nil {
			ev.Files = append(ev.Files, *f)
			ev.Rows += f.Rows
		}
	}
	if len(ev.Files) == 0 {
		return nil
	}
	return l.cfg.Audit.Record(ctx, ev)
}

// loadedFile is f as the "loaded" record lists it, or nil when it is no
// longer the version that was loaded.
func (l *Loader) loadedFile(ctx context.Context, f intentFile, rows map[string]int64) (*lake.AuditFile, error) {
	current, err := lake.IsCurrent(ctx, l.st, f.Key, f.Version)
	if err != nil || !current {
		return nil, err
	}
	sum := f.SHA256
	if sum == "" {
		if sum, err = lake.SHA256Of(ctx, l.st, f.Key); err != nil {
			return nil, err
		}
	}
	return &lake.AuditFile{Key: f.Key, Size: f.Size, SHA256: sum, Rows: rows[f.Key]}, nil
}

// auditSchemaChange records a "schema_changed" event when the snapshot's
// schema differs from its parent's (the commit evolved the table), with
// the new schema. (A table's first snapshot has its table_created record.)
func (l *Loader) auditSchemaChange(ctx context.Context, ref lake.TableRef, meta table.Metadata, snapshot int64) error {
	snap := meta.SnapshotByID(snapshot)
	if snap == nil || snap.SchemaID == nil || snap.ParentSnapshotID == nil {
		return nil
	}
	parent := meta.SnapshotByID(*snap.ParentSnapshotID)
	if parent == nil || parent.SchemaID == nil || *parent.SchemaID == *snap.SchemaID {
		return nil
	}
	sc := schemaByID(meta, *snap.SchemaID)
	if sc == nil {
		return nil
	}
	return l.cfg.Audit.Record(ctx, lake.AuditEvent{Kind: lake.AuditSchemaChanged, Table: ref.String(), SnapshotID: snapshot,
		Detail: fmt.Sprintf("schema %d → %d: %s", *parent.SchemaID, *snap.SchemaID, sc.String())})
}

func schemaByID(meta table.Metadata, id int) *iceberg.Schema {
	for _, sc := range meta.Schemas() {
		if sc.ID == id {
			return sc
		}
	}
	return nil
}

// batchSnapshot is the id of the snapshot that appended batch, or 0.
func batchSnapshot(meta table.Metadata, batch string) int64 {
	for _, s := range meta.Snapshots() {
		if s.Summary != nil && s.Summary.Properties[BatchProperty] == batch {
			return s.SnapshotID
		}
	}
	return 0
}

// writeVersionHint updates the table's metadata/version-hint.text.
func (l *Loader) writeVersionHint(ctx context.Context, ref lake.TableRef, tbl *table.Table) error {
	return lake.WriteVersionHint(ctx, l.st, ref.Dir(lake.PrefixStg), tbl)
}
