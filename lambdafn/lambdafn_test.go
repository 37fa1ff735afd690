package lambdafn_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/lagoon-dev/lagoon/daemon"
	"github.com/lagoon-dev/lagoon/events"
	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/lambdafn"
	"github.com/lagoon-dev/lagoon/loader"
	"github.com/lagoon-dev/lagoon/prepare"
)

// s3Body is an S3 notification for key in lake-bucket.
func s3Body(key string) string {
	return `{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"lake-bucket"},"object":{"key":"` + key + `","size":10}}}]}`
}

// sqsEvent is a Lambda SQS event of (id, body) pairs.
func sqsEvent(tb testing.TB, pairs ...string) []byte {
	tb.Helper()
	var ev lambdaevents.SQSEvent
	for i := 0; i < len(pairs); i += 2 {
		ev.Records = append(ev.Records, lambdaevents.SQSMessage{MessageId: pairs[i], Body: pairs[i+1], EventSource: "aws:sqs",
			Attributes: map[string]string{"ApproximateReceiveCount": "1"}})
	}
	b, err := json.Marshal(ev)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestTriage: a message naming a file of the lake gives its key (decoded,
// the root's prefix taken off); garbage and keys outside the layout are
// dead; another lake's keys and lagoon's own zones are no work.
func TestTriage(t *testing.T) {
	body := s3Body("lake/prepare/shop/orders/a%20b.csv")
	sns, _ := json.Marshal(map[string]string{"Type": "Notification", "Message": body})
	bridge := `{"version":"0","detail-type":"Object Created","source":"aws.s3","detail":{"bucket":{"name":"lake-bucket"},"object":{"key":"lake/prepare/shop/orders/a b.csv","size":3}}}`
	ev := sqsEvent(t, "m1", body, "m2", string(sns), "m3", "not json at all",
		"m4", s3Body("lake/prepare/orders.csv"), "m5", strings.Replace(body, "lake-bucket", "other-bucket", 1),
		"m6", s3Body("lake/stg/shop/orders/data/x.parquet"), "m7", bridge)
	msgs, err := lambdafn.Triage(ev, "lake-bucket", "lake/")
	if err != nil || len(msgs) != 7 {
		t.Fatalf("%v %v", msgs, err)
	}
	for _, i := range []int{0, 1, 6} { // S3's own, SNS-wrapped, EventBridge's
		if msgs[i].Dead != nil || len(msgs[i].Keys) != 1 || msgs[i].Keys[0] != "prepare/shop/orders/a b.csv" || msgs[i].Receives != 1 {
			t.Errorf("message %d: %+v", i, msgs[i])
		}
	}
	if msgs[2].Dead == nil || msgs[3].Dead == nil || len(msgs[3].Keys) != 0 {
		t.Errorf("garbage and a key outside the layout: %+v", msgs[2:4])
	}
	for _, m := range msgs[4:6] {
		if m.Dead != nil || len(m.Keys) != 0 {
			t.Errorf("no work: %+v", m)
		}
	}
	for _, bad := range []string{`{"detail":{}}`, `{"Records":[{"eventSource":"aws:s3"}]}`, `[]`, ``} {
		if _, err := lambdafn.Triage([]byte(bad), "b", ""); !errors.Is(err, lambdafn.ErrNotSQS) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// handlerOn returns a handler over the local lake l with both stages,
// sharing l's claims, and the count of side syncs it makes.
func handlerOn(tb testing.TB, l *lake.Lake) (*lambdafn.Handler, *int) {
	tb.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	pc := prepare.DefaultStageConfig()
	pc.Settle = 0
	lc := loader.DefaultConfig()
	lc.Settle = 0
	dc := daemon.DefaultConfig()
	dc.Claims = lake.Claims{Store: l.Store, TTL: time.Minute, Log: log}
	d := daemon.New([]daemon.Stage{prepare.NewStage(l.Store, l.Catalog, pc, log), loader.New(l.Store, l.Catalog, lc, log)}, dc, log)
	cfg := lambdafn.DefaultConfig()
	cfg.Bucket, cfg.Prefix, cfg.Reserve = "lake-bucket", "", 200*time.Millisecond
	syncs := new(int)
	return lambdafn.New(d, l.Store, func(context.Context) error { *syncs++; return nil }, cfg, log), syncs
}

func invoke(tb testing.TB, h *lambdafn.Handler, within time.Duration, event []byte) []string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	out, err := h.Invoke(ctx, event)
	if err != nil {
		tb.Fatal(err)
	}
	var ids []string
	for _, f := range out.(lambdaevents.SQSEventResponse).BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	return ids
}

// holdLoad claims table db.<name>'s load, as another worker would.
func holdLoad(tb testing.TB, l *lake.Lake, name string) (release func()) {
	tb.Helper()
	claims := lake.Claims{Store: l.Store, TTL: time.Minute, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	_, release, ok, err := claims.Claim(context.Background(), lake.PrefixLoad, lake.TableRef{DB: "db", Table: name})
	if err != nil || !ok {
		tb.Fatal(ok, err)
	}
	return release
}

// TestHandlerBatch: one invocation carries a dropped file to its table
// (prepared, then loaded); garbage is a dead letter that does not fail the
// batch; a table another worker holds fails its message alone, which
// loads once it is delivered again; a batch delivered twice loads once.
func TestHandlerBatch(t *testing.T) {
	l := lakefixture.Open(t)
	h, _ := handlerOn(t, l)
	lakefixture.Drop(t, l, "prepare/db/events/e.ndjson", []byte("{\"id\":1}\n{\"id\":2}\n"))
	lakefixture.Drop(t, l, "load/db/orders/o.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(0, 5)))
	lakefixture.Drop(t, l, "load/db/held/h.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(0, 3)))
	release := holdLoad(t, l, "held")
	batch := sqsEvent(t, "e", s3Body("prepare/db/events/e.ndjson"), "o", s3Body("load/db/orders/o.parquet"),
		"g", "garbage", "h", s3Body("load/db/held/h.parquet"), "gone", s3Body("load/db/orders/long-gone.parquet"))
	if failed := invoke(t, h, 2*time.Second, batch); strings.Join(failed, ",") != "h" {
		t.Errorf("failures = %v, want the held table's message alone", failed)
	}
	for table, want := range map[string]int{"db.events": 2, "db.orders": 5} {
		if n := len(lakefixture.Rows(t, l, table)); n != want {
			t.Errorf("%s rows = %d, want %d", table, n, want)
		}
	}
	var letters []string
	for info, err := range l.Store.List(context.Background(), events.DeadLetterPrefix) {
		if err != nil {
			t.Fatal(err)
		}
		letters = append(letters, info.Key)
	}
	if len(letters) != 1 || !strings.HasSuffix(letters[0], "/g.json") {
		t.Errorf("dead letters = %v", letters)
	}
	release()
	if failed := invoke(t, h, 5*time.Second, batch); len(failed) != 0 {
		t.Errorf("delivered again: failures = %v", failed)
	}
	for table, want := range map[string]int{"db.events": 2, "db.orders": 5, "db.held": 3} {
		if n := len(lakefixture.Rows(t, l, table)); n != want {
			t.Errorf("after the batch came again: %s rows = %d, want %d", table, n, want)
		}
	}
}

// TestHandlerSweep: a scheduled event loads what waits with no message
// for it, rejects a file outside the layout (whose message was a dead
// letter), then syncs the side tables.
func TestHandlerSweep(t *testing.T) {
	l := lakefixture.Open(t)
	h, syncs := handlerOn(t, l)
	lakefixture.Drop(t, l, "prepare/db/lost/e.csv", []byte("id\n1\n2\n3\n"))
	lakefixture.Drop(t, l, "prepare/loose.csv", []byte("id\n1\n"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := h.Invoke(ctx, []byte(`{"version":"0","source":"aws.events","detail-type":"Scheduled Event","detail":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	if sum := out.(daemon.Summary); sum.Rows != 3 || len(sum.Rejected) != 1 || *syncs != 1 {
		t.Errorf("summary %+v, syncs %d", sum, *syncs)
	}
	if lakefixture.Exists(l, "prepare/loose.csv") || !lakefixture.Exists(l, "log/rejected/prepare/loose.csv") {
		t.Error("the file outside the layout is not rejected")
	}
	if _, err := h.Invoke(ctx, []byte(`{"hello":"world"}`)); !errors.Is(err, lambdafn.ErrUnknownEvent) {
		t.Errorf("an unknown event: %v", err)
	}
}

// TestHandlerDirectNotification: a notification invoking the function
// directly (no queue) loads its file, and is an error while the file
// waits (a table another worker holds), so that Lambda retries it.
func TestHandlerDirectNotification(t *testing.T) {
	l := lakefixture.Open(t)
	h, _ := handlerOn(t, l)
	lakefixture.Drop(t, l, "load/db/direct/d.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(0, 4)))
	lakefixture.Drop(t, l, "load/db/held/h.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(0, 2)))
	release := holdLoad(t, l, "held")
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := h.Invoke(ctx, []byte(s3Body("load/db/direct/d.parquet"))); err != nil {
		t.Fatal(err)
	}
	if n := len(lakefixture.Rows(t, l, "db.direct")); n != 4 {
		t.Errorf("db.direct rows = %d", n)
	}
	if _, err := h.Invoke(ctx, []byte(s3Body("load/db/held/h.parquet"))); err == nil {
		t.Error("a file still waiting: no error, so Lambda would not retry")
	}
}
