package events

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// WebhookConfig tunes the webhook event source.
type WebhookConfig struct {
	// Addr is where to listen ("127.0.0.1:9099").
	Addr string
	// Token authenticates senders: "Authorization: Bearer <token>" or the
	// token alone (MinIO's auth_token). Required.
	Token string
	// Bucket and Prefix locate the lake (versitygw posts every object of
	// the gateway: what is not this lake's prepare/ or load/ is dropped).
	Bucket, Prefix string
	// RawKeys takes keys as they are instead of URL-decoding them
	// (versitygw does not encode).
	RawKeys bool
	// MaxBody bounds a request body.
	MaxBody int64
	// Rescan is the period of the sweep that catches what events missed.
	Rescan time.Duration
}

// DefaultWebhookConfig listens on 127.0.0.1:9099 and takes bodies up to
// 1 MiB.
func DefaultWebhookConfig() WebhookConfig {
	return WebhookConfig{Addr: "127.0.0.1:9099", MaxBody: 1 << 20, Rescan: 5 * time.Minute}
}

// Webhook receives S3-style notifications over HTTP, as MinIO, Ceph and
// versitygw post them. It answers 2xx only once a request's events have
// been taken in by the daemon; 401 to a missing or wrong token, 400 to a
// body that is not a notification, 413 past MaxBody, 503 while stopping.
type Webhook struct {
	cfg WebhookConfig
	log *slog.Logger
	out chan<- Event
	ctx context.Context

	mu   sync.Mutex
	addr string
}

// ErrNoToken is returned by Run when no token is configured: an
// unauthenticated endpoint is never served.
var ErrNoToken = errors.New("webhook needs a token")

// NewWebhook returns the source.
func NewWebhook(cfg WebhookConfig, log *slog.Logger) *Webhook {
	return &Webhook{cfg: cfg, log: log}
}

// Addr returns the address it listens on, once Run has started.
func (w *Webhook) Addr() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.addr
}

// Run serves until ctx ends, then shuts the server down gracefully.
func (w *Webhook) Run(ctx context.Context, out chan<- Event) error {
	if w.cfg.Token == "" {
		return ErrNoToken
	}
	ln, err := net.Listen("tcp", w.cfg.Addr)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	w.mu.Lock()
	w.addr = ln.Addr().String()
	w.mu.Unlock()
	w.out, w.ctx = out, ctx
	srv := &http.Server{Handler: w, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	w.log.Info("webhook listening", "addr", w.addr)
	tick := time.NewTicker(w.cfg.Rescan)
	defer tick.Stop()
	for {
		select {
		case err := <-errc:
			return fmt.Errorf("webhook: %w", err)
		case <-tick.C:
			if !send(ctx, out, Event{Rescan: true}) {
				continue
			}
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			srv.Shutdown(sctx)
			return nil
		}
	}
}

// ServeHTTP implements http.Handler.
func (w *Webhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if !w.authorized(r) {
		http.Error(rw, "unauthorized", http.StatusUnauthorized)
		return
	}
	if r.Method != http.MethodPost {
		rw.WriteHeader(http.StatusOK) // reachability checks (MinIO probes its targets)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, w.cfg.MaxBody))
	if err != nil {
		http.Error(rw, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	parse := ParseNotification
	if w.cfg.RawKeys {
		parse = ParseNotificationRaw
	}
	refs, err := parse(body)
	if err != nil {
		http.Error(rw, "not an S3 notification", http.StatusBadRequest)
		return
	}
	for _, k := range LakeKeys(refs, w.cfg.Bucket, w.cfg.Prefix) {
		select {
		case w.out <- Event{Key: k}:
		case <-r.Context().Done():
			return
		case <-w.ctx.Done():
			http.Error(rw, "stopping", http.StatusServiceUnavailable)
			return
		}
	}
	rw.WriteHeader(http.StatusNoContent)
}

// authorized takes "Bearer <token>" (the scheme in any case, as RFC 7235
// has it) or the bare token (older MinIO sends it so), compared in constant
// time. Nothing is trimmed beyond what HTTP itself strips from a header
// value: " secret" or "secret " is another token.
func (w *Webhook) authorized(r *http.Request) bool {
	const scheme = "bearer "
	got := r.Header.Get("Authorization")
	if len(got) > len(scheme) && strings.EqualFold(got[:len(scheme)], scheme) {
		got = got[len(scheme):]
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(w.cfg.Token)) == 1
}
