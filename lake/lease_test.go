package lake

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

const leaseKey = ClaimPrefix + "test/db.t"

func TestLease(t *testing.T) {
	ctx := context.Background()
	st, err := NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := AcquireLease(ctx, st, leaseKey, time.Hour, log)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := AcquireLease(ctx, st, leaseKey, time.Hour, log); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "held by") {
		t.Fatalf("second acquire: %v", err)
	}
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	b, err := AcquireLease(ctx, st, leaseKey, time.Hour, log)
	if err != nil {
		t.Fatalf("acquire after release: %v", err)
	}
	b.Release(ctx)
}

// TestLeaseTakeoverAndLoss: a lease not renewed for its TTL (its holder
// died) is taken over; a holder that finds its lease taken is told.
func TestLeaseTakeoverAndLoss(t *testing.T) {
	ctx := context.Background()
	st, _ := NewLocal(t.TempDir())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := st.Put(ctx, leaseKey, strings.NewReader(`{"id":"dead","host":"gone","pid":1}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := AcquireLease(ctx, st, leaseKey, time.Hour, log); !errors.Is(err, ErrLocked) {
		t.Fatalf("fresh lease of another: %v", err)
	}
	time.Sleep(300 * time.Millisecond)
	a, err := AcquireLease(ctx, st, leaseKey, 200*time.Millisecond, log)
	if err != nil {
		t.Fatalf("takeover of a stale lease: %v", err)
	}
	defer a.Release(ctx)
	// Someone else writes the lease: a notices within TTL/3.
	if err := st.Put(ctx, leaseKey, strings.NewReader(`{"id":"thief","host":"other","pid":2}`)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.Lost():
	case <-time.After(2 * time.Second):
		t.Fatal("lease loss not noticed")
	}
}

// TestPausedHolderCannotClobber: a holder paused past its TTL (here: its
// renewal stopped) whose lease was taken over can neither renew over the
// new holder's lease nor release it.
func TestPausedHolderCannotClobber(t *testing.T) {
	ctx := context.Background()
	st, _ := NewLocal(t.TempDir())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := AcquireLease(ctx, st, leaseKey, 300*time.Millisecond, log)
	if err != nil {
		t.Fatal(err)
	}
	a.stop() // paused: no renewal
	<-a.done
	time.Sleep(400 * time.Millisecond)
	b, err := AcquireLease(ctx, st, leaseKey, time.Hour, log)
	if err != nil {
		t.Fatalf("takeover: %v", err)
	}
	defer b.Release(ctx)
	a.owner.Renewed = time.Now()
	if err := a.write(ctx, a.version); !errors.Is(err, ErrChanged) {
		t.Fatalf("renewal over the new holder: %v, want ErrChanged", err)
	}
	if a.stillOurs(ctx) {
		t.Fatal("the paused holder thinks the lease is still its own")
	}
	a.done = make(chan struct{})
	close(a.done)
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	cur, err := b.read(ctx)
	if err != nil || cur.ID != b.owner.ID || cur.Released {
		t.Fatalf("after the paused holder's release the lease is %+v, %v; want b's", cur, err)
	}
	if _, err := AcquireLease(ctx, st, leaseKey, time.Hour, log); !errors.Is(err, ErrLocked) {
		t.Fatalf("a third taker: %v, want ErrLocked", err)
	}
}
