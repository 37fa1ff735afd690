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

// emptyTable makes a lake with table db.t (one long column) and no data.
func emptyTable(tb testing.TB) (*lake.Lake, lake.TableRef) {
	tb.Helper()
	ctx := context.Background()
	l := lakefixture.Open(tb)
	ref := lake.TableRef{DB: "db", Table: "t"}
	if err := l.Catalog.CreateNamespace(ctx, []string{"db"}, nil); err != nil {
		tb.Fatal(err)
	}
	sc := iceberg.NewSchema(0, iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64})
	if _, err := l.Catalog.CreateTable(ctx, ref.Ident(), sc, catalog.WithLocation(l.Store.URL("stg/db/t"))); err != nil {
		tb.Fatal(err)
	}
	return l, ref
}

// TestRecoverOnATableWithoutData: a process killed after creating a table
// and before writing any data file leaves an intent whose table has no
// data/ folder; recovery with orphan cleanup must drop it, not stall.
func TestRecoverOnATableWithoutData(t *testing.T) {
	ctx := context.Background()
	l, _ := emptyTable(t)
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

// TestRecoverDropsRegisteredCopies: a process killed after copying a
// batch's prepared files into data/ and before the commit leaves copies
// named after the batch. Recovery deletes them even without the orphan
// sweep (which does not run on S3); other files stay.
func TestRecoverDropsRegisteredCopies(t *testing.T) {
	ctx := context.Background()
	l, ref := emptyTable(t)
	ld := New(l.Store, l.Catalog, DefaultConfig(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	in := intent{Batch: "b1", DB: "db", Table: "t", Files: []intentFile{{Key: "load/db/t/a.parquet", Version: "v"}}}
	if err := ld.writeIntent(ctx, in); err != nil {
		t.Fatal(err)
	}
	lakefixture.Drop(t, l, copyPrefix(ref, "b1")+"a.parquet", []byte("PAR1"))
	lakefixture.Drop(t, l, copyPrefix(ref, "b2")+"a.parquet", []byte("PAR1"))
	if err := ld.Recover(ctx); err != nil {
		t.Fatalf("recover: %v", err)
	}
	if lakefixture.Exists(l, copyPrefix(ref, "b1")+"a.parquet") {
		t.Errorf("the uncommitted batch's copy is still there")
	}
	if !lakefixture.Exists(l, copyPrefix(ref, "b2")+"a.parquet") {
		t.Errorf("another batch's file was deleted")
	}
}
