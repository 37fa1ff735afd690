package lake

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"
)

// IdentityKey holds a lake's identity, made when the lake is first opened.
const IdentityKey = PrefixAssets + "lagoon/lake.json"

// Table properties naming the lake a table belongs to.
const (
	LakeIDProperty   = "lagoon.lake-id"
	LakeRootProperty = "lagoon.lake-root"
)

// ErrForeignTable classifies a table this lake must not write: it belongs
// to another lake (another root sharing the catalog: two lakes in one
// Glue account, one PostgreSQL catalog), or it lives outside this lake's
// root (a lake folder copied or moved, whose catalog still names the
// original's tables).
var ErrForeignTable = errors.New("the table belongs to another lake")

// Identity is a lake's own record: an id for its tables to carry, and its
// root (as a URL) when it was made.
type Identity struct {
	ID      string    `json:"id"`
	Root    string    `json:"root"`
	Created time.Time `json:"created"`
	// CatalogPrefix starts the catalog name of each of the lake's
	// namespaces ("p1_" makes db shop the catalog's p1_shop, and lagoon's
	// side namespace p1_lagoon), so that lakes can share one catalog.
	// Set once, when the lake is made (init --glue-prefix).
	CatalogPrefix string `json:"catalog_prefix,omitempty"`
}

// ErrPrefixMismatch: a lake was opened with a catalog prefix other than
// the one it was made with.
var ErrPrefixMismatch = errors.New("the lake was made with another catalog prefix")

// loadIdentity reads the lake's identity, making it (once, whoever races)
// when the lake has none yet.
// A prefix asked for (non-empty) must be the lake's.
func loadIdentity(ctx context.Context, st Store, prefix string) (Identity, error) {
	var id Identity
	err := GetJSON(ctx, st, IdentityKey, &id)
	if errors.Is(err, ErrNotExist) {
		id = Identity{ID: uuid.NewString(), Root: st.URL(""), Created: time.Now().UTC(), CatalogPrefix: prefix}
		err = PutJSONIfAbsent(ctx, st, IdentityKey, id)
		if errors.Is(err, ErrExist) {
			return loadIdentity(ctx, st, prefix)
		}
	}
	if err == nil && prefix != "" && prefix != id.CatalogPrefix {
		err = fmt.Errorf("%w (%q, asked for %q; see %s)", ErrPrefixMismatch, id.CatalogPrefix, prefix, IdentityKey)
	}
	return id, err
}

// TableProperties are the properties of every table lagoon creates in
// this lake: DefaultTableProperties and the lake's id and root.
func (id Identity) TableProperties() iceberg.Properties {
	props := DefaultTableProperties()
	if id.ID != "" {
		props[LakeIDProperty], props[LakeRootProperty] = id.ID, id.Root
	}
	return props
}

// Owns checks that this lake (whose store is st) may write tbl: a table
// carrying another lake's id, or one whose location is outside the lake's
// root, is an error wrapping ErrForeignTable that says what to do. Tables
// made before lakes had ids pass the id check. The zero Identity checks
// nothing.
func (id Identity) Owns(tbl *table.Table, st Store) error {
	if id.ID == "" {
		return nil
	}
	root := st.URL("")
	name := strings.Join(tbl.Identifier(), ".")
	if other := tbl.Properties()[LakeIDProperty]; other != "" && other != id.ID {
		return fmt.Errorf("%s: %w (lake %s at %s; this one is %s at %s): give each lake its own catalog, or its own Glue names",
			name, ErrForeignTable, other, tbl.Properties()[LakeRootProperty], id.ID, root)
	}
	if !within(st, tbl.Location()) {
		return fmt.Errorf("%s: %w: it lives at %s, outside this lake (%s)%s", name, ErrForeignTable, tbl.Location(), root, movedHint)
	}
	return nil
}

// movedHint says what to do about a lake folder copied or moved.
const movedHint = " — was the lake folder copied or moved? lagoon run relocates a lake on its " +
	"embedded catalog, but a shared catalog (PostgreSQL, Glue, REST) names the original's tables under " +
	"the same names: run lagoon on the original, or give the copy a catalog of its own"

// within reports whether loc (a table's location) is inside st's root. On
// a local lake both are resolved (symbolic links followed), so that a lake
// reached by another path to the same folder is the same lake.
func within(st Store, loc string) bool {
	root := strings.TrimSuffix(st.URL(""), "/") + "/"
	loc = strings.TrimSuffix(loc, "/") + "/"
	if strings.HasPrefix(loc, root) {
		return true
	}
	local, ok := st.(*Local)
	if !ok || !strings.HasPrefix(loc, "file://") {
		return false
	}
	real, err := filepath.EvalSymlinks(strings.TrimPrefix(loc, "file://"))
	if err != nil {
		return false // not there: not ours
	}
	rootReal, err := filepath.EvalSymlinks(local.Root())
	return err == nil && strings.HasPrefix(real+string(filepath.Separator), rootReal+string(filepath.Separator))
}

// SameRoot reports whether the root recorded in a lake's identity is st's
// (by path on a local lake: the same folder, however reached).
func SameRoot(st Store, recorded string) bool {
	if recorded == "" || strings.TrimSuffix(recorded, "/") == strings.TrimSuffix(st.URL(""), "/") {
		return true
	}
	local, ok := st.(*Local)
	if !ok {
		return false
	}
	a, errA := os.Stat(strings.TrimPrefix(recorded, "file://"))
	b, errB := os.Stat(local.Root())
	return errA == nil && errB == nil && os.SameFile(a, b)
}
