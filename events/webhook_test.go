package events

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestWebhook(t *testing.T) {
	cfg := DefaultWebhookConfig()
	cfg.Addr, cfg.Token, cfg.Bucket, cfg.Prefix, cfg.MaxBody = "127.0.0.1:0", "s3cret", "b", "lake/", 4096
	w := NewWebhook(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan Event, 10)
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, out) }()
	for deadline := time.Now().Add(10 * time.Second); w.Addr() == ""; {
		if time.Now().After(deadline) {
			t.Fatal("the webhook did not start listening within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	url := "http://" + w.Addr() + "/"
	good := `{"EventName":"s3:ObjectCreated:Put","Key":"b/lake/load/db/t/a%20b.parquet","Records":[{"eventName":"s3:ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"lake/load/db/t/a%20b.parquet"}}}]}`
	cases := []struct {
		name, auth, body string
		want             int
	}{
		{"no token", "", good, 401},
		{"wrong token", "Bearer nope", good, 401},
		{"malformed", "Bearer s3cret", `{"nope":`, 400},
		{"too large", "Bearer s3cret", strings.Repeat(" ", 5000), 413},
		{"good, bearer", "Bearer s3cret", good, 204},
		{"good, bare token", "s3cret", good, 204},
		{"good, scheme in lower case", "bearer s3cret", good, 204},
		{"token with a space inside", "Bearer  s3cret", good, 401},
		{"token cut short", "Bearer s3cre", good, 401},
		{"token with more", "Bearer s3cret2", good, 401},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(tc.body))
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
	}
	if len(out) != 3 { // one per 204
		t.Fatalf("%d events, want 3", len(out))
	}
	if e := <-out; e.Key != "load/db/t/a b.parquet" {
		t.Errorf("event = %+v", e)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := NewWebhook(WebhookConfig{Addr: "127.0.0.1:0"}, nil).Run(context.Background(), out); err != ErrNoToken {
		t.Errorf("no token: %v", err)
	}
}
