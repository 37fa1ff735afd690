package web_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lagoon-dev/lagoon/web"
)

// TestReadiness: /readyz is 503 while the lake or catalog does not
// answer, 200 once it does; /healthz answers all along.
func TestReadiness(t *testing.T) {
	down := errors.New("catalog: connection refused")
	cfg := web.DefaultConfig()
	cfg.Ready = func(context.Context) error { return down }
	h := web.Handler(cfg)
	get := func(path string) int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec.Code
	}
	if get("/readyz") != http.StatusServiceUnavailable || get("/healthz") != http.StatusOK {
		t.Errorf("down: readyz %d, healthz %d", get("/readyz"), get("/healthz"))
	}
	down = nil
	if get("/readyz") != http.StatusOK {
		t.Errorf("up: readyz %d", get("/readyz"))
	}
	if get("/metrics") != http.StatusNotFound || get("/") != http.StatusNotFound {
		t.Errorf("endpoints not asked for are served")
	}
}

// TestListenLoopbackByDefault: a bare port listens on the loopback only.
func TestListenLoopbackByDefault(t *testing.T) {
	for _, addr := range []string{"0", ":0"} {
		ln, err := web.Listen(addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := ln.Addr().String(); !strings.HasPrefix(got, "127.0.0.1:") {
			t.Errorf("%q listens on %s", addr, got)
		}
		ln.Close()
	}
}
