package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/loader"
	"github.com/lagoon-dev/lagoon/maintain"
	"github.com/lagoon-dev/lagoon/trail"
)

func maintainCmd() *command {
	cfg := maintain.DefaultConfig()
	return &command{
		name:    "maintain",
		logs:    true,
		args:    "[DB.TABLE]",
		summary: "compact, expire and clean the tables now (the daemon does it by itself)",
		help: `Maintains every table of the lake under stg/ (or only DB.TABLE; lagoon.<name>
for a side table) and reports what it did:

  compaction  a partition's small data files (under 3/4 of --compact-target-size)
              are rewritten into files near that size once there are 5 of them;
  manifests   past 8 data manifests, the current snapshot's are merged;
  expiry      snapshots older than --snapshot-retention are expired, the last
              --keep-snapshots always kept, and the files only they referenced
              deleted (a table's history.expire.max-snapshot-age-ms and
              history.expire.min-snapshots-to-keep win);
  metadata    earlier metadata files past write.metadata.previous-versions-max
              (100 unless the table says) are deleted;
  orphans     data and metadata files no snapshot references, older than
              --orphan-age, are deleted.

No row is lost or repeated: a compaction that an append beats is replayed
over it, and expiry and orphan cleanup keep what a batch in flight may still
commit. lagoon run does the same by itself (--maintain). --dry-run reports
what is due and changes nothing; --json prints one object per table.

Each run is recorded in the trail (signed with $LAGOON_TRAIL_KEY when set),
once, even when it is cut: the table's next maintenance records what a cut
run did. A local lake that lagoon run holds is refused (the daemon maintains
it); on a bucket, a table another worker maintains right now is left, with
an error naming it.

Exit status 0 when every table was maintained, 1 when one failed (the others
are maintained all the same).`,
		flags: func(fs *flag.FlagSet, g *globals) {
			fs.BoolVar(&g.json, "json", false, "print a JSON array, one object per table")
			fs.BoolVar(&cfg.DryRun, "dry-run", false, "report what is due; change nothing")
			fs.Int64Var(&cfg.TargetFileSize, "compact-target-size", cfg.TargetFileSize, "size in bytes compacted files are written near")
			fs.DurationVar(&cfg.SnapshotAge, "snapshot-retention", cfg.SnapshotAge, "expire snapshots older than this")
			fs.IntVar(&cfg.KeepSnapshots, "keep-snapshots", cfg.KeepSnapshots, "snapshots always kept")
			fs.DurationVar(&cfg.OrphanAge, "orphan-age", cfg.OrphanAge, "delete unreferenced files older than this (0: never)")
		},
		run: func(ctx context.Context, g *globals, args []string) int {
			if len(args) > 1 {
				g.wantArgs("maintain", args, 1, "at most DB.TABLE")
				return exitUsage
			}
			var only *lake.TableRef
			if len(args) == 1 {
				ref, err := lake.ParseTableRef(args[0])
				if err != nil {
					fmt.Fprintf(g.stderr, "lagoon maintain: %v\n", err)
					return exitUsage
				}
				only = &ref
			}
			return runMaintain(ctx, g, only, cfg)
		},
	}
}

func runMaintain(ctx context.Context, g *globals, only *lake.TableRef, cfg maintain.Config) int {
	lk, err := g.openOwnLake(ctx, g.lakeConfig())
	if err != nil {
		return g.fail("maintain", err)
	}
	defer lk.Close()
	if err := lk.RequireIdentity(); err != nil {
		return g.fail("maintain", err)
	}
	refs, err := maintainTargets(ctx, lk, only)
	if err != nil {
		return g.fail("maintain", err)
	}
	release, err := holdForMaintenance(lk)
	if err != nil {
		return g.fail("maintain", err)
	}
	defer release()
	key, err := readPrivateKey(os.Getenv("LAGOON_TRAIL_KEY"))
	if err != nil {
		return g.fail("maintain", err)
	}
	rec := maintain.Recorder{Store: lk.Store, Audit: trail.NewWriter(lk.Store, key), Log: g.log}
	reps, err := maintainAll(ctx, g, lk, refs, cfg, rec)
	if perr := printMaintained(g, reps); perr != nil && err == nil {
		err = perr
	}
	if err != nil {
		return g.fail("maintain", err)
	}
	return exitOK
}

// maintainTargets is only, or every users' table of the lake.
func maintainTargets(ctx context.Context, lk *lake.Lake, only *lake.TableRef) ([]lake.TableRef, error) {
	if only != nil {
		return []lake.TableRef{*only}, nil
	}
	return maintain.UserTables(ctx, lk)
}

// maintainAll maintains each table (side tables with their own retention),
// saying on stderr how far it is.
func maintainAll(ctx context.Context, g *globals, lk *lake.Lake, refs []lake.TableRef, cfg maintain.Config, rec maintain.Recorder) ([]maintain.Report, error) {
	var reps []maintain.Report
	var errs []error
	for i, ref := range refs {
		fmt.Fprintf(g.stderr, "lagoon maintain: %s (%d of %d)\n", ref, i+1, len(refs))
		m := maintain.Maintainer{Store: lk.Store, Catalog: lk.Catalog, Lake: lk.Identity, Config: cfg, Log: g.log}
		if ref.DB == lake.SideNamespace {
			side := maintain.SideConfig()
			side.DryRun = cfg.DryRun
			m.Config = side
		} else {
			m.Config.Journal = func(ctx context.Context, ref lake.TableRef) (time.Time, error) {
				return loader.InFlight(ctx, lk.Store, ref)
			}
		}
		rep, err := claimed(ctx, lk, ref, g.log, func(ctx context.Context) (maintain.Report, error) { return rec.Run(ctx, m, ref) })
		reps = append(reps, rep)
		errs = append(errs, err)
	}
	return reps, errors.Join(errs...)
}

// holdForMaintenance takes a local lake's run lock, which lagoon run
// holds (it maintains the lake itself): one process maintains a local
// lake. Workers on an object store share it through claims per table.
func holdForMaintenance(lk *lake.Lake) (func(), error) {
	local, ok := lk.Store.(*lake.Local)
	if !ok {
		return func() {}, nil
	}
	lock, err := lake.LockLocal(local)
	if err != nil {
		return nil, fmt.Errorf("%w (lagoon run maintains the lake itself; stop it to maintain by hand)", err)
	}
	return func() { lock.Release() }, nil
}

// errMaintained: another worker maintains the table right now.
var errMaintained = errors.New("another worker maintains it now")

// claimed runs fn under ref's maintenance claim, the daemon's, on an
// object store (a local lake is held whole: holdForMaintenance).
func claimed(ctx context.Context, lk *lake.Lake, ref lake.TableRef, log *slog.Logger, fn func(context.Context) (maintain.Report, error)) (maintain.Report, error) {
	if _, local := lk.Store.(*lake.Local); local {
		return fn(ctx)
	}
	cctx, release, ok, err := lake.Claims{Store: lk.Store, TTL: 2 * time.Minute, Log: log}.Claim(ctx, maintain.Zone, ref)
	if err != nil || !ok {
		if err == nil {
			err = errMaintained
		}
		return maintain.Report{Table: ref.String()}, fmt.Errorf("maintain %s: %w", ref, err)
	}
	defer release()
	return fn(cctx)
}

func printMaintained(g *globals, reps []maintain.Report) error {
	if g.json {
		if reps == nil {
			reps = []maintain.Report{}
		}
		return printJSON(g.stdout, reps)
	}
	rows := make([][]string, 0, len(reps))
	for _, r := range reps {
		rows = append(rows, []string{r.Table, strconv.Itoa(r.FilesRewritten), strconv.Itoa(r.FilesWritten), humanBytes(r.BytesRewritten),
			strconv.Itoa(r.ManifestsRewritten), strconv.Itoa(r.SnapshotsExpired), strconv.Itoa(r.MetadataDeleted), strconv.Itoa(r.OrphansDeleted),
			r.Took.Round(time.Millisecond).String()})
	}
	head := []string{"TABLE", "COMPACTED", "INTO", "BYTES", "MANIFESTS", "SNAPSHOTS", "METADATA", "ORPHANS", "TOOK"}
	if len(reps) > 0 && reps[0].DryRun {
		fmt.Fprintln(g.stdout, "dry run: what is due (nothing was changed)")
	}
	printTable(g.stdout, head, rows)
	return nil
}
