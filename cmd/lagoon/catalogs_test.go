package main

import (
	"context"
	"strings"
	"testing"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
)

// TestPostgresCatalog runs a local lake with its catalog on PostgreSQL
// (--catalog postgres://…, or LAGOON_CATALOG): tables land in the SQL
// catalog there, and other processes read them through it.
func TestPostgresCatalog(t *testing.T) {
	dsn := lakefixture.Postgres(t)
	root := t.TempDir()
	lakefixture.DropFile(t, root+"/load/shop/orders/o.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(0, 42)))
	if code, out, errOut := lagoon(t, "run", "--root", root, "--catalog", dsn, "--once", "--settle", "0"); code != exitOK {
		t.Fatalf("run: %d %s %s", code, out, errOut)
	}
	t.Setenv("LAGOON_CATALOG", dsn)
	code, out, _ := lagoon(t, "tables", "--root", root)
	if code != exitOK || !strings.Contains(out, "shop.orders") || !strings.Contains(out, "42") {
		t.Errorf("tables: %d %s", code, out)
	}
	l, err := lake.Open(context.Background(), lake.Config{Root: root, Catalog: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if n := len(lakefixture.Rows(t, l, "shop.orders")); n != 42 {
		t.Errorf("rows = %d", n)
	}
	if lakefixture.Exists(l, lake.CatalogFile) {
		t.Errorf("an embedded SQLite catalog was created beside the PostgreSQL one")
	}
	if code, _, errOut := lagoon(t, "tables", "--root", root, "--catalog", "postgres://u:secret@127.0.0.1:1/x"); code != exitError || strings.Contains(errOut, "secret") {
		t.Errorf("unreachable catalog: exit %d, and the password must not be printed: %s", code, errOut)
	}
}
