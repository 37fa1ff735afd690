package events

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lagoon-dev/lagoon/internal/fuzzing"
	"github.com/lagoon-dev/lagoon/lake"
)

var notificationSeeds = []string{
	`{"Records":[{"eventName":"ObjectCreated:Put","eventTime":"2026-01-01T00:00:00Z","s3":{"bucket":{"name":"b"},"object":{"key":"prepare/a/b/x%20y.json","size":3,"eTag":"e"}}}]}`,
	`{"Type":"Notification","Message":"{\"Records\":[{\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":\"b\"},\"object\":{\"key\":\"load/a/b/x.parquet\"}}}]}"}`,
	`{"detail-type":"Object Created","detail":{"bucket":{"name":"b"},"object":{"key":"prepare/a/b/c.csv","size":1}}}`,
	`{"Event":"s3:TestEvent"}`, `{"Records":[{"s3":{"object":{"key":"%zz"}}}]}`, `{"Records":null}`, `[]`, `{`,
}

// FuzzParseNotification: any message body parses to objects or an error
// (ErrNotification), in every shape; keys taken are keys of the lake's
// zones, never outside them.
func FuzzParseNotification(f *testing.F) {
	for _, s := range notificationSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > fuzzing.MaxInput {
			return
		}
		for _, parse := range []func([]byte) ([]ObjectRef, error){ParseNotification, ParseNotificationRaw} {
			var refs []ObjectRef
			fuzzing.Within(t, "parse", func() { refs, _ = parse(b) })
			for _, k := range LakeKeys(refs, "b", "") {
				if !strings.HasPrefix(k, lake.PrefixPrepare) && !strings.HasPrefix(k, lake.PrefixLoad) {
					t.Fatalf("key %q outside the zones", k)
				}
			}
		}
	})
}

// FuzzWebhookBody: whatever a client posts, the webhook answers with a
// status (2xx, 400, 401, 413) and hands on only keys of the lake's zones.
func FuzzWebhookBody(f *testing.F) {
	for _, s := range notificationSeeds {
		f.Add([]byte(s), "secret")
	}
	f.Fuzz(func(t *testing.T, body []byte, token string) {
		cfg := DefaultWebhookConfig()
		cfg.Token, cfg.Bucket, cfg.MaxBody = "secret", "b", 1<<16
		w := NewWebhook(cfg, discardLog())
		out := make(chan Event, 1024)
		w.out, w.ctx = out, context.Background()
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		fuzzing.Within(t, "webhook", func() { w.ServeHTTP(rec, req) })
		switch rec.Code {
		case http.StatusNoContent, http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d", rec.Code)
		}
		if token != "secret" && (rec.Code != http.StatusUnauthorized || len(out) > 0) {
			t.Fatalf("a wrong token was let in: %d, %d events", rec.Code, len(out))
		}
		close(out)
		for e := range out {
			if !strings.HasPrefix(e.Key, lake.PrefixPrepare) && !strings.HasPrefix(e.Key, lake.PrefixLoad) {
				t.Fatalf("event key %q outside the zones", e.Key)
			}
		}
	})
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
