package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
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

// TestCopiedLakeIsIndependent: a lake folder copied whole (cp -r) is its
// own lake at its first run: the copy's tables name the copy's files (an
// independent reader, DuckDB, reads them there), a load into the copy
// leaves the original byte for byte as it was, a load into the original
// leaves the copy as it was, and each trail still verifies.
func TestCopiedLakeIsIndependent(t *testing.T) {
	orig := filepath.Join(t.TempDir(), "lake")
	lakefixture.DropFile(t, filepath.Join(orig, "prepare/db/t/x.ndjson"), []byte(`{"id":1}`+"\n"+`{"id":2}`+"\n"))
	runOnce(t, orig, exitOK)
	cp := filepath.Join(t.TempDir(), "copy")
	if out, err := exec.Command("cp", "-r", orig, cp).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	before := lakefixture.TreeDigest(t, orig)
	lakefixture.DropFile(t, filepath.Join(cp, "prepare/db/t/y.ndjson"), []byte(`{"id":3}`+"\n"))
	code, _, errOut := lagoon(t, "run", "--root", cp, "--once", "--settle", "0")
	if code != exitOK || !strings.Contains(errOut, "this lake was copied") {
		t.Fatalf("run on the copy: exit %d\n%s", code, errOut)
	}
	if lakefixture.TreeDigest(t, orig) != before {
		t.Error("the run on the copy changed the original")
	}
	lakefixture.DropFile(t, filepath.Join(orig, "prepare/db/t/z.ndjson"), []byte(`{"id":4}`+"\n"+`{"id":5}`+"\n"))
	runOnce(t, orig, exitOK)
	for dir, want := range map[string]int{orig: 4, cp: 3} {
		l := lakefixture.OpenAt(t, dir)
		if n := len(lakefixture.Rows(t, l, "db.t")); n != want {
			t.Errorf("%s: %d rows, want %d", dir, n, want)
		}
		if got, _ := lakefixture.DuckIDs(t, l, "db.t"); got != want {
			t.Errorf("%s: DuckDB reads %d rows from the table's files, want %d", dir, got, want)
		}
		if code, out, _ := lagoon(t, "trail", "verify", "--root", dir); code != exitOK {
			t.Errorf("%s: trail verify: %d %s", dir, code, out)
		}
	}
}

// TestCopiedLakeOnASharedCatalogRefuses: a copy of a local lake whose
// catalog is shared (PostgreSQL) cannot be relocated — the catalog names
// the original's tables — so its run refuses, saying why and what to do,
// and appends nothing to the original's tables.
func TestCopiedLakeOnASharedCatalogRefuses(t *testing.T) {
	dsn := lakefixture.Postgres(t)
	orig := filepath.Join(t.TempDir(), "lake")
	lakefixture.DropFile(t, filepath.Join(orig, "load/db/t/x.parquet"), lakefixture.ParquetBytes(t, lakefixture.Ints(0, 5)))
	runOnce(t, orig, exitOK, "--catalog", dsn)
	cp := filepath.Join(t.TempDir(), "copy")
	if out, err := exec.Command("cp", "-r", orig, cp).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	lakefixture.DropFile(t, filepath.Join(cp, "load/db/t/y.parquet"), lakefixture.ParquetBytes(t, lakefixture.Ints(5, 5)))
	code, _, errOut := lagoon(t, "run", "--root", cp, "--catalog", dsn, "--once", "--settle", "0")
	if code != exitError || !strings.Contains(errOut, "copied or moved") || !strings.Contains(errOut, "catalog of its own") {
		t.Errorf("run on the copy: exit %d\n%s", code, errOut)
	}
	if code, out, _ := lagoon(t, "tables", "--root", orig, "--catalog", dsn); code != exitOK || !strings.Contains(out, "db.t   5 ") {
		t.Errorf("the original's table:\n%s", out)
	}
}

// TestTwoLakesInOneGlueAccount: two lakes in one bucket (s3://lake/p1 and
// s3://lake/p2), one Glue catalog (moto): the second never appends into
// the first's shop.orders (it once did: the Glue names are the same and
// nothing checked which lake owns a table) — it refuses, saying why and
// what to do, and keeps its file.
func TestTwoLakesInOneGlueAccount(t *testing.T) {
	lakefixture.Moto(t)
	ctx := context.Background()
	c := lakefixture.S3Client(t)
	lakefixture.Bucket(t, c, "lake")
	put := lakefixture.Putter(t, c, "lake")
	put("p1/load/shop/orders/a.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(0, 4)))
	if code, out, errOut := lagoon(t, "run", "--root", "s3://lake/p1", "--s3-path-style", "--once", "--settle", "0"); code != exitOK {
		t.Fatalf("lake p1: %d %s %s", code, out, errOut)
	}
	put("p2/load/shop/orders/b.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(4, 4)))
	code, _, errOut := lagoon(t, "run", "--root", "s3://lake/p2", "--s3-path-style", "--once", "--settle", "0")
	if code != exitError || !strings.Contains(errOut, "belongs to another lake") {
		t.Errorf("lake p2 on p1's table: exit %d\n%s", code, errOut)
	}
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("lake"), Key: aws.String("p2/load/shop/orders/b.parquet")}); err != nil {
		t.Errorf("lake p2's file: %v", err)
	}
	l1, err := lake.Open(ctx, lake.Config{Root: "s3://lake/p1", S3PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l1.Close()
	if n := len(lakefixture.Rows(t, l1, "shop.orders")); n != 4 {
		t.Errorf("p1's shop.orders: %d rows, want 4", n)
	}

	// A lake made with --glue-prefix has names of its own in the catalog.
	if code, out, errOut := lagoon(t, "init", "--root", "s3://lake/p3", "--s3-path-style", "--glue-prefix", "p3_"); code != exitOK {
		t.Fatalf("init p3: %d %s %s", code, out, errOut)
	}
	put("p3/load/shop/orders/c.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(8, 2)))
	if code, out, errOut := lagoon(t, "run", "--root", "s3://lake/p3", "--s3-path-style", "--once", "--settle", "0"); code != exitOK {
		t.Fatalf("lake p3: %d %s %s", code, out, errOut)
	}
	if code, out, _ := lagoon(t, "tables", "--root", "s3://lake/p3", "--s3-path-style"); code != exitOK || !strings.Contains(out, "shop.orders  2 ") {
		t.Errorf("p3's tables:\n%s", out)
	}
	if n := len(lakefixture.Rows(t, l1, "shop.orders")); n != 4 {
		t.Errorf("p1's shop.orders after p3: %d rows, want 4", n)
	}
	if _, err := glue.NewFromConfig(awsCfg(t)).GetTable(ctx, &glue.GetTableInput{DatabaseName: aws.String("p3_shop"), Name: aws.String("orders")}); err != nil {
		t.Errorf("p3's table in Glue as p3_shop.orders: %v", err)
	}
	if code, _, errOut := lagoon(t, "run", "--root", "s3://lake/p3", "--s3-path-style", "--once"); code != exitOK {
		t.Errorf("a later run of p3 (prefix from lake.json): %d %s", code, errOut)
	}
}

func awsCfg(tb testing.TB) aws.Config {
	tb.Helper()
	cfg, err := awsconfig.LoadDefaultConfig(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return cfg
}

// TestMovedLakeRuns: a lake folder moved elsewhere (mv) runs at its new
// place: its tables are relocated there, keep their rows and take new
// ones, and nothing is written where the lake was.
func TestMovedLakeRuns(t *testing.T) {
	orig := filepath.Join(t.TempDir(), "lake")
	lakefixture.DropFile(t, filepath.Join(orig, "load/db/t/x.parquet"), lakefixture.ParquetBytes(t, lakefixture.Ints(0, 5)))
	runOnce(t, orig, exitOK)
	id := lakefixture.OpenAt(t, orig).Identity.ID
	moved := filepath.Join(t.TempDir(), "moved")
	if out, err := exec.Command("mv", orig, moved).CombinedOutput(); err != nil {
		t.Fatalf("mv: %v %s", err, out)
	}
	lakefixture.DropFile(t, filepath.Join(moved, "load/db/t/y.parquet"), lakefixture.ParquetBytes(t, lakefixture.Ints(5, 5)))
	code, _, errOut := lagoon(t, "run", "--root", moved, "--once", "--settle", "0")
	if code != exitOK || !strings.Contains(errOut, "this lake was moved") {
		t.Fatalf("run on the moved lake: exit %d\n%s", code, errOut)
	}
	l := lakefixture.OpenAt(t, moved)
	if l.Identity.ID != id {
		t.Errorf("the moved lake's id is %s, want %s (kept)", l.Identity.ID, id)
	}
	if got, _ := lakefixture.DuckIDs(t, l, "db.t"); got != 10 {
		t.Errorf("DuckDB reads %d rows, want 10", got)
	}
	if _, err := os.Stat(orig); !os.IsNotExist(err) {
		t.Errorf("something was written where the lake was: %v", err)
	}
}

// TestLakeReachedByAnotherPath: a lake made through a symbolic link and
// run through the real path (or the other way round) is the same lake: it
// is neither "moved" nor refused its own tables.
func TestLakeReachedByAnotherPath(t *testing.T) {
	real := filepath.Join(t.TempDir(), "lake")
	if err := os.MkdirAll(real, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	lakefixture.DropFile(t, filepath.Join(link, "load/db/t/x.parquet"), lakefixture.ParquetBytes(t, lakefixture.Ints(0, 5)))
	runOnce(t, link, exitOK)
	lakefixture.DropFile(t, filepath.Join(real, "load/db/t/y.parquet"), lakefixture.ParquetBytes(t, lakefixture.Ints(5, 5)))
	runOnce(t, real, exitOK)
	if n := len(lakefixture.Rows(t, lakefixture.OpenAt(t, real), "db.t")); n != 10 {
		t.Errorf("rows = %d, want 10", n)
	}
}
