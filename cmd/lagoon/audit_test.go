package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/trail"
)

// TestPipelineWritesTheTrail: a run records the table creations, each
// file prepared and loaded (with the SHA-256 of its bytes, its rows, the
// snapshot), each deletion and rejection; the trail verifies.
func TestPipelineWritesTheTrail(t *testing.T) {
	root := t.TempDir()
	l := lakefixture.OpenAt(t, root)
	parquet := lakefixture.ParquetBytes(t, lakefixture.Ints(0, 12))
	csv := []byte("id,name\n1,a\n2,b\n")
	lakefixture.DropFile(t, filepath.Join(root, "load/shop/orders/o.parquet"), parquet)
	lakefixture.DropFile(t, filepath.Join(root, "prepare/shop/visits/v.csv"), csv)
	lakefixture.DropFile(t, filepath.Join(root, "load/shop/orders/bad.parquet"), []byte("junk"))
	if code, out, errOut := lagoon(t, "run", "--root", root, "--once", "--settle", "0"); code != exitRejected {
		t.Fatalf("run: %d %s %s", code, out, errOut)
	}
	ctx := context.Background()
	if rep, err := trail.Verify(ctx, l.Store, nil); err != nil {
		t.Fatalf("verify: %+v %v", rep, err)
	}
	recs, err := trail.List(ctx, l.Store, trail.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	byKind := map[trail.Kind][]trail.Event{}
	for _, r := range recs {
		byKind[r.Kind] = append(byKind[r.Kind], r.Event)
	}
	sum := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	if p := byKind[trail.KindPrepared]; len(p) != 1 || len(p[0].Files) != 1 || p[0].Files[0].Key != "prepare/shop/visits/v.csv" ||
		p[0].Files[0].SHA256 != sum(csv) || p[0].Files[0].Rows != 2 || p[0].Table != "shop.visits" {
		t.Errorf("prepared = %+v", p)
	}
	tbl, err := l.LoadTable(ctx, lake.TableRef{DB: "shop", Table: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	var orders *trail.Event
	for _, e := range byKind[trail.KindLoaded] {
		if e.Table == "shop.orders" {
			orders = &e
		}
	}
	if orders == nil || len(orders.Files) != 1 || orders.Files[0].Key != "load/shop/orders/o.parquet" ||
		orders.Files[0].SHA256 != sum(parquet) || orders.Files[0].Rows != 12 || orders.Rows != 12 ||
		orders.SnapshotID != tbl.CurrentSnapshot().SnapshotID {
		t.Errorf("loaded = %+v", orders)
	}
	if n := len(byKind[trail.KindLoaded]); n != 2 { // one batch per table: orders, and visits' prepared output
		t.Errorf("%d loaded records", n)
	}
	if n := len(byKind[trail.KindTableCreated]); n != 2 {
		t.Errorf("%d table_created records", n)
	}
	if r := byKind[trail.KindRejected]; len(r) != 1 || r[0].Key != "load/shop/orders/bad.parquet" || r[0].Reason == "" {
		t.Errorf("rejected = %+v", r)
	}
	if n := len(byKind[trail.KindDeleted]); n != 2 {
		t.Errorf("%d deleted records", n)
	}
	if got, _ := trail.List(ctx, l.Store, trail.Filter{Key: "o.parquet", Kind: trail.KindLoaded}); len(got) != 1 {
		t.Errorf("list by a batch file's key: %d records", len(got))
	}
	received := map[string]bool{}
	for _, e := range byKind[trail.KindReceived] {
		for _, k := range e.Keys() {
			received[k] = true
		}
	}
	for _, k := range []string{"prepare/shop/visits/v.csv", "load/shop/orders/o.parquet"} {
		if !received[k] {
			t.Errorf("no received record for %s (%v)", k, received)
		}
	}
}

// TestSchemaChangeIsAudited: a commit that adds a column records the new
// schema in the trail.
func TestSchemaChangeIsAudited(t *testing.T) {
	root := t.TempDir()
	l := lakefixture.OpenAt(t, root)
	lakefixture.DropFile(t, filepath.Join(root, "prepare/shop/t/a.csv"), []byte("id\n1\n"))
	if code, out, errOut := lagoon(t, "run", "--root", root, "--once", "--settle", "0", "--lineage=false"); code != exitOK {
		t.Fatalf("run: %d %s %s", code, out, errOut)
	}
	lakefixture.DropFile(t, filepath.Join(root, "prepare/shop/t/b.csv"), []byte("id,extra\n2,x\n"))
	if code, out, errOut := lagoon(t, "run", "--root", root, "--once", "--settle", "0", "--lineage=false"); code != exitOK {
		t.Fatalf("run: %d %s %s", code, out, errOut)
	}
	recs, err := trail.List(context.Background(), l.Store, trail.Filter{Kind: trail.KindSchemaChanged})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Event.Table != "shop.t" || !strings.Contains(recs[0].Event.Detail, "extra") {
		t.Errorf("schema_changed records = %+v", recs)
	}
}
