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

// looked is when a table was last maintained, at which snapshot, and
// when its orphans were last swept (a sweep reads every manifest of every
// snapshot and lists the table's folders: once every Every is enough for
// files that must be days old).
type looked struct {
	snapshot  int64
	at, swept time.Time
}

// target is a table to look at, with its current snapshot (0: none).
type target struct {
	ref      lake.TableRef
	snapshot int64
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
	var users []target
	if t.Users != nil {
		var err error
		if users, err = userTables(ctx, t.Lake); err != nil {
			return 0, err
		}
	}
	var errs []error
	for _, u := range users {
		errs = append(errs, t.one(ctx, u, t.users()))
	}
	for _, d := range t.SideTables {
		snap, err := currentSnapshot(ctx, t.Lake, d.Ref())
		if errors.Is(err, catalog.ErrNoSuchTable) {
			continue // not made yet: before its first sync
		}
		if err == nil {
			err = t.one(ctx, target{ref: d.Ref(), snapshot: snap}, t.side())
		}
		errs = append(errs, err)
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

// one maintains a table if it changed or is due, under its claim.
func (t *Task) one(ctx context.Context, tg target, m Maintainer) error {
	ref, last := tg.ref, t.seen[tg.ref]
	if !t.due(tg) {
		return nil
	}
	sweep := time.Since(last.swept) >= t.Every
	if !sweep {
		m.Config.OrphanAge = 0 // swept less than Every ago
	}
	if t.Claims != nil {
		cctx, release, ok, err := t.Claims.Claim(ctx, Zone, ref)
		if err != nil || !ok {
			return err
		}
		defer release()
		ctx = cctx
	}
	rep, err := Recorder{Store: t.Lake.Store, Audit: t.Audit, Log: t.Log}.Run(ctx, m, ref)
	t.logMaintained(ref, rep)
	if err != nil {
		t.Log.Warn("table maintenance failed; will retry", "stage", "maintain", "table", ref.String(), "err", err)
		return err
	}
	next := looked{snapshot: rep.Snapshot, at: time.Now(), swept: last.swept}
	if sweep {
		next.swept = next.at
	}
	t.seen[ref] = next
	return nil
}

// due reports whether tg has a new snapshot, or was last looked at Every
// ago.
func (t *Task) due(tg target) bool {
	l, ok := t.seen[tg.ref]
	return !ok || l.snapshot != tg.snapshot || time.Since(l.at) >= t.Every
}

func currentSnapshot(ctx context.Context, lk *lake.Lake, ref lake.TableRef) (int64, error) {
	tbl, err := lk.Catalog.LoadTable(ctx, ref.Ident())
	if err != nil {
		return 0, fmt.Errorf("maintain %s: %w", ref, err)
	}
	if s := tbl.CurrentSnapshot(); s != nil {
		return s.SnapshotID, nil
	}
	return 0, nil
}

// logMaintained logs a run that changed the table.
func (t *Task) logMaintained(ref lake.TableRef, rep Report) {
	if !rep.Did() {
		return
	}
	t.Log.Info("table maintained", logs.KeepKey, true, "stage", "maintain", "table", ref.String(), "files_rewritten", rep.FilesRewritten,
		"files_written", rep.FilesWritten, "bytes_rewritten", rep.BytesRewritten, "manifests_rewritten", rep.ManifestsRewritten,
		"snapshots_expired", rep.SnapshotsExpired, "orphans_deleted", rep.OrphansDeleted, "metadata_deleted", rep.MetadataDeleted,
		"took", rep.Took)
}

// UserTables lists the tables lk owns under stg/ (not its side tables,
// nor tables of another lake sharing the catalog, nor tables under prd/).
func UserTables(ctx context.Context, lk *lake.Lake) ([]lake.TableRef, error) {
	tgs, err := userTables(ctx, lk)
	refs := make([]lake.TableRef, len(tgs))
	for i, tg := range tgs {
		refs[i] = tg.ref
	}
	return refs, err
}

// userTables is UserTables with each table's current snapshot (the one
// load of each table that a pass makes when nothing is due).
func userTables(ctx context.Context, lk *lake.Lake) ([]target, error) {
	var out []target
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
			if tg, ok := ownedUnderStg(ctx, lk, id); ok {
				out = append(out, tg)
			}
		}
	}
	return out, nil
}

// ownedUnderStg reports whether the table id is the lake's own, under stg/.
func ownedUnderStg(ctx context.Context, lk *lake.Lake, id table.Identifier) (target, bool) {
	if len(id) != 2 {
		return target{}, false
	}
	tg := target{ref: lake.TableRef{DB: id[0], Table: id[1]}}
	tbl, err := lk.Catalog.LoadTable(ctx, tg.ref.Ident())
	if err != nil || lk.Owns(tbl) != nil {
		return tg, false
	}
	if s := tbl.CurrentSnapshot(); s != nil {
		tg.snapshot = s.SnapshotID
	}
	stg := strings.TrimSuffix(lk.Store.URL(lake.PrefixStg), "/") + "/"
	return tg, strings.HasPrefix(tbl.Location()+"/", stg)
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
