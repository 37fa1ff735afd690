package main

import (
	"context"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
)

// TestSQSEvents: `lagoon init --events sqs` points the bucket's
// notifications at a queue; the daemon, driven by those notifications
// alone (the sweep is an hour away), loads what is put in the bucket and
// deletes each message once its object is handled.
func TestSQSEvents(t *testing.T) {
	lakefixture.Moto(t)
	ctx := context.Background()
	c := lakefixture.S3Client(t)
	root := "s3://events-bucket/lake"
	q, url := sqsLake(t, "events-bucket", "lagoon-events")
	nc, err := c.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String("events-bucket")})
	if err != nil || len(nc.QueueConfigurations) != 2 {
		t.Fatalf("notification configuration: %+v, %v", nc, err)
	}

	var stderr syncBuffer
	cmd := exec.Command(lagoonBin, "run", "--root", root, "--s3-path-style", "--queue", "lagoon-events",
		"--settle", "0", "--rescan", "1h")
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	put := lakefixture.Putter(t, c, "events-bucket")
	waitFor(t, 10*time.Second, func() bool { return strings.Contains(stderr.String(), "lagoon running") })
	l, err := lake.Open(ctx, lake.Config{Root: root, S3PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	loaded := func(table string) func() bool {
		return func() bool {
			tbl, err := l.LoadTable(ctx, lake.TableRef{DB: "shop", Table: table})
			return err == nil && tbl.CurrentSnapshot() != nil
		}
	}
	// Nothing but the notification can bring this file in: the daemon's
	// start-up sweep is over and the next is an hour away.
	put("lake/load/shop/orders/a b.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(0, 10)))
	waitFor(t, 30*time.Second, loaded("orders"))
	put("lake/prepare/shop/visits/v.csv", []byte("id,page\n1,/\n"))
	put("elsewhere/x.csv", []byte("ignored"))
	waitFor(t, 30*time.Second, loaded("visits"))
	if n := len(lakefixture.Rows(t, l, "shop.orders")); n != 10 {
		t.Errorf("orders rows = %d", n)
	}
	// Every message is deleted once its object is handled: the queue drains.
	waitFor(t, 30*time.Second, func() bool { return queueEmpty(t, q, url) })
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("daemon exit: %v\n%s", err, stderr.String())
	}
}

// sqsLake makes a bucket on moto (lakefixture.Moto first) and a queue,
// and inits the lake at s3://bucket/lake with the bucket's notifications
// going to the queue (lagoon init --events sqs); it returns the queue's
// client and URL.
func sqsLake(tb testing.TB, bucket, queue string) (*sqs.Client, string) {
	tb.Helper()
	ctx := context.Background()
	lakefixture.Bucket(tb, lakefixture.S3Client(tb), bucket)
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	q := sqs.NewFromConfig(cfg)
	qo, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(queue)})
	if err != nil {
		tb.Fatal(err)
	}
	if code, out, errOut := lagoon(tb, "init", "--root", "s3://"+bucket+"/lake", "--s3-path-style", "--events", "sqs", "--queue", queue); code != exitOK {
		tb.Fatalf("init: %d %s %s", code, out, errOut)
	}
	return q, aws.ToString(qo.QueueUrl)
}

func queueEmpty(tb testing.TB, q *sqs.Client, url string) bool {
	tb.Helper()
	out, err := q.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		tb.Fatal(err)
	}
	return out.Attributes["ApproximateNumberOfMessages"] == "0" && out.Attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
}
