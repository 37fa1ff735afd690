package daemon_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lagoon-dev/lagoon/daemon"
	"github.com/lagoon-dev/lagoon/events"
	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/loader"
	"github.com/lagoon-dev/lagoon/prepare"
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

// TestTablesCarriesAFileThroughEveryStage: a table named from prepare/
// is prepared and its output loaded in the same call; a table named
// from load/ only loads; tables not named are left alone; a table
// another worker holds is left for later.
func TestTablesCarriesAFileThroughEveryStage(t *testing.T) {
	l := lakefixture.Open(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	pc := prepare.DefaultStageConfig()
	pc.Settle = 0
	lc := loader.DefaultConfig()
	lc.Settle = 0
	stages := []daemon.Stage{prepare.NewStage(l.Store, l.Catalog, pc, log), loader.New(l.Store, l.Catalog, lc, log)}
	held := lake.TableRef{DB: "db", Table: "held"}
	cfg := daemon.DefaultConfig()
	cfg.Claims = holdOne{held, lake.Claims{Store: l.Store, TTL: time.Minute, Log: log}}
	d := daemon.New(stages, cfg, log)
	lakefixture.Drop(t, l, "prepare/db/events/e.ndjson", []byte("{\"id\":1}\n{\"id\":2}\n"))
	lakefixture.Drop(t, l, "load/db/orders/o.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(0, 5)))
	lakefixture.Drop(t, l, "load/db/other/o.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(0, 5)))
	lakefixture.Drop(t, l, "load/db/held/h.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(0, 5)))
	sum, err := d.Tables(context.Background(), map[lake.TableRef]string{
		{DB: "db", Table: "events"}: lake.PrefixPrepare, {DB: "db", Table: "orders"}: lake.PrefixLoad, held: lake.PrefixLoad})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Prepared.Files != 1 || sum.Files != 2 || sum.Rows != 7 {
		t.Errorf("summary = %+v", sum)
	}
	if n := len(lakefixture.Rows(t, l, "db.events")); n != 2 {
		t.Errorf("db.events rows = %d, want 2 (prepared and loaded in one call)", n)
	}
	for _, k := range []string{"load/db/other/o.parquet", "load/db/held/h.parquet"} {
		if !lakefixture.Exists(l, k) {
			t.Errorf("%s was taken", k)
		}
	}
}

// holdOne is a Claimer for which another worker holds one table.
type holdOne struct {
	held lake.TableRef
	lake.Claims
}

func (h holdOne) Claim(ctx context.Context, zone string, ref lake.TableRef) (context.Context, func(), bool, error) {
	if ref == h.held {
		return nil, nil, false, nil
	}
	return h.Claims.Claim(ctx, zone, ref)
}

// TestPreparedOutputLoadsAtOnce: what prepare publishes is loaded by the
// same daemon at once — no event for it, no sweep, and no settling (an
// hour here), since this process published it whole.
func TestPreparedOutputLoadsAtOnce(t *testing.T) {
	l := lakefixture.Open(t)
	ev := make(chan events.Event)
	defer settledHourly(t, l, ev, nil)()
	key := "prepare/db/quick/q.ndjson"
	lakefixture.Drop(t, l, key, []byte("{\"id\":1}\n{\"id\":2}\n"))
	old := time.Now().Add(-2 * time.Hour) // settled long ago, for prepare
	if err := os.Chtimes(filepath.Join(lakefixture.Root(l), key), old, old); err != nil {
		t.Fatal(err)
	}
	ev <- events.Event{Key: key}
	deadline := time.Now().Add(20 * time.Second)
	for lakefixture.Exists(l, key) || !tableHas(l, "db.quick") {
		if time.Now().After(deadline) {
			t.Fatal("the prepared output was not loaded at once")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(lakefixture.Rows(t, l, "db.quick")); n != 2 {
		t.Errorf("rows = %d", n)
	}
}

// settledHourly runs a daemon of prepare and load with an hour's settle
// on l, fed by ev (and by watch, when set, which tells the daemon of
// files closed); the function returned stops them.
func settledHourly(tb testing.TB, l *lake.Lake, ev chan events.Event, watch *events.Local) (stop func()) {
	tb.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	fin := &lake.Finished{}
	pc := prepare.DefaultStageConfig()
	pc.Settle, pc.Finished = time.Hour, fin
	lc := loader.DefaultConfig()
	lc.Settle, lc.Finished = time.Hour, fin
	dc := daemon.DefaultConfig()
	dc.Finished = fin
	d := daemon.New([]daemon.Stage{prepare.NewStage(l.Store, l.Catalog, pc, log), loader.New(l.Store, l.Catalog, lc, log)}, dc, log)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { d.Run(ctx, ev) })
	if watch != nil {
		wg.Go(func() { watch.Run(ctx, ev) })
	}
	return func() { cancel(); wg.Wait() }
}

func tableHas(l *lake.Lake, name string) bool {
	ref, _ := lake.ParseTableRef(name)
	tbl, err := l.LoadTable(context.Background(), ref)
	return err == nil && tbl.CurrentSnapshot() != nil
}

// TestClosedFileNeedsNoSettle: with a settle of an hour, a file its
// writer closed is taken at once (the close watch of events.Local), while
// one still being written waits; the half written first is not taken.
func TestClosedFileNeedsNoSettle(t *testing.T) {
	l := lakefixture.Open(t)
	ev := make(chan events.Event)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	watch := events.NewLocal(lakefixture.Root(l), events.LocalConfig{Prefixes: []string{"prepare/"}, Rescan: time.Hour}, log)
	ready := make(chan struct{})
	watch.OnReady(func() { close(ready) })
	defer settledHourly(t, l, ev, watch)()
	<-ready
	path := filepath.Join(lakefixture.Root(l), "prepare", "db", "closed", "c.ndjson")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("{\"id\":1}\n")
	time.Sleep(500 * time.Millisecond)
	if tableHas(l, "db.closed") {
		t.Fatal("a file still open for writing was taken")
	}
	f.WriteString("{\"id\":2}\n")
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !tableHas(l, "db.closed") {
		if time.Now().After(deadline) {
			t.Fatal("the closed file was not taken at once")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(lakefixture.Rows(t, l, "db.closed")); n != 2 {
		t.Errorf("rows = %d, want both lines", n)
	}
}
