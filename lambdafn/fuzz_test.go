package lambdafn

import (
	"strings"
	"testing"

	"github.com/lagoon-dev/lagoon/internal/fuzzing"
	"github.com/lagoon-dev/lagoon/lake"
)

var eventSeeds = []string{
	`{"Records":[{"messageId":"m1","eventSource":"aws:sqs","body":"{\"Records\":[{\"s3\":{\"bucket\":{\"name\":\"b\"},\"object\":{\"key\":\"lake/prepare/a/b/x%20y.json\"}}}]}","attributes":{"ApproximateReceiveCount":"2"}}]}`,
	`{"Records":[{"messageId":"m2","eventSource":"aws:sqs","body":"{\"Type\":\"Notification\",\"Message\":\"{}\"}"}]}`,
	`{"Records":[{"messageId":"../../x","eventSource":"aws:sqs","body":"garbage"}]}`,
	`{"version":"0","source":"aws.events","detail-type":"Scheduled Event","detail":{}}`,
	`{"detail-type":"Object Created","detail":{"bucket":{"name":"b"},"object":{"key":"lake/load/a/b/c.parquet"}}}`,
	`{"Records":[{"eventSource":"aws:s3","s3":{"bucket":{"name":"b"},"object":{"key":"lake/prepare/x.csv"}}}]}`,
	`{"Records":[]}`, `[]`, `{`, ``,
}

// FuzzTriage: whatever an invocation carries, reading it never panics,
// and every key a message names is a key of the lake's zones that maps to
// a table; a batch is triaged message for message.
func FuzzTriage(f *testing.F) {
	for _, s := range eventSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > fuzzing.MaxInput {
			return
		}
		var msgs []Message
		fuzzing.Within(t, "triage", func() {
			isScheduled(b)
			msgs, _ = Triage(b, "b", "lake/")
			msgs = append(msgs, triage(b, "b", "lake/"))
		})
		for _, m := range msgs {
			for _, k := range m.Keys {
				if _, err := lake.ParseKey(k); err != nil || !strings.HasPrefix(k, lake.PrefixPrepare) && !strings.HasPrefix(k, lake.PrefixLoad) {
					t.Fatalf("key %q taken: %v", k, err)
				}
			}
		}
		_ = tablesOf(msgs)
	})
}
