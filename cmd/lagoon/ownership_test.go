package main

import (
	"bytes"
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
	put := func(key string, body []byte) {
		t.Helper()
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("lake"), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
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

// TestMovedLakeSaysSo: a lake folder moved elsewhere (its tables' files
// still named at the old place) refuses to write them and says why, rather
// than failing obscurely or writing where the lake was.
func TestMovedLakeSaysSo(t *testing.T) {
	orig := filepath.Join(t.TempDir(), "lake")
	lakefixture.DropFile(t, filepath.Join(orig, "load/db/t/x.parquet"), lakefixture.ParquetBytes(t, lakefixture.Ints(0, 5)))
	runOnce(t, orig, exitOK)
	moved := filepath.Join(t.TempDir(), "moved")
	if out, err := exec.Command("mv", orig, moved).CombinedOutput(); err != nil {
		t.Fatalf("mv: %v %s", err, out)
	}
	lakefixture.DropFile(t, filepath.Join(moved, "load/db/t/y.parquet"), lakefixture.ParquetBytes(t, lakefixture.Ints(5, 5)))
	code, _, errOut := lagoon(t, "run", "--root", moved, "--once", "--settle", "0")
	if code != exitError || !strings.Contains(errOut, "copied or moved") {
		t.Errorf("run on the moved lake: exit %d\n%s", code, errOut)
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
