package lambdafn

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/lagoon-dev/lagoon/events"
	"github.com/lagoon-dev/lagoon/lake"
)

// Message is one message of a batch, triaged: the lake's keys it names
// (relative to the lake), and why part or all of it can never be worked
// (Dead: garbage, a key outside the layout), to be recorded as a dead
// letter and not reported, so that it never blocks its batch.
type Message struct {
	ID       string
	Body     string
	Receives int
	Keys     []string
	Dead     error
}

// ErrNotSQS: the event is not an SQS batch.
var ErrNotSQS = errors.New("not an SQS event")

// Triage reads an SQS event batch for the lake at prefix ("lake/" or "")
// in bucket. Keys of other buckets, of other prefixes and of lagoon's own
// zones are not work: a message naming only those is done at once.
func Triage(event []byte, bucket, prefix string) ([]Message, error) {
	var ev lambdaevents.SQSEvent
	if err := json.Unmarshal(event, &ev); err != nil || len(ev.Records) == 0 || ev.Records[0].EventSource != "aws:sqs" {
		return nil, ErrNotSQS
	}
	out := make([]Message, 0, len(ev.Records))
	for _, r := range ev.Records {
		m := triage([]byte(r.Body), bucket, prefix)
		m.ID, m.Body = r.MessageId, r.Body
		m.Receives, _ = strconv.Atoi(r.Attributes["ApproximateReceiveCount"])
		out = append(out, m)
	}
	return out, nil
}

// triage reads one notification (S3, SNS-wrapped or EventBridge).
func triage(body []byte, bucket, prefix string) Message {
	var m Message
	refs, err := events.ParseNotification(body)
	if err != nil {
		m.Dead = err
		return m
	}
	for _, key := range events.LakeKeys(refs, bucket, prefix) {
		if _, err := lake.ParseKey(key); err != nil {
			m.Dead = errors.Join(m.Dead, fmt.Errorf("%s: %w", key, err))
			continue
		}
		m.Keys = append(m.Keys, key)
	}
	return m
}

// tablesOf maps the tables the messages' keys name to the first zone
// named for each (prepare before load).
func tablesOf(msgs []Message) map[lake.TableRef]string {
	out := map[lake.TableRef]string{}
	for _, m := range msgs {
		for _, key := range m.Keys {
			k, err := lake.ParseKey(key)
			if err != nil {
				continue // triage kept only keys that parse
			}
			if z, ok := out[k.Table]; !ok || z != lake.PrefixPrepare {
				out[k.Table] = k.Zone
			}
		}
	}
	return out
}
