package logs

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
)

// A crash between a batch's commit and the deletion of its inbox objects
// must not load them twice; a crash before the commit must not lose them.
func TestRecoveryNeitherLosesNorDuplicates(t *testing.T) {
	ctx := context.Background()
	lk := lakefixture.Open(t)
	sink := NewSink(lk.Store)
	for _, m := range []string{"one", "two"} {
		if err := sink.Write(ctx, Entry{Time: time.Now(), Level: "warn", Message: m}); err != nil {
			t.Fatal(err)
		}
	}
	s := NewSyncer(lk, slog.Default())
	keys, err := s.inbox(ctx)
	if err != nil || len(keys) != 2 {
		t.Fatalf("inbox %v, %v", keys, err)
	}
	// Committed, then killed before the objects were deleted.
	if _, _, err := s.append(ctx, keys[:1]); err != nil {
		t.Fatal(err)
	}
	// Killed after writing the intent, before the commit.
	if err := lake.PutJSON(ctx, lk.Store, intentPrefix+"20000101T000000.000000000Z.json",
		intent{Batch: "20000101T000000.000000000Z", Keys: keys[1:]}); err != nil {
		t.Fatal(err)
	}
	n, err := s.Sync(ctx)
	if err != nil || n != 1 {
		t.Fatalf("sync after the crash: %d entries, %v; want the one not committed", n, err)
	}
	got, err := Query(ctx, lk, Filter{})
	if err != nil || len(got) != 2 || got[0].Message == got[1].Message {
		t.Fatalf("log table = %+v, %v; want one and two, once each", got, err)
	}
	for info, err := range lk.Store.List(ctx, intentPrefix) {
		t.Fatalf("intent left: %s %v", info.Key, err)
	}
}
