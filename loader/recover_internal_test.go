package loader

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
)

// TestRecoverOnATableWithoutData: a process killed after creating a table
// and before writing any data file leaves an intent whose table has no
// data/ folder; recovery with orphan cleanup must drop it, not stall.
func TestRecoverOnATableWithoutData(t *testing.T) {
	ctx := context.Background()
	l := lakefixture.Open(t)
	ref := lake.TableRef{DB: "db", Table: "t"}
	if err := l.Catalog.CreateNamespace(ctx, []string{"db"}, nil); err != nil {
		t.Fatal(err)
	}
	sc := iceberg.NewSchema(0, iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64})
	if _, err := l.Catalog.CreateTable(ctx, ref.Ident(), sc, catalog.WithLocation(l.Store.URL("stg/db/t"))); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.CleanOrphans = true
	ld := New(l.Store, l.Catalog, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	in := intent{Batch: "b1", DB: "db", Table: "t", Files: []intentFile{{Key: "load/db/t/a.parquet", Version: "v"}}}
	if err := ld.writeIntent(ctx, in); err != nil {
		t.Fatal(err)
	}
	if err := ld.Recover(ctx); err != nil {
		t.Fatalf("recover: %v", err)
	}
	if lakefixture.Exists(l, in.key()) {
		t.Errorf("intent not dropped")
	}
}
