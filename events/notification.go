package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/lagoon-dev/lagoon/lake"
)

// ObjectRef is an object a notification says was created.
type ObjectRef struct {
	Bucket string
	Key    string // decoded
	Size   int64
	ETag   string
	Time   time.Time // zero when the notification's time did not parse
}

// ErrNotification marks a message that is not a notification lagoon reads.
var ErrNotification = errors.New("not an S3 notification")

// ParseNotification reads the objects created according to one message
// body, in any of the shapes S3 notifications arrive in:
//
//   - S3 event notifications ({"Records":[…]}, as S3 sends them to SQS,
//     and MinIO, Ceph and versitygw to webhooks), keys URL-encoded;
//   - the same wrapped by SNS ({"Type":"Notification","Message":"…"});
//   - EventBridge "Object Created" events ({"detail-type":…,"detail":…}),
//     keys not encoded.
//
// The s3:TestEvent S3 sends when notifications are configured, and events
// other than object creation, yield no object. Times parse leniently.
func ParseNotification(body []byte) ([]ObjectRef, error) {
	return parseNotification(body, true)
}

// ParseNotificationRaw is ParseNotification for senders that do not
// URL-encode keys in the S3 shape (versitygw): keys are taken as they are.
func ParseNotificationRaw(body []byte) ([]ObjectRef, error) {
	return parseNotification(body, false)
}

func parseNotification(body []byte, decode bool) ([]ObjectRef, error) {
	var probe struct {
		Records    json.RawMessage `json:"Records"`
		Type       string          `json:"Type"`
		Message    string          `json:"Message"`
		DetailType string          `json:"detail-type"`
		Event      string          `json:"Event"`
	}
	if err := json.Unmarshal(body, &probe); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotification, err)
	}
	switch {
	case probe.Event == "s3:TestEvent":
		return nil, nil
	case probe.Type == "Notification" && probe.Message != "":
		return parseNotification([]byte(probe.Message), decode)
	case probe.DetailType != "":
		return parseEventBridge(body, probe.DetailType)
	case probe.Records != nil:
		return parseRecords(probe.Records, decode)
	}
	return nil, ErrNotification
}

type s3Record struct {
	EventName string `json:"eventName"`
	EventTime string `json:"eventTime"`
	S3        struct {
		Bucket struct {
			Name string `json:"name"`
		} `json:"bucket"`
		Object struct {
			Key  string `json:"key"`
			Size int64  `json:"size"`
			ETag string `json:"eTag"`
		} `json:"object"`
	} `json:"s3"`
}

func parseRecords(raw json.RawMessage, decode bool) ([]ObjectRef, error) {
	var recs []s3Record
	if err := json.Unmarshal(raw, &recs); err != nil {
		return nil, fmt.Errorf("%w: Records: %v", ErrNotification, err)
	}
	var out []ObjectRef
	for _, r := range recs {
		if !strings.Contains(r.EventName, "ObjectCreated") {
			continue
		}
		key := r.S3.Object.Key
		if decode {
			if k, err := url.QueryUnescape(key); err == nil {
				key = k
			}
		}
		out = append(out, ObjectRef{Bucket: r.S3.Bucket.Name, Key: key, Size: r.S3.Object.Size,
			ETag: strings.Trim(r.S3.Object.ETag, `"`), Time: lenientTime(r.EventTime)})
	}
	return out, nil
}

func parseEventBridge(body []byte, detailType string) ([]ObjectRef, error) {
	if detailType != "Object Created" {
		return nil, nil
	}
	var ev struct {
		Time   string `json:"time"`
		Detail struct {
			Bucket struct {
				Name string `json:"name"`
			} `json:"bucket"`
			Object struct {
				Key  string `json:"key"`
				Size int64  `json:"size"`
				ETag string `json:"etag"`
			} `json:"object"`
		} `json:"detail"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, fmt.Errorf("%w: EventBridge detail: %v", ErrNotification, err)
	}
	d := ev.Detail
	return []ObjectRef{{Bucket: d.Bucket.Name, Key: d.Object.Key, Size: d.Object.Size, ETag: d.Object.ETag,
		Time: lenientTime(ev.Time)}}, nil
}

// lenientTime parses the time formats notifications use; zero if none fits.
func lenientTime(s string) time.Time {
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z", "2006-01-02T15:04:05Z0700", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(l, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

// LakeKeys keeps the keys of a lake's prepare/ and load/ (in bucket, under
// prefix), made relative to the lake; lagoon's own temp names and writes
// elsewhere are not work.
func LakeKeys(refs []ObjectRef, bucket, prefix string) []string {
	var out []string
	for _, r := range refs {
		if r.Bucket != "" && r.Bucket != bucket || !strings.HasPrefix(r.Key, prefix) {
			continue
		}
		k := strings.TrimPrefix(r.Key, prefix)
		if (strings.HasPrefix(k, lake.PrefixPrepare) || strings.HasPrefix(k, lake.PrefixLoad)) && !lake.Ignored(k) {
			out = append(out, k)
		}
	}
	return out
}
