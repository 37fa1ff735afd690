// Package stats keeps the lake's statistics tables under stats/: one row
// per table and snapshot (lagoon.table_stats) and one per table, column
// and synced snapshot (lagoon.column_stats), all taken from Iceberg's own
// metadata and manifests, never from scanning data. Dashboards read them
// instead of the tables.
package stats

import (
	"github.com/apache/iceberg-go"

	"github.com/lagoon-dev/lagoon/lake"
)

func str() iceberg.Type  { return iceberg.PrimitiveTypes.String }
func long() iceberg.Type { return iceberg.PrimitiveTypes.Int64 }
func tstz() iceberg.Type { return iceberg.PrimitiveTypes.TimestampTz }

// TablesDef holds one row per snapshot of every covered table.
var TablesDef = lake.SideTable{
	Name: "table_stats", Dir: lake.PrefixStats + "tables/", DayOf: "committed_at",
	Schema: iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "table", Type: str(), Required: true, Doc: "db.table"},
		iceberg.NestedField{ID: 2, Name: "zone", Type: str(), Required: true, Doc: "stg or prd"},
		iceberg.NestedField{ID: 3, Name: "snapshot_id", Type: long(), Required: true},
		iceberg.NestedField{ID: 4, Name: "parent_id", Type: long()},
		iceberg.NestedField{ID: 5, Name: "operation", Type: str()},
		iceberg.NestedField{ID: 6, Name: "committed_at", Type: tstz(), Required: true},
		iceberg.NestedField{ID: 7, Name: "record_count", Type: long()},
		iceberg.NestedField{ID: 8, Name: "data_files", Type: long()},
		iceberg.NestedField{ID: 9, Name: "delete_files", Type: long()},
		iceberg.NestedField{ID: 10, Name: "bytes", Type: long()},
		iceberg.NestedField{ID: 11, Name: "rows_added", Type: long()},
		iceberg.NestedField{ID: 12, Name: "files_added", Type: long()},
		iceberg.NestedField{ID: 13, Name: "load_latency_ms", Type: long(),
			Doc: "commit time minus the arrival of the batch's oldest file (lagoon loads only)"},
		iceberg.NestedField{ID: 14, Name: "computed_at", Type: tstz(), Required: true},
		iceberg.NestedField{ID: 15, Name: "maintenance", Type: str(),
			Doc: "for a snapshot table maintenance made (operation replace): compaction, or rewrite (manifests merged); null for loads"},
	),
}

// ColumnsDef holds, per table and synced snapshot, one row per column.
var ColumnsDef = lake.SideTable{
	Name: "column_stats", Dir: lake.PrefixStats + "columns/", DayOf: "committed_at",
	Schema: iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "table", Type: str(), Required: true},
		iceberg.NestedField{ID: 2, Name: "zone", Type: str(), Required: true},
		iceberg.NestedField{ID: 3, Name: "snapshot_id", Type: long(), Required: true},
		iceberg.NestedField{ID: 4, Name: "committed_at", Type: tstz(), Required: true},
		iceberg.NestedField{ID: 5, Name: "column", Type: str(), Required: true, Doc: "dotted path for nested fields"},
		iceberg.NestedField{ID: 6, Name: "field_id", Type: iceberg.PrimitiveTypes.Int32, Required: true},
		iceberg.NestedField{ID: 7, Name: "type", Type: str(), Required: true},
		iceberg.NestedField{ID: 8, Name: "value_count", Type: long()},
		iceberg.NestedField{ID: 9, Name: "null_count", Type: long()},
		iceberg.NestedField{ID: 10, Name: "nan_count", Type: long()},
		iceberg.NestedField{ID: 11, Name: "min", Type: str(), Doc: "the least value, or a lower bound when min_exact is false; null when unknown (a file without bounds)"},
		iceberg.NestedField{ID: 12, Name: "max", Type: str(), Doc: "the greatest value, or an upper bound when max_exact is false; null when unknown"},
		iceberg.NestedField{ID: 13, Name: "computed_at", Type: tstz(), Required: true},
		iceberg.NestedField{ID: 14, Name: "min_exact", Type: iceberg.PrimitiveTypes.Bool, Doc: "true: some row holds min; false: min is only a bound (a string cut short, rows deleted since)"},
		iceberg.NestedField{ID: 15, Name: "max_exact", Type: iceberg.PrimitiveTypes.Bool, Doc: "true: some row holds max; false: max is only a bound"},
	),
}
