package lake

import (
	"context"
	"iter"
	"slices"
	"strings"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
)

// prefixedCatalog gives every namespace of a catalog a prefix on the way
// in and takes it off on the way out, so that several lakes can share one
// catalog (one Glue account) under names of their own: the lake's db
// "shop" is the catalog's "p1_shop". Tables it returns carry the catalog's
// names (their commits go to the catalog as they are).
type prefixedCatalog struct {
	catalog.Catalog
	prefix string
}

var _ catalog.Catalog = prefixedCatalog{}

// withNamespacePrefix wraps cat when prefix is set.
func withNamespacePrefix(cat catalog.Catalog, prefix string) catalog.Catalog {
	if prefix == "" {
		return cat
	}
	return prefixedCatalog{Catalog: cat, prefix: prefix}
}

func (c prefixedCatalog) in(id table.Identifier) table.Identifier {
	if len(id) == 0 {
		return id
	}
	out := slices.Clone(id)
	out[0] = c.prefix + out[0]
	return out
}

// out takes the prefix off; ok is false for a name of another lake.
func (c prefixedCatalog) out(id table.Identifier) (table.Identifier, bool) {
	if len(id) == 0 || !strings.HasPrefix(id[0], c.prefix) {
		return id, false
	}
	out := slices.Clone(id)
	out[0] = strings.TrimPrefix(out[0], c.prefix)
	return out, true
}

func (c prefixedCatalog) CreateTable(ctx context.Context, id table.Identifier, sc *iceberg.Schema, opts ...catalog.CreateTableOpt) (*table.Table, error) {
	return c.Catalog.CreateTable(ctx, c.in(id), sc, opts...)
}

func (c prefixedCatalog) CommitTable(ctx context.Context, id table.Identifier, reqs []table.Requirement, ups []table.Update) (table.Metadata, string, error) {
	return c.Catalog.CommitTable(ctx, c.in(id), reqs, ups)
}

func (c prefixedCatalog) ListTables(ctx context.Context, ns table.Identifier) iter.Seq2[table.Identifier, error] {
	return func(yield func(table.Identifier, error) bool) {
		for id, err := range c.Catalog.ListTables(ctx, c.in(ns)) {
			if err == nil {
				id, _ = c.out(id)
			}
			if !yield(id, err) {
				return
			}
		}
	}
}

func (c prefixedCatalog) LoadTable(ctx context.Context, id table.Identifier) (*table.Table, error) {
	return c.Catalog.LoadTable(ctx, c.in(id))
}

func (c prefixedCatalog) DropTable(ctx context.Context, id table.Identifier) error {
	return c.Catalog.DropTable(ctx, c.in(id))
}

func (c prefixedCatalog) RenameTable(ctx context.Context, from, to table.Identifier) (*table.Table, error) {
	return c.Catalog.RenameTable(ctx, c.in(from), c.in(to))
}

func (c prefixedCatalog) CheckTableExists(ctx context.Context, id table.Identifier) (bool, error) {
	return c.Catalog.CheckTableExists(ctx, c.in(id))
}

// ListNamespaces lists this lake's namespaces only.
func (c prefixedCatalog) ListNamespaces(ctx context.Context, parent table.Identifier) ([]table.Identifier, error) {
	nss, err := c.Catalog.ListNamespaces(ctx, c.in(parent))
	if err != nil {
		return nil, err
	}
	var out []table.Identifier
	for _, ns := range nss {
		if id, ok := c.out(ns); ok {
			out = append(out, id)
		}
	}
	return out, nil
}

func (c prefixedCatalog) CreateNamespace(ctx context.Context, ns table.Identifier, props iceberg.Properties) error {
	return c.Catalog.CreateNamespace(ctx, c.in(ns), props)
}

func (c prefixedCatalog) DropNamespace(ctx context.Context, ns table.Identifier) error {
	return c.Catalog.DropNamespace(ctx, c.in(ns))
}

func (c prefixedCatalog) CheckNamespaceExists(ctx context.Context, ns table.Identifier) (bool, error) {
	return c.Catalog.CheckNamespaceExists(ctx, c.in(ns))
}

func (c prefixedCatalog) LoadNamespaceProperties(ctx context.Context, ns table.Identifier) (iceberg.Properties, error) {
	return c.Catalog.LoadNamespaceProperties(ctx, c.in(ns))
}

func (c prefixedCatalog) UpdateNamespaceProperties(ctx context.Context, ns table.Identifier, removals []string, updates iceberg.Properties) (catalog.PropertiesUpdateSummary, error) {
	return c.Catalog.UpdateNamespaceProperties(ctx, c.in(ns), removals, updates)
}
