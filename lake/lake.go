// Package lake owns the layout of a lake: its keys and prefixes, the object
// store it lives in (a local directory, or S3), rejection of files that
// cannot be loaded, and opening its Iceberg catalog.
package lake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
)

// CatalogName is the name lagoon's catalogs are registered under.
const CatalogName = "lagoon"

// CatalogFile is the key of the embedded SQLite catalog of a local lake.
const CatalogFile = PrefixCatalog + "lagoon.db"

// Config says where a lake is and how to reach its catalog.
type Config struct {
	// Root is a local directory (the embedded default) or
	// s3://bucket[/prefix].
	Root string
	// Catalog is "" (sqlite locally, glue on S3), "sqlite", "glue",
	// "postgres://…" or "rest+https://…".
	Catalog string
	// S3PathStyle selects path-style S3 addressing (MinIO, moto, …).
	S3PathStyle bool
	// CatalogPrefix, when the lake is made, starts the catalog names of
	// its namespaces (see Identity.CatalogPrefix); later it must be the
	// same or empty.
	CatalogPrefix string
	// REST configures a REST catalog's authentication and warehouse.
	REST RESTConfig
	// MustExist opens only a lake made already (its identity is there):
	// nothing is created, and a root where there is none is ErrNoLake.
	// For commands that only read.
	MustExist bool
}

// ErrNoLake: Config.MustExist, and there is no lake at the root.
var ErrNoLake = errors.New("no lake here")

// DefaultConfig returns the configuration of a lake in ./demo-lake.
func DefaultConfig() Config { return Config{Root: "demo-lake"} }

// Lake is an open lake: its store and its catalog. Close releases both.
type Lake struct {
	Store   Store
	Catalog catalog.Catalog
	// AWS is the AWS configuration of an S3 lake (nil for a local one).
	AWS *aws.Config
	// Props are the file-IO properties that reach the lake's objects
	// (S3 endpoint, region, …), for tables opened by path.
	Props iceberg.Properties
	// Identity is the lake's id and root, which the tables it makes carry.
	// IdentityErr says why it could not be read or made (a read-only
	// user, say): readers go on without it; writers must not (see
	// RequireIdentity).
	Identity    Identity
	IdentityErr error
	closer      io.Closer
}

// IsS3 reports whether a root names an S3 bucket.
func IsS3(root string) bool { return strings.HasPrefix(root, "s3://") }

// Open opens the lake at cfg.Root and its catalog (creating an embedded
// catalog if it is missing). On S3 the AWS configuration comes from the
// standard chain: credentials, region, AWS_ENDPOINT_URL(_S3/_GLUE).
func Open(ctx context.Context, cfg Config) (*Lake, error) {
	st, awsCfg, props, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if cfg.MustExist {
		if err := mustExist(ctx, st, cfg.Root); err != nil {
			return nil, err
		}
	}
	id, idErr := loadIdentity(ctx, st, cfg.CatalogPrefix)
	if errors.Is(idErr, ErrPrefixMismatch) {
		return nil, fmt.Errorf("open lake %s: %w", cfg.Root, idErr)
	}
	if idErr == nil && !SameRoot(st, id.Root) {
		idErr = fmt.Errorf("%w: it was made at %s%s", ErrMoved, id.Root, movedHint)
	}
	cat, closer, err := openCatalog(ctx, cfg, st, awsCfg, props)
	if err != nil {
		return nil, fmt.Errorf("open lake %s: %w", cfg.Root, err)
	}
	cat = withNamespacePrefix(cat, id.CatalogPrefix)
	return &Lake{Store: st, Catalog: cat, AWS: awsCfg, Props: props, Identity: id, IdentityErr: idErr, closer: closer}, nil
}

// mustExist fails with ErrNoLake when st holds no lake identity.
func mustExist(ctx context.Context, st Store, root string) error {
	_, err := st.Stat(ctx, IdentityKey)
	if errors.Is(err, ErrNotExist) {
		return fmt.Errorf("%w: %s has no %s (lagoon init makes a lake; or is --root mistyped?)", ErrNoLake, root, IdentityKey)
	}
	if err != nil {
		return fmt.Errorf("open lake %s: %w", root, err)
	}
	return nil
}

// ErrMoved classifies a lake opened at another root than it was made at:
// a lake folder copied or moved.
var ErrMoved = errors.New("this lake was copied or moved")

// RequireIdentity fails when the lake's identity could not be read or
// made, or the lake was copied or moved (ErrMoved): a process that writes
// tables needs it (see Identity.Owns).
func (l *Lake) RequireIdentity() error {
	if l.IdentityErr != nil {
		return fmt.Errorf("lake identity (%s): %w", IdentityKey, l.IdentityErr)
	}
	return nil
}

// Owns checks that the lake may write tbl (see Identity.Owns).
func (l *Lake) Owns(tbl *table.Table) error { return l.Identity.Owns(tbl, l.Store) }

func openStore(ctx context.Context, cfg Config) (Store, *aws.Config, iceberg.Properties, error) {
	if !IsS3(cfg.Root) {
		if strings.Contains(cfg.Root, "://") {
			return nil, nil, nil, fmt.Errorf("lake root %s: want a local directory or s3://bucket[/prefix]", cfg.Root)
		}
		st, err := NewLocal(cfg.Root)
		return st, nil, nil, err
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("aws configuration: %w", err)
	}
	st, err := NewS3(awsCfg, cfg.Root, cfg.S3PathStyle)
	if err != nil {
		return nil, nil, nil, err
	}
	return st, &awsCfg, s3Props(awsCfg, cfg.S3PathStyle), nil
}

// Close releases the catalog connection.
func (l *Lake) Close() error {
	if l.closer != nil {
		return l.closer.Close()
	}
	return nil
}

// Init creates every prefix of the layout and the catalog. It is
// idempotent: running it on an initialised lake changes nothing.
func Init(ctx context.Context, cfg Config) error {
	l, err := Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer l.Close()
	if err := l.RequireIdentity(); err != nil {
		return err
	}
	return l.MakePrefixes()
}

// MakePrefixes creates every prefix of the layout in a local lake (object
// stores have no folders to create). Idempotent.
func (l *Lake) MakePrefixes() error {
	st, ok := l.Store.(*Local)
	if !ok {
		return nil
	}
	for _, p := range Prefixes {
		if err := os.MkdirAll(st.Path(p), 0o755); err != nil {
			return fmt.Errorf("init %s: %w", p, err)
		}
	}
	return nil
}

// Ident returns the catalog identifier of a table.
func (t TableRef) Ident() table.Identifier { return table.Identifier{t.DB, t.Table} }

// Tables lists every table of the catalog, namespace by namespace.
func (l *Lake) Tables(ctx context.Context) ([]TableRef, error) {
	nss, err := l.Catalog.ListNamespaces(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("list namespaces: %w", err)
	}
	var out []TableRef
	for _, ns := range nss {
		for id, err := range l.Catalog.ListTables(ctx, ns) {
			if err != nil {
				return nil, fmt.Errorf("list tables of %s: %w", strings.Join(ns, "."), err)
			}
			if len(id) == 2 {
				out = append(out, TableRef{DB: id[0], Table: id[1]})
			}
		}
	}
	return out, nil
}

// LoadTable loads a table from the catalog; the error wraps
// catalog.ErrNoSuchTable when it does not exist.
func (l *Lake) LoadTable(ctx context.Context, ref TableRef) (*table.Table, error) {
	t, err := l.Catalog.LoadTable(ctx, ref.Ident())
	if err != nil {
		return nil, fmt.Errorf("load table %s: %w", ref, err)
	}
	return t, nil
}

// IsNoSuchTable reports whether err says a table does not exist.
func IsNoSuchTable(err error) bool { return errors.Is(err, catalog.ErrNoSuchTable) }
