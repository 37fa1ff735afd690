package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/glue"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/logs"
	"github.com/lagoon-dev/lagoon/maintain"
	"github.com/lagoon-dev/lagoon/stats"
	"github.com/lagoon-dev/lagoon/trail"
)

// TestS3WithGlue runs the pipeline on a bucket (moto): files put under
// prepare/ and load/ become Glue-catalogued Iceberg tables with what
// Athena needs, their rows read back through the catalog, the files gone.
func TestS3WithGlue(t *testing.T) {
	lakefixture.Moto(t)
	ctx := context.Background()
	c := lakefixture.S3Client(t)
	lakefixture.Bucket(t, c, "lake-bucket")
	put := lakefixture.Putter(t, c, "lake-bucket")
	put("data/prepare/shop/visits/day=2026-11-22/v.ndjson", []byte("{\"id\":1,\"page\":\"/\"}\n{\"id\":2,\"page\":\"/a\"}\n{\"id\":\n"))
	put("data/load/shop/orders/o.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(0, 300)))
	put("data/load/shop/orders/bad.parquet", []byte("not parquet"))

	root := "s3://lake-bucket/data"
	code, out, errOut := lagoon(t, "run", "--root", root, "--s3-path-style", "--once", "--settle", "0", "--log-level", "warn")
	if code != exitRejected || !strings.Contains(out, "loaded 2 files (302 rows") || !strings.Contains(out, "1 bad records") {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errOut)
	}

	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	gt, err := glue.NewFromConfig(cfg).GetTable(ctx, &glue.GetTableInput{DatabaseName: aws.String("shop"), Name: aws.String("orders")})
	if err != nil {
		t.Fatal(err)
	}
	params := gt.Table.Parameters
	if !strings.EqualFold(params["table_type"], "ICEBERG") || !strings.HasPrefix(params["metadata_location"], "s3://lake-bucket/data/stg/shop/orders/metadata/") {
		t.Errorf("glue parameters = %v", params)
	}
	if loc := aws.ToString(gt.Table.StorageDescriptor.Location); loc != "s3://lake-bucket/data/stg/shop/orders" {
		t.Errorf("glue location = %s", loc)
	}
	var cols []string
	for _, c := range gt.Table.StorageDescriptor.Columns {
		cols = append(cols, aws.ToString(c.Name)+":"+aws.ToString(c.Type))
	}
	if got := strings.Join(cols, " "); got != "id:bigint name:string _etl_source_key:string _etl_loaded_at:timestamp" {
		t.Errorf("glue columns (what Athena reads) = %s", got)
	}

	l, err := lake.Open(ctx, lake.Config{Root: root, S3PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if n := len(lakefixture.Rows(t, l, "shop.orders")); n != 300 {
		t.Errorf("shop.orders rows = %d, want 300", n)
	}
	visits := lakefixture.Rows(t, l, "shop.visits")
	if len(visits) != 2 || visits[0]["day"] != "2026-11-22" || visits[0]["_etl_source_key"] != "prepare/shop/visits/day=2026-11-22/v.ndjson" {
		t.Errorf("shop.visits rows = %v", visits)
	}
	for _, p := range []string{"prepare/", "load/"} {
		for info, err := range l.Store.List(ctx, p) {
			if err == nil {
				t.Errorf("left behind: %s", info.Key)
			}
		}
	}
	for _, k := range []string{"log/rejected/load/shop/orders/bad.parquet", "stg/shop/orders/metadata/version-hint.text"} {
		if _, err := l.Store.Stat(ctx, k); err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}
	for info, err := range l.Store.List(ctx, lake.ClaimPrefix) {
		var claim struct{ Released bool }
		if err == nil {
			err = lake.GetJSON(ctx, l.Store, info.Key, &claim)
		}
		if err != nil || !claim.Released {
			t.Errorf("claim left held: %s (%v)", info.Key, err)
		}
	}
	s3SideTables(t, l, root)

	// A later prepared file is registered as it is (a server-side copy
	// into data/, then AddFiles through Glue).
	put("data/prepare/shop/visits/day=2026-11-23/w.ndjson", []byte("{\"id\":3,\"page\":\"/b\"}\n"))
	if code, out, errOut := lagoon(t, "run", "--root", root, "--s3-path-style", "--once", "--settle", "0"); code != exitOK {
		t.Fatalf("second run: exit %d\n%s\n%s", code, out, errOut)
	}
	if n := len(lakefixture.Rows(t, l, "shop.visits")); n != 3 {
		t.Errorf("shop.visits rows after the registered file = %d, want 3", n)
	}
	tbl, err := l.LoadTable(ctx, lake.TableRef{DB: "shop", Table: "visits"})
	if err != nil {
		t.Fatal(err)
	}
	files, err := lake.DataFiles(ctx, tbl)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(files, func(f string) bool {
		return strings.HasSuffix(f, "-00000.parquet") && strings.Count(path.Base(f), "-") > 10
	}) {
		t.Errorf("no registered file among %v", files)
	}
}

// s3SideTables checks the side tables of an S3 lake: in Glue for Athena,
// readable, and maintained (compaction, expiry, orphans) on S3.
func s3SideTables(t *testing.T, l *lake.Lake, root string) {
	ctx := context.Background()
	es := jsonOut[[]logs.Entry](t, "log", "--root", root, "--s3-path-style", "--json")
	if !slices.ContainsFunc(es, func(e logs.Entry) bool { return e.Key == "load/shop/orders/bad.parquet" }) ||
		!slices.ContainsFunc(es, func(e logs.Entry) bool { return e.Key == "prepare/shop/visits/day=2026-11-22/v.ndjson" }) {
		t.Errorf("log table on S3 = %+v", es)
	}
	st := jsonOut[[]stats.TableStats](t, "stats", "--root", root, "--s3-path-style", "--json")
	if len(st) != 2 || st[0].Table != "shop.orders" || st[0].RecordCount != 300 {
		t.Errorf("stats on S3 = %+v", st)
	}
	for _, name := range []string{"trail", "log", "table_stats", "column_stats"} {
		cfg, _ := awsconfig.LoadDefaultConfig(ctx)
		if _, err := glue.NewFromConfig(cfg).GetTable(ctx, &glue.GetTableInput{DatabaseName: aws.String("lagoon"), Name: aws.String(name)}); err != nil {
			t.Errorf("glue has no lagoon.%s: %v", name, err)
		}
	}
	// Small syncs, then maintenance: compaction, orphan cleanup and
	// expiry all work on S3 too.
	w, sy := trail.NewWriter(l.Store, nil), trail.NewSyncer(l, slog.Default())
	for i := range 4 {
		if _, err := w.Append(ctx, trail.KindDeleted, trail.Event{Key: fmt.Sprint("k", i)}); err != nil {
			t.Fatal(err)
		}
		if _, err := sy.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	cfg := maintain.SideConfig()
	cfg.MinInputFiles, cfg.KeepSnapshots, cfg.SnapshotAge, cfg.OrphanAge = 2, 1, 0, time.Nanosecond
	rep, err := maintain.Maintainer{Store: l.Store, Catalog: l.Catalog, Lake: l.Identity, Config: cfg, Log: slog.Default()}.Table(ctx, trail.TableDef.Ref())
	did := rep.Summary()
	if err != nil || !strings.Contains(did, "compacted") {
		t.Fatalf("maintenance on S3: %q, %v", did, err)
	}
	recs, err := trail.List(ctx, l.Store, trail.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if rows := lakefixture.Rows(t, l, "lagoon.trail"); len(rows) != len(recs) {
		t.Errorf("trail table on S3 after maintenance: %d rows for %d records (%s)", len(rows), len(recs), did)
	}
}

// TestS3ORC: an ORC file put under prepare/ on a bucket (moto) is read
// there at random (its tail, then a stripe a request) and loads into its
// table, the file gone.
func TestS3ORC(t *testing.T) {
	lakefixture.Moto(t)
	ctx := context.Background()
	c := lakefixture.S3Client(t)
	lakefixture.Bucket(t, c, "orc-bucket")
	body, err := os.ReadFile(filepath.Join("..", "..", "testdata", "orc", "TestOrcFile.testSnappy.orc"))
	if err != nil {
		t.Fatal(err)
	}
	lakefixture.Putter(t, c, "orc-bucket")("data/prepare/shop/events/e.orc", body)
	root := "s3://orc-bucket/data"
	code, out, errOut := lagoon(t, "run", "--root", root, "--s3-path-style", "--once", "--settle", "0", "--log-level", "warn")
	if code != exitOK || !strings.Contains(out, "10,000 rows") {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errOut)
	}
	l, err := lake.Open(ctx, lake.Config{Root: root, S3PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	rows := lakefixture.Rows(t, l, "shop.events")
	if len(rows) != 10000 || rows[0]["string1"] == nil {
		t.Fatalf("%d rows: %v", len(rows), rows[:min(len(rows), 1)])
	}
	for info, err := range l.Store.List(ctx, "prepare/") {
		if err == nil {
			t.Errorf("left behind: %s", info.Key)
		}
	}
}
