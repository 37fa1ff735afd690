package logs

import (
	"context"
	"fmt"
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
	objs, err := s.inbox(ctx)
	if err != nil || len(objs) != 2 {
		t.Fatalf("inbox %v, %v", objs, err)
	}
	// Committed, then killed before the objects were deleted.
	tbl, err := lk.OpenSide(ctx, TableDef)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.append(ctx, tbl, intent{Batch: "20000101T000001.000000000Z", Keys: keysOf(objs[:1]), Since: time.Now()}); err != nil {
		t.Fatal(err)
	}
	// Killed after writing the intent, before the commit.
	if err := lake.PutJSON(ctx, lk.Store, intentPrefix+"20000101T000000.000000000Z.json",
		intent{Batch: "20000101T000000.000000000Z", Keys: keysOf(objs[1:]), Since: time.Now()}); err != nil {
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

// A syncer paused after listing the inbox, while another took its claim
// over and synced, commits nothing when it resumes: the fence finds its
// objects in the other's commit. Two batches committed and cut short
// before their objects were deleted are both finished by recovery.
func TestPausedSyncerCommitsNothingTwice(t *testing.T) {
	ctx := context.Background()
	lk := lakefixture.Open(t)
	sink := NewSink(lk.Store)
	for _, m := range []string{"one", "two", "three"} {
		if err := sink.Write(ctx, Entry{Time: time.Now(), Level: "warn", Message: m}); err != nil {
			t.Fatal(err)
		}
	}
	paused := NewSyncer(lk, slog.Default())
	objs, err := paused.inbox(ctx)
	if err != nil || len(objs) != 3 {
		t.Fatalf("inbox %v, %v", objs, err)
	}
	// The other syncer commits two batches, each cut short before its
	// objects were deleted (its intents stay).
	other := NewSyncer(lk, slog.Default())
	for i, part := range [][]lake.ObjectInfo{objs[:1], objs[1:]} {
		tbl, err := lk.OpenSide(ctx, TableDef)
		if err != nil {
			t.Fatal(err)
		}
		in := intent{Batch: fmt.Sprintf("20000101T00000%d.000000000Z", i), Keys: keysOf(part), Since: time.Now()}
		if _, err := other.append(ctx, tbl, in); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := paused.commit(ctx, objs); err != nil || n != 0 {
		t.Fatalf("paused syncer resumed: %d entries, %v; want none (all committed)", n, err)
	}
	if n, err := other.Sync(ctx); err != nil || n != 0 {
		t.Fatalf("recovery: %d entries, %v", n, err)
	}
	got, err := Query(ctx, lk, Filter{})
	if err != nil || len(got) != 3 {
		t.Fatalf("log table = %+v, %v; want three entries, once each", got, err)
	}
	for info, err := range lk.Store.List(ctx, InboxPrefix) {
		t.Errorf("inbox object left: %s %v", info.Key, err)
	}
	for info, err := range lk.Store.List(ctx, intentPrefix) {
		t.Errorf("intent left: %s %v", info.Key, err)
	}
}
