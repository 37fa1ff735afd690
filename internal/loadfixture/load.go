// Package loadfixture loads what waits under a test lake's load/ with the
// real loader, for tests of what comes after loading (relocation,
// maintenance). It lives apart from lakefixture, which the loader's own
// tests import.
package loadfixture

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/loader"
)

// Load loads every table waiting under l's load/ once (no settle time).
func Load(tb testing.TB, l *lake.Lake) {
	tb.Helper()
	cfg := loader.DefaultConfig()
	cfg.Settle, cfg.Lake = 0, l.Identity
	ld := loader.New(l.Store, l.Catalog, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx := context.Background()
	plan, err := ld.Scan(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	for ref, dirs := range plan.Tables {
		if _, err := ld.LoadTable(ctx, ref, dirs); err != nil {
			tb.Fatalf("load %s: %v", ref, err)
		}
	}
}
