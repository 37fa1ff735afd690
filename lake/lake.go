// Package lake owns the layout of a lake: its keys and prefixes, the object
// store it lives in (a local directory, or S3), rejection of files that
// cannot be loaded, and opening its Iceberg catalog.
package lake

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	"github.com/apache/iceberg-go/table"
	_ "modernc.org/sqlite" // pure-Go SQLite driver "sqlite"
)

// CatalogName is the name lagoon's catalogs are registered under.
const CatalogName = "lagoon"

// CatalogFile is the key of the embedded SQLite catalog of a local lake.
const CatalogFile = PrefixCatalog + "lagoon.db"

// Config says where a lake is and how to reach its catalog.
type Config struct {
	// Root is a local directory (the embedded default).
	Root string
}

// DefaultConfig returns the configuration of a lake in ./lake.
func DefaultConfig() Config { return Config{Root: "lake"} }

// Lake is an open lake: its store and its catalog. Close releases both.
type Lake struct {
	Store   Store
	Catalog catalog.Catalog
	db      *sql.DB
}

// Open opens the lake at cfg.Root, creating the catalog if it is missing.
func Open(ctx context.Context, cfg Config) (*Lake, error) {
	if strings.Contains(cfg.Root, "://") {
		return nil, fmt.Errorf("open lake %s: only local directories are supported so far", cfg.Root)
	}
	st, err := NewLocal(cfg.Root)
	if err != nil {
		return nil, err
	}
	db, cat, err := openSQLite(st)
	if err != nil {
		return nil, fmt.Errorf("open lake %s: %w", cfg.Root, err)
	}
	return &Lake{Store: st, Catalog: cat, db: db}, nil
}

// Close releases the catalog connection.
func (l *Lake) Close() error {
	if l.db != nil {
		return l.db.Close()
	}
	return nil
}

func openSQLite(st *Local) (*sql.DB, *sqlcat.Catalog, error) {
	p := st.Path(CatalogFile)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, nil, err
	}
	dsn := "file:" + p + "?_pragma=busy_timeout(30000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, nil, err
	}
	cat, err := sqlcat.NewCatalog(CatalogName, db, sqlcat.SQLite, iceberg.Properties{
		"warehouse": st.URL(PrefixStg),
	})
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("sqlite catalog: %w", err)
	}
	return db, cat, nil
}

// Init creates every prefix of the layout and the catalog. It is
// idempotent: running it on an initialised lake changes nothing.
func Init(ctx context.Context, cfg Config) error {
	l, err := Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer l.Close()
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
