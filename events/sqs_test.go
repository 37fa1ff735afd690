package events_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/lagoon-dev/lagoon/events"
	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/logs"
)

// TestSQSMessageLifecycle on moto: a message whose object is handled is
// deleted; one whose object never goes, and that keeps coming back (its
// visibility is never renewed here), is recorded as a dead letter after
// MaxReceives and deleted, not retried forever.
func TestSQSMessageLifecycle(t *testing.T) {
	lakefixture.Moto(t)
	ctx := context.Background()
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	q := sqs.NewFromConfig(cfg)
	qo, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("life")})
	if err != nil {
		t.Fatal(err)
	}
	st, err := lake.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	st.Put(ctx, "load/db/t/stuck.parquet", strings.NewReader("x")) // never handled
	for _, k := range []string{"load/db/t/gone.parquet", "load/db/t/stuck.parquet", "stg/db/t/data/x.parquet"} {
		body := fmt.Sprintf(`{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":%q}}}]}`, k)
		if _, err := q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: qo.QueueUrl, MessageBody: aws.String(body)}); err != nil {
			t.Fatal(err)
		}
	}
	c := events.DefaultSQSConfig()
	c.Queue, c.Bucket, c.Visibility, c.CheckEvery, c.MaxReceives = "life", "b", time.Second, 100*time.Millisecond, 2
	// Workers that die while holding the stuck message: each instance runs
	// a moment and stops without deleting it, so it comes back.
	keys := map[string]int{}
	var dead []string
	log := slog.New(logs.NewHandler(slog.NewTextHandler(io.Discard, nil), logs.NewSink(st))) // as lagoon run sets it up
	for round := 0; round < 8 && len(dead) == 0; round++ {
		rctx, stop := context.WithTimeout(ctx, 1500*time.Millisecond)
		out := make(chan events.Event, 100)
		events.NewSQS(q, st, c, log).Run(rctx, out)
		stop()
		perRound := map[string]int{}
		for len(out) > 0 {
			k := (<-out).Key
			keys[k]++
			perRound[k]++
		}
		// Visibility is renewed while a worker lives: within one run the
		// held message never comes back, though its timeout is 1 s.
		if perRound["load/db/t/stuck.parquet"] > 1 {
			t.Errorf("round %d: the held message came back within one run", round)
		}
		time.Sleep(1100 * time.Millisecond) // the stuck message becomes visible again
		dead = dead[:0]
		for info, err := range st.List(ctx, events.DeadLetterPrefix) {
			if err == nil {
				dead = append(dead, info.Key)
			}
		}
	}
	if len(dead) != 1 {
		t.Fatalf("dead letters: %v", dead)
	}
	body, _ := os.ReadFile(filepath.Join(st.Root(), dead[0]))
	if !strings.Contains(string(body), "stuck.parquet") || !strings.Contains(string(body), "(more than 2)") {
		t.Errorf("dead letter: %s", body)
	}
	// The dead letter is in the log (the log table's inbox).
	found := false
	for info, err := range st.List(ctx, logs.InboxPrefix) {
		es, rerr := logs.ReadEntries(ctx, st, info.Key)
		if err != nil || rerr != nil {
			t.Fatal(err, rerr)
		}
		for _, e := range es {
			found = found || e.Level == "error" && e.Stage == "events" && e.Key == dead[0]
		}
	}
	if !found {
		t.Errorf("no log entry for the dead letter %s", dead[0])
	}
	if keys["load/db/t/gone.parquet"] != 1 || keys["load/db/t/stuck.parquet"] < 2 || keys["stg/db/t/data/x.parquet"] != 0 {
		t.Errorf("events = %v", keys)
	}
	if n := approxMessages(t, q, aws.ToString(qo.QueueUrl)); n != 0 {
		t.Errorf("%d messages left in the queue", n)
	}
}

func approxMessages(tb testing.TB, q *sqs.Client, url string) int {
	tb.Helper()
	out, err := q.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		tb.Fatal(err)
	}
	a, _ := strconv.Atoi(out.Attributes["ApproximateNumberOfMessages"])
	b, _ := strconv.Atoi(out.Attributes["ApproximateNumberOfMessagesNotVisible"])
	return a + b
}
