package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
)

// TestLakesOwnTheirTables: two lakes sharing one catalog (PostgreSQL here;
// two lakes in one Glue account alike) never write each other's tables:
// the second lake's run refuses the first's table, says why and what to
// do, and keeps its file; the first lake's table is untouched.
func TestLakesOwnTheirTables(t *testing.T) {
	dsn := lakefixture.Postgres(t)
	a, b := t.TempDir(), t.TempDir()
	lakefixture.OpenAt(t, a)
	lakefixture.DropFile(t, filepath.Join(a, "load/shop/orders/x.parquet"), lakefixture.ParquetBytes(t, lakefixture.Ints(0, 5)))
	if code, out, errOut := lagoon(t, "run", "--root", a, "--catalog", dsn, "--once", "--settle", "0"); code != exitOK {
		t.Fatalf("lake a: %d %s %s", code, out, errOut)
	}
	lakefixture.DropFile(t, filepath.Join(b, "load/shop/orders/y.parquet"), lakefixture.ParquetBytes(t, lakefixture.Ints(5, 5)))
	code, _, errOut := lagoon(t, "run", "--root", b, "--catalog", dsn, "--once", "--settle", "0")
	if code != exitError || !strings.Contains(errOut, "belongs to another lake") || !strings.Contains(errOut, "own catalog") {
		t.Errorf("lake b on lake a's table: exit %d\n%s", code, errOut)
	}
	if !lakefixture.Exists(lakefixture.OpenAt(t, b), "load/shop/orders/y.parquet") {
		t.Error("lake b's file is gone")
	}
	code, out, _ := lagoon(t, "tables", "--root", a, "--catalog", dsn)
	if code != exitOK || !strings.Contains(out, "shop.orders  5 ") {
		t.Errorf("lake a's table:\n%s", out)
	}
}

// TestCopiedLakeRefusesTheOriginalsTables: a lake folder copied whole
// (its catalog naming the original's tables) never appends to the
// original: the copy's run refuses, saying the folder was copied or moved.
func TestCopiedLakeRefusesTheOriginalsTables(t *testing.T) {
	orig := t.TempDir()
	l := lakefixture.OpenAt(t, orig)
	lakefixture.DropFile(t, filepath.Join(orig, "load/db/t/x.parquet"), lakefixture.ParquetBytes(t, lakefixture.Ints(0, 5)))
	if code, out, errOut := lagoon(t, "run", "--root", orig, "--once", "--settle", "0"); code != exitOK {
		t.Fatalf("original: %d %s %s", code, out, errOut)
	}
	cp := filepath.Join(t.TempDir(), "copy")
	if out, err := exec.Command("cp", "-r", orig, cp).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	lakefixture.DropFile(t, filepath.Join(cp, "load/db/t/y.parquet"), lakefixture.ParquetBytes(t, lakefixture.Ints(5, 5)))
	code, _, errOut := lagoon(t, "run", "--root", cp, "--once", "--settle", "0")
	if code != exitError || !strings.Contains(errOut, "copied or moved") {
		t.Errorf("run on the copy: exit %d\n%s", code, errOut)
	}
	if n := len(lakefixture.Rows(t, l, "db.t")); n != 5 {
		t.Errorf("the original's table has %d rows, want 5", n)
	}
}
