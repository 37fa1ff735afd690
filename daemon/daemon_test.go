package daemon_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/lagoon-dev/lagoon/daemon"
	"github.com/lagoon-dev/lagoon/events"
	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/loader"
)

func newDaemon(l *lake.Lake) *daemon.Daemon {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := loader.DefaultConfig()
	cfg.Settle = 0
	return daemon.New([]daemon.Stage{loader.New(l.Store, l.Catalog, cfg, log)}, daemon.DefaultConfig(), log)
}

// TestLostEventsAreCaughtBySweepsAndDuplicatesLoadOnce: the daemon gets no
// event for the files (as if every event were lost) but periodic sweeps,
// and a flood of duplicated events for one key; every row lands once.
func TestLostEventsAreCaughtBySweepsAndDuplicatesLoadOnce(t *testing.T) {
	l := lakefixture.Open(t)
	ev := make(chan events.Event)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var sum daemon.Summary
	wg.Go(func() {
		var err error
		sum, err = newDaemon(l).Run(ctx, ev)
		if err != nil {
			t.Error(err)
		}
	})
	lakefixture.Drop(t, l, "load/db/t/a.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(0, 10)))
	lakefixture.Drop(t, l, "load/db/t/b.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(10, 10)))
	for range 50 {
		ev <- events.Event{Key: "load/db/t/a.parquet"}
		ev <- events.Event{Rescan: true}
	}
	deadline := time.Now().Add(10 * time.Second)
	for lakefixture.Exists(l, "load/db/t/a.parquet") || lakefixture.Exists(l, "load/db/t/b.parquet") {
		if time.Now().After(deadline) {
			t.Fatal("files not loaded")
		}
		ev <- events.Event{Rescan: true}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	if n := len(lakefixture.Rows(t, l, "db.t")); n != 20 {
		t.Errorf("rows = %d, want 20", n)
	}
	if sum.Files != 2 || sum.Rows != 20 {
		t.Errorf("summary = %+v", sum)
	}
}

// TestOnceWaitsForFilesToSettle: --once does not skip a file that is
// still settling; it waits for it.
func TestOnceWaitsForFilesToSettle(t *testing.T) {
	l := lakefixture.Open(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := loader.DefaultConfig()
	cfg.Settle = 300 * time.Millisecond
	d := daemon.New([]daemon.Stage{loader.New(l.Store, l.Catalog, cfg, log)}, daemon.DefaultConfig(), log)
	lakefixture.Drop(t, l, "load/db/t/old.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(0, 3)))
	body := lakefixture.ParquetBytes(t, lakefixture.Ints(3, 4))
	if err := l.Store.Put(context.Background(), "load/db/t/new.parquet", bytes.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	sum, err := d.Once(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Files != 2 || sum.Rows != 7 {
		t.Errorf("summary = %+v, want both files", sum)
	}
}
