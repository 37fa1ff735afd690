package lambdafn

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/lagoon-dev/lagoon/events"
	"github.com/lagoon-dev/lagoon/lake"
)

// sqsEvent is an SQS event batch as Lambda delivers it.
type sqsEvent struct {
	Records []struct {
		MessageID string `json:"messageId"`
		Body      string `json:"body"`
	} `json:"Records"`
}

// Message is one message of a batch, triaged: the lake keys it names
// (under the root), or why it can never be worked (Dead).
type Message struct {
	ID   string
	Keys []string
	Dead error
}

// ErrNotSQS: the event is not an SQS batch.
var ErrNotSQS = errors.New("not an SQS event")

// Triage reads an SQS event: each message's keys inside the lake whose
// root is prefix (a bucket's "lake/" or ""), and the messages that can
// never succeed (garbage, keys outside the layout), to be recorded as dead
// letters and not reported, so that they never block their batch.
func Triage(event []byte, bucket, prefix string) ([]Message, error) {
	var ev sqsEvent
	if err := json.Unmarshal(event, &ev); err != nil || ev.Records == nil {
		return nil, fmt.Errorf("%w: %v", ErrNotSQS, err)
	}
	out := make([]Message, 0, len(ev.Records))
	for _, r := range ev.Records {
		out = append(out, triage(r.MessageID, []byte(r.Body), bucket, prefix))
	}
	return out, nil
}

func triage(id string, body []byte, bucket, prefix string) Message {
	m := Message{ID: id}
	refs, err := events.ParseNotification(body)
	if err != nil {
		m.Dead = err
		return m
	}
	for _, ref := range refs {
		if ref.Bucket != bucket || len(ref.Key) < len(prefix) || ref.Key[:len(prefix)] != prefix {
			continue // another lake's: nothing to do here
		}
		key := ref.Key[len(prefix):]
		if _, err := lake.ParseKey(key); err != nil {
			m.Dead = fmt.Errorf("%s: %w", key, err)
			return m
		}
		m.Keys = append(m.Keys, key)
	}
	return m
}

// Failures is the answer to a batch: the messages SQS must deliver again.
type Failures struct {
	BatchItemFailures []ItemFailure `json:"batchItemFailures"`
}

// ItemFailure names one message to deliver again.
type ItemFailure struct {
	ItemIdentifier string `json:"itemIdentifier"`
}
