package stats_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/internal/loadfixture"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/maintain"
	"github.com/lagoon-dev/lagoon/stats"
)

// TestMaintenanceInTheStatistics: a compaction is a row of the table
// statistics with maintenance "compaction" — also in a lake whose
// lagoon.table_stats was made before the column existed (it is added).
func TestMaintenanceInTheStatistics(t *testing.T) {
	ctx := context.Background()
	l := lakefixture.Open(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	// lagoon.table_stats as an older lagoon made it: no maintenance column.
	var old []iceberg.NestedField
	for _, f := range stats.TablesDef.Schema.Fields() {
		if f.Name != "maintenance" {
			old = append(old, f)
		}
	}
	if err := lake.EnsureNamespace(ctx, l.Catalog, lake.SideNamespace); err != nil {
		t.Fatal(err)
	}
	loc := l.Store.URL(stats.TablesDef.Dir)
	if _, err := l.Catalog.CreateTable(ctx, stats.TablesDef.Ref().Ident(), iceberg.NewSchema(0, old...),
		catalog.WithLocation(loc[:len(loc)-1]), catalog.WithProperties(l.Identity.TableProperties())); err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		lakefixture.Drop(t, l, fmt.Sprintf("load/db/t/f%d.parquet", i), lakefixture.ParquetBytes(t, lakefixture.Ints(i, 1)))
		loadfixture.Load(t, l)
	}
	if _, err := stats.NewSyncer(l, stats.DefaultConfig(), quiet).Sync(ctx); err != nil {
		t.Fatal(err)
	}
	m := maintain.Maintainer{Store: l.Store, Catalog: l.Catalog, Lake: l.Identity, Config: maintain.DefaultConfig(), Log: quiet}
	if rep, err := m.Table(ctx, lake.TableRef{DB: "db", Table: "t"}); err != nil || rep.FilesRewritten != 6 {
		t.Fatalf("maintain: %+v %v", rep, err)
	}
	if _, err := stats.NewSyncer(l, stats.DefaultConfig(), quiet).Sync(ctx); err != nil {
		t.Fatal(err)
	}
	latest, err := stats.Latest(ctx, l, "db.t")
	if err != nil || len(latest) != 1 {
		t.Fatalf("latest: %+v %v", latest, err)
	}
	if r := latest[0]; r.Maintenance != "compaction" || r.Operation != "replace" || r.DataFiles != 1 || r.RecordCount != 6 {
		t.Errorf("latest statistics %+v; want the compaction: 1 file, 6 rows", r.TableRow)
	}
}
