package strike_test

import (
	"context"
	"errors"
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
	info := lake.ObjectInfo{Key: "prepare/db/t/x.csv", Version: "v1"}
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
	again := info
	again.Version = "v2"
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
