package events

import (
	"errors"
	"fmt"
	"testing"
)

func TestParseNotification(t *testing.T) {
	s3rec := `{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectCreated:Put","eventTime":"2026-11-22T10:00:00.123Z",
		"s3":{"bucket":{"name":"b"},"object":{"key":"lake/prepare/db/t/my+file%C3%A9%3A1.csv","size":12,"eTag":"abc"}}},
		{"eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"b"},"object":{"key":"lake/load/x"}}}]}`
	cases := []struct {
		name, body, want string
		err              error
	}{
		{"S3 to SQS, key URL-encoded", s3rec, "[{b lake/prepare/db/t/my fileé:1.csv 12 abc 2026-11-22 10:00:00.123 +0000 UTC}]", nil},
		{"SNS-wrapped", fmt.Sprintf(`{"Type":"Notification","MessageId":"m","Message":%q}`, s3rec), "[{b lake/prepare/db/t/my fileé:1.csv 12 abc 2026-11-22 10:00:00.123 +0000 UTC}]", nil},
		{"EventBridge, key not encoded", `{"version":"0","detail-type":"Object Created","source":"aws.s3","time":"2026-11-22T10:00:00Z",
			"detail":{"bucket":{"name":"b"},"object":{"key":"lake/load/db/t/a b:c.parquet","size":5,"etag":"e"}}}`, "[{b lake/load/db/t/a b:c.parquet 5 e 2026-11-22 10:00:00 +0000 UTC}]", nil},
		{"EventBridge, other event", `{"detail-type":"Object Deleted","detail":{}}`, "[]", nil},
		{"s3:TestEvent", `{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-11-22T10:00:00.000Z","Bucket":"b"}`, "[]", nil},
		{"not JSON", `hello`, "", ErrNotification},
		{"JSON of another kind", `{"foo":1}`, "", ErrNotification},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			refs, err := ParseNotification([]byte(tc.body))
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(refs); got != tc.want && !(tc.want == "[]" && len(refs) == 0) {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestParseNotificationRaw(t *testing.T) {
	body := `{"Records":[{"eventName":"s3:ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"load/a+b%20c.parquet"}}}]}`
	refs, err := ParseNotificationRaw([]byte(body))
	if err != nil || len(refs) != 1 || refs[0].Key != "load/a+b%20c.parquet" {
		t.Fatalf("raw: %v %v", refs, err)
	}
	refs, _ = ParseNotification([]byte(body))
	if refs[0].Key != "load/a b c.parquet" {
		t.Fatalf("decoded: %v", refs)
	}
}

func TestLakeKeys(t *testing.T) {
	refs := []ObjectRef{
		{Bucket: "b", Key: "lake/load/db/t/x.parquet"}, {Bucket: "b", Key: "lake/prepare/db/t/.x.csv.tmp"},
		{Bucket: "b", Key: "lake/stg/db/t/data/x.parquet"}, {Bucket: "other", Key: "lake/load/db/t/y.parquet"},
		{Bucket: "b", Key: "elsewhere/load/z.parquet"}, {Key: "lake/prepare/db/t/a.csv"},
	}
	got := fmt.Sprint(LakeKeys(refs, "b", "lake/"))
	if got != "[load/db/t/x.parquet prepare/db/t/a.csv]" {
		t.Errorf("LakeKeys = %s", got)
	}
}
