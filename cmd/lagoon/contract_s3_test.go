package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
)

// TestContractOnS3WithGlue: on a bucket with the Glue catalog (moto), a
// contract's partition spec is the one the table Glue points Athena at
// holds, and upserts leave one row per key read through Glue.
func TestContractOnS3WithGlue(t *testing.T) {
	lakefixture.Moto(t)
	ctx := context.Background()
	c := lakefixture.S3Client(t)
	lakefixture.Bucket(t, c, "lake-bucket")
	put := lakefixture.Putter(t, c, "lake-bucket")
	put("data/assets/lagoon/tables/shop/invoices.yaml", []byte("keys: [id]\norder_by: version\npartition: [day(updated_at)]\n"))
	sc := lakefixture.Schema("id", arrow.PrimitiveTypes.Int64, "version", arrow.PrimitiveTypes.Int64, "updated_at", arrow.FixedWidthTypes.Timestamp_us)
	root := "s3://lake-bucket/data"
	for i, rows := range []string{
		`[{"id":1,"version":1,"updated_at":1793527200000000},{"id":2,"version":1,"updated_at":1793527200000000}]`,
		`[{"id":1,"version":2,"updated_at":1793613600000000}]`,
	} {
		put(fmt.Sprintf("data/load/shop/invoices/f%d.parquet", i), lakefixture.Parquet(t, sc, rows))
		if code, out, errOut := lagoon(t, "run", "--root", root, "--s3-path-style", "--once", "--settle", "0", "--log-level", "warn"); code != exitOK {
			t.Fatalf("run %d: exit %d\n%s\n%s", i, code, out, errOut)
		}
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	gt, err := glue.NewFromConfig(cfg).GetTable(ctx, &glue.GetTableInput{DatabaseName: aws.String("shop"), Name: aws.String("invoices")})
	if err != nil {
		t.Fatal(err)
	}
	loc := gt.Table.Parameters["metadata_location"]
	obj, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("lake-bucket"), Key: aws.String(strings.TrimPrefix(loc, "s3://lake-bucket/"))})
	if err != nil {
		t.Fatalf("metadata %s: %v", loc, err)
	}
	body, _ := io.ReadAll(obj.Body)
	var md struct {
		DefaultSpecID int `json:"default-spec-id"`
		Specs         []struct {
			ID     int `json:"spec-id"`
			Fields []struct {
				Name      string `json:"name"`
				Transform string `json:"transform"`
			} `json:"fields"`
		} `json:"partition-specs"`
	}
	if err := json.Unmarshal(body, &md); err != nil {
		t.Fatal(err)
	}
	var spec []string
	for _, s := range md.Specs {
		if s.ID == md.DefaultSpecID {
			for _, f := range s.Fields {
				spec = append(spec, f.Name+"="+f.Transform)
			}
		}
	}
	if !slices.Equal(spec, []string{"updated_at_day=day"}) {
		t.Errorf("the spec Glue's metadata holds = %v, want updated_at_day=day", spec)
	}
	l, err := lake.Open(ctx, lake.Config{Root: root, S3PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var got []string
	for _, r := range lakefixture.Rows(t, l, "shop.invoices") {
		got = append(got, fmt.Sprintf("%v@%v", r["id"], r["version"]))
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"1@2", "2@1"}) {
		t.Errorf("rows through Glue = %v, want one per key, the newest", got)
	}
}
