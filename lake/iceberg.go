package lake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
)

// DefaultTableProperties are the properties of every table lagoon
// creates (see Identity.TableProperties): format v2, zstd, commit retries,
// and metadata files kept (readers that open a table by path follow
// version-hint.text to one of them).
func DefaultTableProperties() iceberg.Properties {
	return iceberg.Properties{
		"format-version":                             "2",
		"write.parquet.compression-codec":            "zstd",
		table.CommitNumRetriesKey:                    "10",
		"write.metadata.delete-after-commit.enabled": "true",
		"write.metadata.previous-versions-max":       "100",
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

// LoadedAtType is the type of LoadedAtColumn: microseconds, UTC.
var LoadedAtType = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}

// WithLoadedAt is cols with LoadedAtColumn appended (nullable).
func WithLoadedAt(cols *arrow.Schema) *arrow.Schema {
	f := arrow.Field{Name: LoadedAtColumn, Type: LoadedAtType, Nullable: true}
	return arrow.NewSchema(append(cols.Fields(), f), nil)
}

// NewTableSchema is the schema a table created from a file of columns cols
// takes: cols, then LoadedAtColumn, with fresh field ids. Creating a table
// assigns fresh ids the same way (iceberg.AssignFreshSchemaIDs), so the
// ids here are the table's.
func NewTableSchema(cols *arrow.Schema) (*iceberg.Schema, error) {
	return table.ArrowSchemaToIcebergWithFreshIDs(WithLoadedAt(cols), false)
}

// FreshMark names a schema by its fields alone (ids, names, types,
// requiredness): "fresh:<sha-256 prefix>". A file written for a table not
// yet created carries it as its RegisterMetadata; the file fits any table
// whose current schema has the same mark.
func FreshMark(sc *iceberg.Schema) string {
	b, err := json.Marshal(sc.AsStruct())
	if err != nil {
		return "" // never a mark: such a file is re-encoded
	}
	sum := sha256.Sum256(b)
	return "fresh:" + hex.EncodeToString(sum[:12])
}
