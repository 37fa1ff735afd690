package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
)

// TestMinIOWebhook: a real MinIO posts its per-bucket notifications to
// lagoon's webhook (token-authenticated); lagoon, on s3:// against MinIO
// with a PostgreSQL catalog and no sweep, loads what is put in the bucket.
func TestMinIOWebhook(t *testing.T) {
	dsn := lakefixture.Postgres(t)
	hookPort := lakefixture.FreePort(t)
	lakefixture.MinIO(t, map[string]string{
		"MINIO_NOTIFY_WEBHOOK_ENABLE_LAGOON":     "on",
		"MINIO_NOTIFY_WEBHOOK_ENDPOINT_LAGOON":   fmt.Sprintf("http://127.0.0.1:%d/", hookPort),
		"MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_LAGOON": "hook-token",
		"MINIO_NOTIFY_WEBHOOK_QUEUE_DIR_LAGOON":  t.TempDir(),
	})
	ctx := context.Background()
	c := lakefixture.S3Client(t)
	lakefixture.Bucket(t, c, "hooked")
	// MinIO registers its webhook target in the background after start:
	// until then the ARN is unknown to it.
	var err error
	waitFor(t, 20*time.Second, func() bool {
		_, err = c.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{
			Bucket: aws.String("hooked"),
			NotificationConfiguration: &s3types.NotificationConfiguration{QueueConfigurations: []s3types.QueueConfiguration{{
				QueueArn: aws.String("arn:minio:sqs::LAGOON:webhook"), Events: []s3types.Event{s3types.EventS3ObjectCreated},
			}}},
		})
		return err == nil
	})
	root := "s3://hooked/lake"
	var stderr syncBuffer
	cmd := exec.Command(lagoonBin, "run", "--root", root, "--s3-path-style", "--catalog", dsn, "--events", "webhook",
		"--webhook-addr", fmt.Sprintf("127.0.0.1:%d", hookPort), "--settle", "0", "--rescan", "1h")
	cmd.Env = append(os.Environ(), "LAGOON_WEBHOOK_TOKEN=hook-token")
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitFor(t, 10*time.Second, func() bool { return strings.Contains(stderr.String(), "webhook listening") })

	put := lakefixture.Putter(t, c, "hooked")
	put("lake/load/web/hits/h 1.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(0, 9)))
	put("lake/prepare/web/visits/v.ndjson", []byte("{\"id\":1}\n{\"id\":2}\n"))
	put("not-the-lake/x.csv", []byte("a\n1\n"))

	l, err := lake.Open(ctx, lake.Config{Root: root, S3PathStyle: true, Catalog: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	waitFor(t, 30*time.Second, func() bool {
		for _, name := range []string{"hits", "visits"} {
			tbl, err := l.LoadTable(ctx, lake.TableRef{DB: "web", Table: name})
			if err != nil || tbl.CurrentSnapshot() == nil {
				return false
			}
		}
		return true
	})
	if n := len(lakefixture.Rows(t, l, "web.hits")); n != 9 {
		t.Errorf("hits rows = %d", n)
	}
	if n := len(lakefixture.Rows(t, l, "web.visits")); n != 2 {
		t.Errorf("visits rows = %d", n)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("daemon exit: %v\n%s", err, stderr.String())
	}
}
