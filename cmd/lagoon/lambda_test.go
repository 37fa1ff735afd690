package main

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/lagoon-dev/lagoon/events"
	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/internal/lambdaapi"
	"github.com/lagoon-dev/lagoon/lake"
)

// fnLake is a lake in a moto bucket whose notifications go to an SQS
// queue (lagoon init --events sqs), with a local Runtime API for
// `lagoon lambda` processes.
type fnLake struct {
	root, bucket string
	q            *sqs.Client
	url          string
	api          *lambdaapi.Server
	env          []string
	lk           *lake.Lake
}

func newFnLake(t *testing.T, bucket string, env ...string) *fnLake {
	t.Helper()
	lakefixture.Moto(t)
	ctx := context.Background()
	f := &fnLake{root: "s3://" + bucket + "/lake", bucket: bucket}
	f.q, f.url = sqsLake(t, bucket, bucket+"-events")
	var err error
	if f.api, err = lambdaapi.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.api.Close() })
	f.env = append(os.Environ(), "AWS_LAMBDA_RUNTIME_API="+f.api.Addr, "LAGOON_ROOT="+f.root, "LAGOON_S3_PATH_STYLE=true",
		"LAGOON_LOG_LEVEL="+crashLogLevel)
	f.env = append(f.env, env...)
	if f.lk, err = lake.Open(ctx, lake.Config{Root: f.root, S3PathStyle: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.lk.Close() })
	return f
}

// start runs a `lagoon lambda` process, killed at cleanup.
func (f *fnLake) start(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(lagoonBin, "lambda")
	cmd.Env, cmd.Stderr = f.env, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

// drop puts the workerFile files first..first+n-1 in the bucket.
func (f *fnLake) drop(t *testing.T, first, n, rows int) {
	t.Helper()
	put := lakefixture.Putter(t, lakefixture.S3Client(t), f.bucket)
	for i := first; i < first+n; i++ {
		key, body := workerFile(t, i, rows)
		put("lake/"+key, body)
	}
}

// receive takes the messages moto's notifications put in the queue, as
// Lambda's SQS poller would hand them over, until want have come.
func (f *fnLake) receive(t *testing.T, want int) []lambdaevents.SQSMessage {
	t.Helper()
	var out []lambdaevents.SQSMessage
	deadline := time.Now().Add(30 * time.Second)
	for len(out) < want && time.Now().Before(deadline) {
		out = append(out, f.poll(t, 1)...)
	}
	if len(out) < want {
		t.Fatalf("%d notifications came, want %d", len(out), want)
	}
	return out
}

// more takes what the queue holds now: the notifications of the files
// the stages wrote (prepare's outputs under load/).
func (f *fnLake) more(t *testing.T) []lambdaevents.SQSMessage {
	t.Helper()
	var out []lambdaevents.SQSMessage
	for {
		got := f.poll(t, 0)
		if len(got) == 0 {
			return out
		}
		out = append(out, got...)
	}
}

// poll receives once, waiting up to wait seconds.
func (f *fnLake) poll(t *testing.T, wait int32) []lambdaevents.SQSMessage {
	t.Helper()
	resp, err := f.q.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(f.url),
		MaxNumberOfMessages: 10, WaitTimeSeconds: wait, VisibilityTimeout: 900,
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll}})
	if err != nil {
		t.Fatal(err)
	}
	var out []lambdaevents.SQSMessage
	for _, m := range resp.Messages {
		if !strings.Contains(aws.ToString(m.Body), "ObjectCreated") {
			continue // moto's s3:TestEvent on configuration
		}
		out = append(out, lambdaevents.SQSMessage{MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
			Body: aws.ToString(m.Body), Attributes: m.Attributes, EventSource: "aws:sqs",
			EventSourceARN: "arn:aws:sqs:us-east-1:123456789012:" + f.bucket + "-events", AWSRegion: "us-east-1"})
	}
	return out
}

// redeliver delivers the pending messages, with what came into the queue
// since, until none is named again; each round calls between(round) first
// and delivers within timeout(round).
func (f *fnLake) redeliver(t *testing.T, msgs []lambdaevents.SQSMessage, pending []string, timeout func(int) time.Duration, between func(int)) []lambdaevents.SQSMessage {
	t.Helper()
	for round := 0; ; round++ {
		for _, m := range f.more(t) {
			msgs, pending = append(msgs, m), append(pending, m.MessageId)
		}
		if len(pending) == 0 {
			return msgs
		}
		if round == 40 {
			t.Fatalf("still waiting after 40 rounds: %v", pending)
		}
		between(round)
		pending = f.deliver(t, batches(t, only(msgs, pending)), timeout(round))
	}
}

// batches cuts messages into SQS events of at most 10 (the template's
// batch size).
func batches(t *testing.T, msgs []lambdaevents.SQSMessage) [][]byte {
	t.Helper()
	var out [][]byte
	for len(msgs) > 0 {
		n := min(10, len(msgs))
		b, err := json.Marshal(lambdaevents.SQSEvent{Records: msgs[:n]})
		if err != nil {
			t.Fatal(err)
		}
		out, msgs = append(out, b), msgs[n:]
	}
	return out
}

// deliver invokes every event within timeout and returns the ids of the
// messages to deliver again: those named in an answer, and every message
// of an event that got no answer (its process died) or failed whole.
func (f *fnLake) deliver(t *testing.T, evs [][]byte, timeout time.Duration) []string {
	t.Helper()
	var (
		mu     sync.Mutex
		failed []string
		wg     sync.WaitGroup
	)
	for _, ev := range evs {
		id := f.api.Invoke(ev, timeout)
		wg.Go(func() {
			ids := f.answer(t, id, ev, timeout)
			mu.Lock()
			failed = append(failed, ids...)
			mu.Unlock()
		})
	}
	wg.Wait()
	return failed
}

func (f *fnLake) answer(t *testing.T, id string, ev []byte, timeout time.Duration) []string {
	ctx, cancel := context.WithTimeout(context.Background(), timeout+time.Second) // Lambda ends an invocation at its deadline
	defer cancel()
	a, err := f.api.Wait(ctx, id)
	var resp lambdaevents.SQSEventResponse
	if err == nil && !a.Error && json.Unmarshal(a.Body, &resp) == nil {
		var ids []string
		for _, it := range resp.BatchItemFailures {
			ids = append(ids, it.ItemIdentifier)
		}
		return ids
	}
	if err == nil {
		t.Logf("invocation %s failed whole: %s", id, a.Body)
	}
	var all lambdaevents.SQSEvent
	json.Unmarshal(ev, &all)
	var ids []string
	for _, r := range all.Records {
		ids = append(ids, r.MessageId)
	}
	return ids
}

// only keeps the messages named in ids.
func only(msgs []lambdaevents.SQSMessage, ids []string) []lambdaevents.SQSMessage {
	var out []lambdaevents.SQSMessage
	for _, m := range msgs {
		if slices.Contains(ids, m.MessageId) {
			out = append(out, m)
		}
	}
	return out
}

// TestLambdaExactlyOnce: two `lagoon lambda` processes against one
// Runtime API take batches of moto's own notifications, each batch
// delivered twice at once; a garbage message and a key outside the layout
// ride in the first. Messages named for redelivery are delivered again,
// with the notifications of what the stages wrote, until none is. Every
// file lands once in its Glue table (prepare/ files prepared and loaded in
// the same invocations), the two dead letters never failed their batch,
// and the whole lot delivered once more changes nothing.
func TestLambdaExactlyOnce(t *testing.T) {
	f := newFnLake(t, "fn-once", "LAGOON_CLAIM_TTL=5s")
	const files, rows = 16, 25
	f.drop(t, 0, files, rows)
	msgs := f.receive(t, files)
	garbage := lambdaevents.SQSMessage{MessageId: "garbage-1", Body: "{not a notification", EventSource: "aws:sqs"}
	outside := lambdaevents.SQSMessage{MessageId: "outside-1", EventSource: "aws:sqs",
		Body: `{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"fn-once"},"object":{"key":"lake/prepare/loose.csv"}}}]}`}
	msgs = append([]lambdaevents.SQSMessage{garbage, outside}, msgs...)
	sns, _ := json.Marshal(map[string]string{"Type": "Notification", "Message": msgs[2].Body})
	msgs[2].Body = string(sns) // one notification wrapped by SNS, as a topic would deliver it
	f.start(t)
	f.start(t)
	evs := batches(t, msgs)
	pending := f.deliver(t, append(evs, evs...), time.Minute)
	msgs = f.redeliver(t, msgs, pending, func(int) time.Duration { return time.Minute }, func(int) {
		if slices.Contains(pending, "garbage-1") || slices.Contains(pending, "outside-1") {
			t.Fatalf("a dead letter failed its batch: %v", pending)
		}
	})
	ctx := context.Background()
	assertNothingWaits(t, f.lk)
	assertIDsOnce(t, f.lk, "feed.events", files/2*rows)
	assertIDsOnce(t, f.lk, "feed.parquet", files/2*rows)
	letters := 0
	for info, err := range f.lk.Store.List(ctx, events.DeadLetterPrefix) {
		if err != nil {
			t.Fatal(err)
		}
		letters++
		var d events.DeadLetter
		if err := lake.GetJSON(ctx, f.lk.Store, info.Key, &d); err != nil || d.Reason == "" || d.Body == "" {
			t.Errorf("dead letter %s: %+v %v", info.Key, d, err)
		}
	}
	if letters != 2 {
		t.Errorf("%d dead letters, want 2 (garbage, a key outside the layout)", letters)
	}
	id := f.api.Invoke([]byte(`{"hello":"world"}`), time.Minute)
	if a, err := f.api.Wait(ctx, id); err != nil || !a.Error || !strings.Contains(string(a.Body), "not an event lagoon takes") {
		t.Errorf("an unknown event: %+v %v", a, err)
	}
	if again := f.deliver(t, batches(t, msgs), time.Minute); len(again) != 0 {
		t.Errorf("the whole lot delivered again: %v named", again)
	}
	assertIDsOnce(t, f.lk, "feed.events", files/2*rows)
	assertIDsOnce(t, f.lk, "feed.parquet", files/2*rows)
	// A file whose notification was lost is loaded by the scheduled sweep.
	f.drop(t, files, 2, rows)
	f.more(t) // its notifications, dropped
	id = f.api.Invoke([]byte(`{"version":"0","source":"aws.events","detail-type":"Scheduled Event","detail":{}}`), time.Minute)
	if a, err := f.api.Wait(ctx, id); err != nil || a.Error {
		t.Fatalf("the scheduled sweep: %+v %v", a, err)
	}
	assertNothingWaits(t, f.lk)
	assertIDsOnce(t, f.lk, "feed.events", (files+2)/2*rows)
	assertIDsOnce(t, f.lk, "feed.parquet", (files+2)/2*rows)
}

// TestLambdaDeadlineCut: invocations are cut by short deadlines, and some
// processes are SIGKILLed mid-invocation as Lambda does to one that
// overruns; each round delivers again what was named or unanswered (and
// the notifications of what the stages wrote), to a fresh process when
// the last was killed. Nothing is lost, nothing is loaded twice, and the
// first round, too short for the work, is cut.
func TestLambdaDeadlineCut(t *testing.T) {
	if testing.Short() {
		t.Skip("deadline and kill test: skipped with -short")
	}
	f := newFnLake(t, "fn-cut", "LAGOON_CLAIM_TTL=2s", "LAGOON_RESERVE=300ms", "LAGOON_PREPARE_BATCH_FILES=2", "LAGOON_MAX_BATCH_FILES=2")
	const files, rows = 30, 5000
	f.drop(t, 0, files, rows)
	msgs := f.receive(t, files)
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 17))
	cmd := f.start(t)
	first := f.deliver(t, batches(t, msgs), 700*time.Millisecond)
	if len(first) == 0 {
		t.Fatalf("the first round (700ms for %d files) was not cut: make the work bigger", files)
	}
	rounds, kills := 0, 0
	var killed chan struct{}
	timeout := func(round int) time.Duration {
		if round >= 25 {
			return 30 * time.Second // let it finish
		}
		return time.Duration(400+rng.IntN(1200)) * time.Millisecond
	}
	f.redeliver(t, msgs, first, timeout, func(round int) {
		rounds++
		if killed != nil { // the last round's process was killed: a fresh one
			<-killed
			cmd = f.start(t)
			killed = nil
		}
		if round < 25 && rng.IntN(2) == 0 {
			kills++
			killed = make(chan struct{})
			c, done := cmd, killed
			time.AfterFunc(time.Duration(rng.IntN(1500))*time.Millisecond, func() { c.Process.Kill(); c.Wait(); close(done) })
		}
	})
	t.Logf("%d rounds after the first, %d kills", rounds, kills)
	assertIDsOnce(t, f.lk, "feed.events", files/2*rows)
	assertIDsOnce(t, f.lk, "feed.parquet", files/2*rows)
	assertNothingWaits(t, f.lk)
}

// assertNothingWaits checks that prepare/ and load/ hold nothing but
// ignored names.
func assertNothingWaits(tb testing.TB, l *lake.Lake) {
	tb.Helper()
	for _, zone := range []string{lake.PrefixPrepare, lake.PrefixLoad} {
		for info, err := range l.Store.List(context.Background(), zone) {
			if err != nil || !lake.Ignored(info.Key) {
				tb.Errorf("left waiting: %s (%v)", info.Key, err)
			}
		}
	}
}

// TestLambdaInitError: a function that cannot open its lake says why to
// the Runtime API (…/init/error) and exits 1.
func TestLambdaInitError(t *testing.T) {
	api, err := lambdaapi.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	cmd := exec.Command(lagoonBin, "lambda")
	cmd.Env = append(os.Environ(), "AWS_LAMBDA_RUNTIME_API="+api.Addr, "LAGOON_ROOT="+t.TempDir(), "LAGOON_CATALOG=nonsense://x")
	out, err := cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != exitError {
		t.Errorf("exit %v: %s", err, out)
	}
	if errs := api.InitErrors(); len(errs) != 1 || !strings.Contains(errs[0], "errorMessage") {
		t.Errorf("init errors: %v (output %s)", errs, out)
	}
}

// TestLambdaNeedsTheRuntime: outside Lambda the command says what it is
// for and exits 2; its help names the settings it takes.
func TestLambdaNeedsTheRuntime(t *testing.T) {
	t.Setenv("AWS_LAMBDA_RUNTIME_API", "")
	code, _, errOut := lagoon(t, "lambda", "--root", t.TempDir())
	if code != exitUsage || !strings.Contains(errOut, "AWS_LAMBDA_RUNTIME_API") {
		t.Errorf("exit %d: %s", code, errOut)
	}
	code, out, _ := lagoon(t, "lambda", "--help")
	for _, s := range []string{"LAGOON_ROOT", "ReportBatchItemFailures", "log/dead-letters/", "--reserve"} {
		if code != exitOK || !strings.Contains(out, s) {
			t.Errorf("help lacks %q", s)
		}
	}
}
