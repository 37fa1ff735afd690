package prepare

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
)

// TestRecoverBothStates: a batch killed while writing is discarded (its
// outputs deleted, its sources kept); one killed while publishing is
// published (outputs renamed, sources deleted or rejected).
func TestRecoverBothStates(t *testing.T) {
	ctx := context.Background()
	l := lakefixture.Open(t)
	s := NewStage(l.Store, l.Catalog, DefaultStageConfig(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	put := func(key, body string) lake.ObjectInfo {
		if err := l.Store.Put(ctx, key, strings.NewReader(body)); err != nil {
			t.Fatal(err)
		}
		info, err := l.Store.Stat(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		return info
	}

	w := intent{Batch: "11111111-writing", DB: "db", Table: "t", State: stateWriting, Stamp: "20261122T000000"}
	src := put("prepare/db/t/a.ndjson", "{}")
	w.Sources = []intentSrc{{Key: src.Key, Version: src.Version}}
	put(lake.PublishTemp(w.outputFinal(0)), "partial")
	put(w.rejectsTemp(), "partial")
	if _, err := s.beginIntent(ctx, w); err != nil {
		t.Fatal(err)
	}

	p := intent{Batch: "22222222-publishing", DB: "db", Table: "t", State: statePublishing, Stamp: "20261122T000000"}
	b := put("prepare/db/t/b.ndjson", "{}")
	c := put("prepare/db/t/c.ndjson", "junk")
	p.Sources = []intentSrc{{Key: b.Key, Version: b.Version}, {Key: c.Key, Version: c.Version, Reject: "no good record"}}
	put(lake.PublishTemp(p.outputFinal(0)), "output")
	p.Outputs = []intentMove{{Temp: lake.PublishTemp(p.outputFinal(0)), Final: "load/db/t/final.parquet"}}
	if _, err := s.beginIntent(ctx, p); err != nil {
		t.Fatal(err)
	}

	for range 2 { // idempotent
		if err := s.Recover(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for key, want := range map[string]bool{
		"prepare/db/t/a.ndjson": true, lake.PublishTemp(w.outputFinal(0)): false, w.rejectsTemp(): false,
		"prepare/db/t/b.ndjson": false, "load/db/t/final.parquet": true, lake.PublishTemp(p.outputFinal(0)): false,
		"prepare/db/t/c.ndjson": false, lake.RejectedPrefix + "prepare/db/t/c.ndjson": true,
		w.key(): false, p.key(): false,
	} {
		if got := lakefixture.Exists(l, key); got != want {
			t.Errorf("%s exists = %v, want %v", key, got, want)
		}
	}
}
