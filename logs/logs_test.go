package logs_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/logs"
)

func inboxKeys(tb testing.TB, lk *lake.Lake) []string {
	tb.Helper()
	var out []string
	for info, err := range lk.Store.List(context.Background(), logs.InboxPrefix) {
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, info.Key)
	}
	return out
}

func TestWarningsAndErrorsReachTheLogTable(t *testing.T) {
	ctx := context.Background()
	lk := lakefixture.Open(t)
	sink := logs.NewSink(lk.Store)
	log := slog.New(logs.NewHandler(slog.NewTextHandler(io.Discard, nil), sink)).With("stage", "load")
	log.Info("not for the table")
	log.Warn("file rejected", "table", "shop.orders", "key", "load/shop/orders/x.parquet", "reason", "not parquet")
	log.Error("job failed", "db", "shop", "err", errors.New("boom"), "retry_in", 5*time.Second)
	if got := len(inboxKeys(t, lk)); got != 2 {
		t.Fatalf("inbox holds %d objects before the sync, want 2 (each write durable on return)", got)
	}
	s := logs.NewSyncer(lk, slog.Default())
	if n, err := s.Sync(ctx); err != nil || n != 2 {
		t.Fatalf("sync: %d entries, %v", n, err)
	}
	if left := inboxKeys(t, lk); len(left) != 0 {
		t.Fatalf("inbox not emptied: %v", left)
	}
	if n, err := s.Sync(ctx); err != nil || n != 0 {
		t.Fatalf("second sync: %d entries, %v", n, err)
	}
	all, err := logs.Query(ctx, lk, logs.Filter{})
	if err != nil || len(all) != 2 {
		t.Fatalf("query: %+v, %v", all, err)
	}
	w := all[0]
	if w.Level != "warn" || w.Stage != "load" || w.DB != "shop" || w.Table != "orders" ||
		w.Key != "load/shop/orders/x.parquet" || w.Detail["reason"] != "not parquet" || w.Worker != sink.Worker() {
		t.Fatalf("warning entry = %+v", w)
	}
	e := all[1]
	if e.Level != "error" || e.Error != "boom" || e.DB != "shop" || e.Detail["retry_in"] != "5s" {
		t.Fatalf("error entry = %+v", e)
	}
	for _, c := range []struct {
		f    logs.Filter
		want int
	}{
		{logs.Filter{Level: "error"}, 1},
		{logs.Filter{Table: "shop.orders"}, 1},
		{logs.Filter{Table: "shop"}, 2},
		{logs.Filter{Table: "other"}, 0},
		{logs.Filter{Since: time.Now().Add(time.Hour)}, 0},
		{logs.Filter{Since: time.Now().Add(-time.Hour)}, 2},
	} {
		got, err := logs.Query(ctx, lk, c.f)
		if err != nil || len(got) != c.want {
			t.Errorf("query %+v: %d entries, %v; want %d", c.f, len(got), err, c.want)
		}
	}
}

func TestConcurrentWritersShareObjects(t *testing.T) {
	ctx := context.Background()
	lk := lakefixture.Open(t)
	sink := logs.NewSink(lk.Store)
	log := slog.New(logs.NewHandler(slog.NewTextHandler(io.Discard, nil), sink))
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() { log.Warn("w", "n", i) })
	}
	wg.Wait()
	objs := len(inboxKeys(t, lk))
	if objs > 64 || objs == 0 {
		t.Fatalf("%d inbox objects for 64 warnings", objs)
	}
	n, err := logs.NewSyncer(lk, slog.Default()).Sync(ctx)
	if err != nil || n != 64 {
		t.Fatalf("sync: %d entries, %v; want 64", n, err)
	}
	t.Logf("64 concurrent warnings in %d objects", objs)
}
