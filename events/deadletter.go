package events

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"

	"github.com/lagoon-dev/lagoon/lake"
)

// Store is what the event sources need of the lake: whether a key
// exists, and a place for dead letters.
type Store interface {
	Stat(ctx context.Context, key string) (lake.ObjectInfo, error)
	Put(ctx context.Context, key string, r io.Reader) error
}

// DeadLetterPrefix is where messages given up on are recorded (one JSON
// object each, a DeadLetter).
const DeadLetterPrefix = lake.PrefixLog + "dead-letters/"

// maxDeadBody bounds the part of a message's body a dead letter keeps.
const maxDeadBody = 256 << 10 // SQS's largest message

// DeadLetter is a message that can never be worked, as recorded under
// log/dead-letters/<day>/<message id>.json.
type DeadLetter struct {
	MessageID string    `json:"message_id"`
	Receives  int       `json:"receives,omitempty"`
	Keys      []string  `json:"keys,omitempty"`
	Reason    string    `json:"reason"`
	Body      string    `json:"body"`
	Time      time.Time `json:"time"`
}

// RecordDeadLetter writes d (its Time set to now when zero) and returns
// its key. The key is made from the message id alone, so a message
// delivered again is recorded once; an id that is not a plain name (a
// hostile one: slashes, dots) is replaced by its hash.
func RecordDeadLetter(ctx context.Context, st Store, d DeadLetter) (string, error) {
	if d.Time.IsZero() {
		d.Time = time.Now().UTC()
	}
	if len(d.Body) > maxDeadBody {
		d.Body = d.Body[:maxDeadBody]
	}
	b, err := json.Marshal(d)
	if err != nil {
		return "", err
	}
	key := DeadLetterPrefix + d.Time.Format("2006-01-02") + "/" + letterName(d.MessageID) + ".json"
	if err := st.Put(ctx, key, bytes.NewReader(b)); err != nil {
		return "", fmt.Errorf("dead letter %s: %w", key, err)
	}
	return key, nil
}

var plainID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

func letterName(id string) string {
	if plainID.MatchString(id) {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "id-" + hex.EncodeToString(sum[:16])
}

// Handled reports whether every key is gone from its zone: the stages
// remove a file only once it is durably in the next stage, or moved
// under log/.
func Handled(ctx context.Context, st Store, keys []string) (bool, error) {
	for _, k := range keys {
		_, err := st.Stat(ctx, k)
		if err == nil {
			return false, nil
		}
		if !errors.Is(err, lake.ErrNotExist) {
			return false, err
		}
	}
	return true, nil
}
