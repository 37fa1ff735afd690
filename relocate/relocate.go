// Package relocate makes a local lake whose folder was copied or moved
// its own again.
//
// Iceberg names every file by an absolute location: a table's
// metadata.json names its folder, its manifest lists and earlier metadata
// files; a manifest list names its manifests; a manifest names its data
// files; the embedded catalog names each table's metadata.json. A lake
// folder copied whole (cp -r) still names the original's files, and one
// moved (mv) names files that are gone. Run rewrites each of these
// locations from the root the lake was made at to the root it is at now,
// in the lake's own files only, so that the copy reads and writes its own
// tables and the original is never touched.
//
// A copy gets a new lake id (the original keeps its own, and the two lakes
// must not take each other's tables for their own); a moved lake keeps
// its id. Only a lake with its embedded catalog can be relocated: a shared
// catalog (PostgreSQL, Glue, REST) names the original's tables under the
// same names, and the copy has no catalog of its own to point at its files.
//
// Relocation is safe to cut short at any instruction: the decision (the
// roots and the ids) is recorded before any file changes, every file is
// replaced whole (written aside, then renamed), a file already rewritten
// is left as it is, and the lake's identity is updated last. Running again
// finishes the job.
package relocate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/lagoon-dev/lagoon/lake"
)

// PlanKey holds a relocation under way.
const PlanKey = lake.PrefixAssets + "lagoon/relocation.json"

// Report says what a relocation did. The zero Report: nothing to do.
type Report struct {
	From, To string // the roots, as URLs
	// Copy: the original is still at From, so this lake took a new id.
	Copy   bool
	ID     string // the lake's id from now on
	Tables int    // tables rebased
	Files  int    // metadata files rewritten
	// Missing lists files that tables name but that the folder does not
	// hold (earlier metadata files, manifests of old snapshots of a lake
	// copied in part); the current state of every table is complete, or
	// Run fails.
	Missing []string
}

// plan is the decision of a relocation, recorded before any file changes
// so that one cut short resumes with the same roots and ids.
type plan struct {
	From string `json:"from"`
	To   string `json:"to"`
	// Also are roots that a relocation cut short was taking the lake to
	// (it was moved again before it finished): locations under them are
	// rebased too.
	Also    []string  `json:"also,omitempty"`
	FromID  string    `json:"from_id"`
	ToID    string    `json:"to_id"`
	Copy    bool      `json:"copy"`
	Started time.Time `json:"started"`
}

// ErrShared classifies a lake copied or moved whose catalog is not its
// embedded one: it cannot be relocated.
var ErrShared = errors.New("a lake on a shared catalog cannot be relocated")

// Run relocates the local lake st, whose embedded catalog names its
// tables, when its identity records another root than st's (see the
// package doc). A lake at its own root is left as it is (the zero
// Report). Run fails with an error wrapping lake.ErrLocked when another
// lagoon process holds the lake.
func Run(ctx context.Context, st *lake.Local, log *slog.Logger) (Report, error) {
	unlock, err := lock(st)
	if err != nil {
		return Report{}, err
	}
	defer unlock()
	p, err := decide(ctx, st)
	if err != nil || p == nil {
		return Report{}, err
	}
	rep := Report{From: p.From, To: p.To, Copy: p.Copy, ID: p.ToID}
	if err := rebaseCatalog(ctx, st, rebaser{p: p, st: st}, &rep); err != nil {
		return rep, fmt.Errorf("relocate %s to %s: %w", p.From, p.To, err)
	}
	if err := finish(ctx, st, p); err != nil {
		return rep, fmt.Errorf("relocate %s to %s: %w", p.From, p.To, err)
	}
	log.Info("lake relocated", "from", p.From, "to", p.To, "copy", p.Copy, "id", p.ToID,
		"tables", rep.Tables, "files", rep.Files, "missing", len(rep.Missing))
	return rep, nil
}

// lock takes the lake's run lock (see lake.LockLocal): no lagoon process
// writes the lake while it is relocated — not even one that reaches the
// same folder by another path (a container's mount), for which the lake
// is where it was.
func lock(st *lake.Local) (func(), error) {
	l, err := lake.LockLocal(st)
	if err != nil {
		return nil, fmt.Errorf("relocate: %w", err)
	}
	return func() { l.Release() }, nil
}

// decide returns the relocation to do: the one recorded (cut short), or
// a new one when the lake's identity records another root; nil when
// there is nothing to do.
func decide(ctx context.Context, st *lake.Local) (*plan, error) {
	var p plan
	err := lake.GetJSON(ctx, st, PlanKey, &p)
	switch {
	case err == nil && p.To == st.URL(""):
		return &p, nil
	case err == nil: // cut short, then moved again: go on from here
		p.Also, p.To = append(p.Also, p.To), st.URL("")
		return &p, putJSON(ctx, st, PlanKey, p)
	case !errors.Is(err, lake.ErrNotExist):
		return nil, fmt.Errorf("relocate: %w", err)
	}
	var id lake.Identity
	if err := lake.GetJSON(ctx, st, lake.IdentityKey, &id); err != nil {
		return nil, fmt.Errorf("relocate: %w", err)
	}
	if lake.SameRoot(st, id.Root) {
		return nil, nil
	}
	p = plan{From: id.Root, To: st.URL(""), FromID: id.ID, ToID: id.ID, Started: time.Now().UTC()}
	if p.Copy = originalIsThere(ctx, st, id); p.Copy {
		p.ToID = uuid.NewString()
	}
	if err := putJSON(ctx, st, PlanKey, p); err != nil {
		return nil, fmt.Errorf("relocate: %w", err)
	}
	return &p, nil
}

// originalIsThere reports whether the folder the lake was made at still
// holds a lake with the same id (other than st's own folder): st is a copy.
func originalIsThere(ctx context.Context, st *lake.Local, id lake.Identity) bool {
	dir := strings.TrimPrefix(id.Root, "file://")
	orig, err := lake.NewLocal(dir)
	if err != nil {
		return false
	}
	var there lake.Identity
	if err := lake.GetJSON(ctx, orig, lake.IdentityKey, &there); err != nil {
		return false
	}
	a, errA := os.Stat(dir)
	b, errB := os.Stat(st.Root())
	return there.ID == id.ID && errA == nil && errB == nil && !os.SameFile(a, b)
}

// finish records the lake's new identity and drops the plan.
func finish(ctx context.Context, st *lake.Local, p *plan) error {
	var id lake.Identity
	if err := lake.GetJSON(ctx, st, lake.IdentityKey, &id); err != nil {
		return err
	}
	id.ID, id.Root = p.ToID, p.To
	if p.Copy {
		id.Created = p.Started
	}
	if err := putJSON(ctx, st, lake.IdentityKey, id); err != nil {
		return err
	}
	if err := beforeWrite(PlanKey); err != nil {
		return err
	}
	return st.Delete(ctx, PlanKey)
}

// putJSON is lake.PutJSON, stopped where tests ask.
func putJSON(ctx context.Context, st *lake.Local, key string, v any) error {
	if err := beforeWrite(key); err != nil {
		return err
	}
	return lake.PutJSON(ctx, st, key, v)
}

// rebaseCatalog rebases every table of the embedded catalog and repoints
// its row at the rebased metadata file.
func rebaseCatalog(ctx context.Context, st *lake.Local, rb rebaser, rep *Report) error {
	if _, err := os.Stat(st.Path(lake.CatalogFile)); err != nil {
		return fmt.Errorf("%w (no embedded catalog at %s): give the copy a catalog of its own, or run lagoon on the original", ErrShared, lake.CatalogFile)
	}
	db, err := sql.Open("sqlite", lake.SQLiteDSN(st))
	if err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	defer db.Close()
	rows, err := catalogRows(ctx, db)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if err := rebaseRow(ctx, db, rb, r, rep); err != nil {
			return err
		}
	}
	return rebaseNamespaces(ctx, db, rb)
}
