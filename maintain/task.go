package maintain

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"

	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/logs"
)

// Zone names maintenance claims: one worker maintains a table at a time.
const Zone = "maintain/"

// Claimer gives a worker a table's maintenance for a while (lake.Claims).
type Claimer interface {
	Claim(ctx context.Context, zone string, ref lake.TableRef) (context.Context, func(), bool, error)
}

// Task maintains a lake's tables as a daemon side task: the users'
// tables the lake owns under stg/ (with Users; nil: they are left), and
// its side tables (with Side). A table is looked at again when it has a
// new snapshot, or Every after it was last (for what ages: snapshots,
// orphans).
type Task struct {
	Lake  *lake.Lake
	Users *Config
	Side  Config
	// SideTables are the side tables to maintain.
	SideTables []lake.SideTable
	// Journal bounds users' tables' expiry and orphans (Config.Journal).
	Journal func(ctx context.Context, ref lake.TableRef) (time.Time, error)
	Every   time.Duration
	// Claims, when set, is claimed per table (several workers).
	Claims Claimer
	Audit  lake.Auditor
	Log    *slog.Logger
	seen   map[lake.TableRef]looked // owned by Sync's caller: side tasks run one at a time
}

// looked is when a table was last maintained, at which snapshot.
type looked struct {
	snapshot int64
	at       time.Time
}

// Name implements the daemon's side task.
func (t *Task) Name() string { return "maintenance" }

// Sync implements the daemon's side task: it maintains each table that
// may need it, and adds no rows. A table that fails is logged and the
// others go on; the errors are joined.
func (t *Task) Sync(ctx context.Context) (int, error) {
	if t.seen == nil {
		t.seen = map[lake.TableRef]looked{}
	}
	var refs []lake.TableRef
	if t.Users != nil {
		var err error
		if refs, err = UserTables(ctx, t.Lake); err != nil {
			return 0, err
		}
	}
	var errs []error
	for _, ref := range refs {
		errs = append(errs, t.one(ctx, ref, t.users()))
	}
	for _, d := range t.SideTables {
		errs = append(errs, t.one(ctx, d.Ref(), t.side()))
	}
	return 0, errors.Join(errs...)
}

func (t *Task) users() Maintainer {
	cfg := *t.Users
	cfg.Journal = t.Journal
	return Maintainer{Store: t.Lake.Store, Catalog: t.Lake.Catalog, Lake: t.Lake.Identity, Config: cfg, Log: t.Log}
}

func (t *Task) side() Maintainer {
	return Maintainer{Store: t.Lake.Store, Catalog: t.Lake.Catalog, Lake: t.Lake.Identity, Config: t.Side, Log: t.Log}
}

// one maintains ref if it changed or is due, under its claim.
func (t *Task) one(ctx context.Context, ref lake.TableRef, m Maintainer) error {
	snap, err := t.currentSnapshot(ctx, ref)
	if errors.Is(err, catalog.ErrNoSuchTable) {
		return nil // not made yet (a side table before its first sync)
	}
	if err != nil || !t.due(ref, snap) {
		return err
	}
	if t.Claims != nil {
		cctx, release, ok, err := t.Claims.Claim(ctx, Zone, ref)
		if err != nil || !ok {
			return err
		}
		defer release()
		ctx = cctx
	}
	rep, err := m.Table(ctx, ref)
	if err != nil {
		t.Log.Warn("table maintenance failed; will retry", "stage", "maintain", "table", ref.String(), "err", err)
		return err
	}
	after, _ := t.currentSnapshot(ctx, ref)
	t.seen[ref] = looked{snapshot: after, at: time.Now()}
	return t.record(ctx, ref, rep, after)
}

// due reports whether ref has a new snapshot, or was last looked at
// Every ago.
func (t *Task) due(ref lake.TableRef, snap int64) bool {
	l, ok := t.seen[ref]
	return !ok || l.snapshot != snap || time.Since(l.at) >= t.Every
}

func (t *Task) currentSnapshot(ctx context.Context, ref lake.TableRef) (int64, error) {
	tbl, err := t.Lake.Catalog.LoadTable(ctx, ref.Ident())
	if err != nil {
		return 0, fmt.Errorf("maintain %s: %w", ref, err)
	}
	if s := tbl.CurrentSnapshot(); s != nil {
		return s.SnapshotID, nil
	}
	return 0, nil
}

// record logs and audits a run that changed the table.
func (t *Task) record(ctx context.Context, ref lake.TableRef, rep Report, snapshot int64) error {
	if !rep.Did() {
		return nil
	}
	t.Log.Info("table maintained", logs.KeepKey, true, "stage", "maintain", "table", ref.String(), "files_rewritten", rep.FilesRewritten,
		"files_written", rep.FilesWritten, "bytes_rewritten", rep.BytesRewritten, "manifests_rewritten", rep.ManifestsRewritten,
		"snapshots_expired", rep.SnapshotsExpired, "orphans_deleted", rep.OrphansDeleted, "metadata_deleted", rep.MetadataDeleted,
		"took", rep.Took)
	if t.Audit == nil {
		return nil
	}
	return t.Audit.Record(ctx, lake.AuditEvent{Kind: lake.AuditMaintained, Table: ref.String(), SnapshotID: snapshot, Detail: rep.Summary()})
}

// UserTables lists the tables lk owns under stg/ (not its side tables,
// nor tables of another lake sharing the catalog, nor tables under prd/).
func UserTables(ctx context.Context, lk *lake.Lake) ([]lake.TableRef, error) {
	var refs []lake.TableRef
	for ns, err := range namespaces(ctx, lk.Catalog) {
		if err != nil {
			return nil, err
		}
		if len(ns) != 1 || ns[0] == lake.SideNamespace {
			continue
		}
		for id, err := range lk.Catalog.ListTables(ctx, ns) {
			if err != nil {
				return nil, fmt.Errorf("list tables of %s: %w", ns[0], err)
			}
			if ref, ok := ownedUnderStg(ctx, lk, id); ok {
				refs = append(refs, ref)
			}
		}
	}
	return refs, nil
}

// ownedUnderStg reports whether the table id is the lake's own, under stg/.
func ownedUnderStg(ctx context.Context, lk *lake.Lake, id table.Identifier) (lake.TableRef, bool) {
	if len(id) != 2 {
		return lake.TableRef{}, false
	}
	ref := lake.TableRef{DB: id[0], Table: id[1]}
	tbl, err := lk.Catalog.LoadTable(ctx, ref.Ident())
	if err != nil || lk.Owns(tbl) != nil {
		return ref, false
	}
	stg := strings.TrimSuffix(lk.Store.URL(lake.PrefixStg), "/") + "/"
	return ref, strings.HasPrefix(tbl.Location()+"/", stg)
}

func namespaces(ctx context.Context, cat catalog.Catalog) func(func(table.Identifier, error) bool) {
	return func(yield func(table.Identifier, error) bool) {
		list, err := cat.ListNamespaces(ctx, nil)
		if err != nil {
			yield(nil, fmt.Errorf("list namespaces: %w", err))
			return
		}
		for _, ns := range list {
			if !yield(ns, nil) {
				return
			}
		}
	}
}

// Summary says what a run did in a line ("compacted 12 files into 1; …").
func (r Report) Summary() string {
	var parts []string
	add := func(n int, format string, args ...any) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf(format, args...))
		}
	}
	add(r.FilesRewritten, "compacted %d files (%d bytes) into %d", r.FilesRewritten, r.BytesRewritten, r.FilesWritten)
	add(r.ManifestsRewritten, "merged %d manifests into %d", r.ManifestsRewritten, r.ManifestsWritten)
	add(r.SnapshotsExpired, "expired %d snapshots", r.SnapshotsExpired)
	add(r.MetadataDeleted, "deleted %d old metadata files", r.MetadataDeleted)
	add(r.OrphansDeleted, "deleted %d orphan files", r.OrphansDeleted)
	if len(parts) == 0 {
		return "nothing to do"
	}
	return strings.Join(parts, "; ")
}
