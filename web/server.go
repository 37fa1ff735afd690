// Package web serves a worker's HTTP endpoints: the dashboard (/),
// /metrics (Prometheus), /healthz (the process answers) and /readyz (the
// lake and its catalog answer). It is read-only but for the dashboard's
// retry form, which takes a token.
package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

// Config configures the server.
type Config struct {
	// Metrics serves /metrics (nil: 404).
	Metrics http.Handler
	// Dashboard serves / and its retry form (nil: 404).
	Dashboard *Dashboard
	// Ready says whether the worker can work: nil when the lake and its
	// catalog answer.
	Ready        func(ctx context.Context) error
	ReadyTimeout time.Duration
	// ShutdownTimeout bounds the requests in flight at shutdown.
	ShutdownTimeout time.Duration
	Log             *slog.Logger
}

// DefaultConfig gives readiness 5 s and requests in flight 5 s at
// shutdown.
func DefaultConfig() Config {
	return Config{ReadyTimeout: 5 * time.Second, ShutdownTimeout: 5 * time.Second, Log: slog.Default()}
}

// Listen listens on addr; a bare port ("9090" or ":9090") listens on the
// loopback only: reaching the worker from elsewhere must be asked for
// with a host ("0.0.0.0:9090").
func Listen(addr string) (net.Listener, error) {
	if !strings.Contains(addr, ":") || strings.HasPrefix(addr, ":") {
		addr = "127.0.0.1:" + strings.TrimPrefix(addr, ":")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("http: %w", err)
	}
	return ln, nil
}

// Serve serves on ln until ctx ends, then shuts down gracefully.
func Serve(ctx context.Context, ln net.Listener, cfg Config) error {
	srv := &http.Server{Handler: Handler(cfg), ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) }}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }() // ends with Shutdown below
	select {
	case err := <-done:
		return fmt.Errorf("http: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-done; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// Handler routes the endpoints; anything but GET and HEAD is refused.
func Handler(cfg Config) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/readyz", cfg.ready)
	if cfg.Metrics != nil {
		mux.Handle("/metrics", cfg.Metrics)
	}
	if cfg.Dashboard != nil {
		mux.HandleFunc("/", cfg.Dashboard.serve)
		mux.HandleFunc("POST /retry", cfg.Dashboard.retry)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if r.Method == http.MethodPost && r.URL.Path == "/retry" && cfg.Dashboard != nil {
			mux.ServeHTTP(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "read-only", http.StatusMethodNotAllowed)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func (cfg Config) ready(w http.ResponseWriter, r *http.Request) {
	if cfg.Ready == nil {
		fmt.Fprintln(w, "ok")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), cfg.ReadyTimeout)
	defer cancel()
	if err := cfg.Ready(ctx); err != nil {
		cfg.Log.Warn("not ready", "err", err)
		http.Error(w, "not ready: the lake or its catalog does not answer", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ok")
}
