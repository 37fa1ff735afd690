package lake

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
)

// TableProperties are the properties of every table lagoon creates:
// format v2, zstd, commit retries, and metadata files kept (readers that
// open a table by path follow version-hint.text to one of them).
func TableProperties() iceberg.Properties {
	return iceberg.Properties{
		"format-version":                             "2",
		"write.parquet.compression-codec":            "zstd",
		table.CommitNumRetriesKey:                    "10",
		"write.metadata.delete-after-commit.enabled": "false",
	}
}

// DayPartition partitions a schema by day(column).
func DayPartition(sc *iceberg.Schema, column string) (iceberg.PartitionSpec, error) {
	f, ok := sc.FindFieldByName(column)
	if !ok {
		return iceberg.PartitionSpec{}, fmt.Errorf("schema lacks %s", column)
	}
	return iceberg.NewPartitionSpec(iceberg.PartitionField{
		SourceIDs: []int{f.ID}, FieldID: 1000, Name: column + "_day", Transform: iceberg.DayTransform{},
	}), nil
}

// EnsureNamespace creates a catalog namespace unless it exists.
func EnsureNamespace(ctx context.Context, cat catalog.Catalog, ns string) error {
	err := cat.CreateNamespace(ctx, table.Identifier{ns}, nil)
	if err != nil && !errors.Is(err, catalog.ErrNamespaceAlreadyExists) {
		return fmt.Errorf("create namespace %s: %w", ns, err)
	}
	return nil
}

// WriteVersionHint names a table's current metadata file (without its
// .metadata.json suffix) in <dir>metadata/version-hint.text, where readers
// that open a table by path (DuckDB iceberg_scan, icebird) look. dir is
// the key of the table's folder, ending in "/". Idempotent.
func WriteVersionHint(ctx context.Context, st Store, dir string, tbl *table.Table) error {
	name := strings.TrimSuffix(path.Base(tbl.MetadataLocation()), ".metadata.json")
	if err := st.Put(ctx, dir+"metadata/version-hint.text", strings.NewReader(name)); err != nil {
		return fmt.Errorf("version hint %s: %w", dir, err)
	}
	return nil
}

// SchemaMark names a table and the version of its schema ("<uuid>:<id>"):
// a file written for one mark fits the table as long as the mark holds.
func SchemaMark(tbl *table.Table) string {
	return fmt.Sprintf("%s:%d", tbl.Metadata().TableUUID(), tbl.Schema().ID)
}
