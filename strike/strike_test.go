package strike_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/strike"
)

// TestCountsHoldAcrossBooks: strikes are kept in the lake, so a restarted
// process (a new Book) and another worker count on; a file written again
// starts from zero; a struck file is held back until its retry; Clear
// forgets it.
func TestCountsHoldAcrossBooks(t *testing.T) {
	ctx := context.Background()
	st, err := lake.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	cfg := strike.Config{Limit: 3, Retry: lake.Backoff{Min: time.Minute, Max: time.Minute}, Now: func() time.Time { return now }}
	info := put(t, st, "prepare/db/t/x.csv", "a\n1\n")
	cause := errors.New("cannot open")

	a := strike.New(st, cfg)
	if v, err := a.Strike(ctx, info, cause); err != nil || v.Count != 1 || v.Out {
		t.Fatalf("first strike: %+v %v", v, err)
	}
	if _, held, _ := a.Pending(ctx, info); !held {
		t.Error("not held back within its wait")
	}
	b := strike.New(st, cfg) // a restart, or another worker
	if v, _ := b.Strike(ctx, info, cause); v.Count != 2 {
		t.Errorf("second book counts %d, want 2", v.Count)
	}
	if v, _ := a.Strike(ctx, info, cause); v.Count != 3 || !v.Out {
		t.Errorf("third strike: %+v, want out", v)
	}
	now = now.Add(2 * time.Minute)
	if _, held, _ := a.Pending(ctx, info); held {
		t.Error("held back after its wait")
	}
	again := put(t, st, info.Key, "a\n1\n2\n")
	if v, _ := a.Strike(ctx, again, cause); v.Count != 1 {
		t.Errorf("a new version counts %d, want 1", v.Count)
	}
	if err := a.Clear(ctx, info.Key); err != nil {
		t.Fatal(err)
	}
	for obj, err := range st.List(ctx, strike.Prefix) {
		t.Errorf("left after Clear: %s %v", obj.Key, err)
	}
}

// TestStaleRecordsGo: records a book finds when it first looks are
// dropped when they can be of no use — their file is gone or was written
// again, or the record does not decode (a hostile or broken object must
// not stop the stage) — and kept otherwise.
func TestStaleRecordsGo(t *testing.T) {
	ctx := context.Background()
	st, err := lake.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := strike.DefaultConfig()
	cfg.Retry = lake.Backoff{Min: time.Hour, Max: time.Hour}
	a := strike.New(st, cfg)
	kept := put(t, st, "prepare/db/t/kept.csv", "a\n")
	gone := put(t, st, "prepare/db/t/gone.csv", "a\n")
	rewritten := put(t, st, "prepare/db/t/rewritten.csv", "a\n")
	for _, info := range []lake.ObjectInfo{kept, gone, rewritten} {
		if _, err := a.Strike(ctx, info, errors.New("bad")); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Delete(ctx, gone.Key); err != nil {
		t.Fatal(err)
	}
	put(t, st, rewritten.Key, "a\nb\n")
	if err := st.Put(ctx, strike.Prefix+"junk.json", strings.NewReader("{not json")); err != nil {
		t.Fatal(err)
	}
	b := strike.New(st, cfg)
	if _, held, err := b.Pending(ctx, kept); err != nil || !held {
		t.Errorf("kept: held %v, %v", held, err)
	}
	n := 0
	for _, err := range st.List(ctx, strike.Prefix) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 1 {
		t.Errorf("%d records left, want 1 (the kept file's)", n)
	}
}

func put(tb testing.TB, st lake.Store, key, body string) lake.ObjectInfo {
	tb.Helper()
	ctx := context.Background()
	if err := st.Put(ctx, key, strings.NewReader(body)); err != nil {
		tb.Fatal(err)
	}
	info, err := st.Stat(ctx, key)
	if err != nil {
		tb.Fatal(err)
	}
	return info
}
