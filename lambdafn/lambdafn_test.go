package lambdafn_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lagoon-dev/lagoon/lambdafn"
)

const s3Body = `{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"lake-bucket"},"object":{"key":"lake/prepare/shop/orders/a%20b.csv","size":10}}}]}`

// TestTriage: a message naming a file of the lake gives its key (decoded,
// the root's prefix taken off); garbage and keys outside the layout are
// dead letters; another lake's keys are ignored.
func TestTriage(t *testing.T) {
	sns, _ := json.Marshal(map[string]string{"Type": "Notification", "Message": s3Body})
	ev, _ := json.Marshal(map[string]any{"Records": []map[string]string{
		{"messageId": "m1", "body": s3Body},
		{"messageId": "m2", "body": string(sns)},
		{"messageId": "m3", "body": "not json at all"},
		{"messageId": "m4", "body": strings.Replace(s3Body, "prepare/shop/orders/", "prepare/", 1)},
		{"messageId": "m5", "body": strings.Replace(s3Body, "lake-bucket", "other-bucket", 1)},
	}})
	msgs, err := lambdafn.Triage(ev, "lake-bucket", "lake/")
	if err != nil || len(msgs) != 5 {
		t.Fatalf("%v %v", msgs, err)
	}
	for _, i := range []int{0, 1} {
		if msgs[i].Dead != nil || len(msgs[i].Keys) != 1 || msgs[i].Keys[0] != "prepare/shop/orders/a b.csv" {
			t.Errorf("message %d: %+v", i, msgs[i])
		}
	}
	if msgs[2].Dead == nil || msgs[3].Dead == nil || msgs[4].Dead != nil || len(msgs[4].Keys) != 0 {
		t.Errorf("triage: %+v", msgs[2:])
	}
	if _, err := lambdafn.Triage([]byte(`{"detail":{}}`), "b", ""); !errors.Is(err, lambdafn.ErrNotSQS) {
		t.Errorf("a non-SQS event: %v", err)
	}
}

// TestRuntimeClient: next hands over the event with its request id and
// deadline; the response and errors are posted where the Runtime API
// expects them.
func TestRuntimeClient(t *testing.T) {
	posted := map[string]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/2018-06-01/runtime/invocation/next" {
			w.Header().Set("Lambda-Runtime-Aws-Request-Id", "req-1")
			w.Header().Set("Lambda-Runtime-Deadline-Ms", "1767225600000")
			io.WriteString(w, `{"Records":[]}`)
			return
		}
		b, _ := io.ReadAll(r.Body)
		posted[r.URL.Path] = string(b)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	rt := lambdafn.Runtime{Addr: strings.TrimPrefix(srv.URL, "http://")}
	ctx := context.Background()
	inv, err := rt.Next(ctx)
	if err != nil || inv.RequestID != "req-1" || !inv.Deadline.Equal(time.UnixMilli(1767225600000)) || string(inv.Event) != `{"Records":[]}` {
		t.Fatalf("next: %+v %v", inv, err)
	}
	fail := lambdafn.Failures{BatchItemFailures: []lambdafn.ItemFailure{{ItemIdentifier: "m1"}}}
	if err := rt.Respond(ctx, "req-1", fail); err != nil {
		t.Fatal(err)
	}
	if got := posted["/2018-06-01/runtime/invocation/req-1/response"]; got != `{"batchItemFailures":[{"itemIdentifier":"m1"}]}` {
		t.Errorf("response %q", got)
	}
	if err := rt.InitError(ctx, errors.New("no catalog")); err != nil || !strings.Contains(posted["/2018-06-01/runtime/init/error"], "no catalog") {
		t.Errorf("init error: %v %v", err, posted)
	}
}
