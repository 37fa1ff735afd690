package lake

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/google/uuid"
)

// Lease is an exclusive, renewed hold on a key of an object store (the
// claims of workers sharing a lake are leases). Every write of it is a
// compare-and-swap (Swapper): it is taken when absent, released or stale,
// renewed every TTL/3 only while it is still the version its holder last
// wrote, and released by marking it so. A lease not rewritten for a whole
// TTL is stale and may be taken over. A holder that was paused past the
// TTL finds at its next renewal that the lease moved on, and gives up
// (Lost): it can never write over the new holder's lease. (Staleness
// trusts the store's clock and ours to agree to well within the TTL.
// Leases save wasted work; they are not what keeps a batch from being
// committed twice — the loader's fenced commit is.)
type Lease struct {
	st      Store
	key     string
	owner   LeaseOwner
	version string // of the lease as we last wrote it
	ttl     time.Duration
	log     *slog.Logger
	lost    chan struct{}
	stop    context.CancelFunc
	done    chan struct{}
}

// LeaseOwner is what a lease's object holds: who holds it, since when,
// when it was last renewed, for how long (see lake.Claims); read by
// status reports.
type LeaseOwner struct {
	ID      string    `json:"id"`
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Since   time.Time `json:"since"`
	Renewed time.Time `json:"renewed"`
	// TTL is the holder's: its lease is stale after that long unrenewed.
	TTL      time.Duration `json:"ttl_ns,omitempty"`
	Released bool          `json:"released,omitempty"`
}

// ErrNoSwap: the store cannot compare-and-swap, so leases cannot be kept.
var ErrNoSwap = errors.New("the store has no conditional writes (lake.Swapper)")

// AcquireLease takes the lease at key, or fails with an error wrapping
// ErrLocked naming the holder. The lease renews itself until Release; if
// it is ever found taken by another, Lost is closed.
func AcquireLease(ctx context.Context, st Store, key string, ttl time.Duration, log *slog.Logger) (*Lease, error) {
	if _, ok := st.(Swapper); !ok {
		return nil, fmt.Errorf("lease %s: %w", key, ErrNoSwap)
	}
	host, _ := os.Hostname()
	now := time.Now().UTC()
	l := &Lease{st: st, key: key, ttl: ttl, log: log, lost: make(chan struct{}),
		owner: LeaseOwner{ID: uuid.NewString(), Host: host, PID: os.Getpid(), Since: now, Renewed: now, TTL: ttl}}
	if err := l.take(ctx); err != nil {
		return nil, err
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l.stop, l.done = cancel, make(chan struct{})
	go l.renew(rctx)
	return l, nil
}

// take swaps our lease in for none, a released one or a stale one.
func (l *Lease) take(ctx context.Context) error {
	info, err := l.st.Stat(ctx, l.key)
	version := ""
	switch {
	case errors.Is(err, ErrNotExist):
	case err != nil:
		return err
	default:
		holder, rerr := l.read(ctx)
		ttl := l.ttl
		if holder.TTL > 0 {
			ttl = holder.TTL // the holder's, not ours
		}
		if rerr == nil && !holder.Released && time.Since(info.ModTime) < ttl {
			return fmt.Errorf("%w: held by %s pid %d since %s", ErrLocked, holder.Host, holder.PID, holder.Since.Format(time.RFC3339))
		}
		if rerr == nil && !holder.Released {
			l.log.Warn("taking over a stale lease", "key", l.key, "last_renewed", info.ModTime, "holder", holder.Host)
		}
		version = info.Version
	}
	if err := l.write(ctx, version); errors.Is(err, ErrChanged) {
		return fmt.Errorf("%w: another process took it first", ErrLocked)
	} else if err != nil {
		return err
	}
	return nil
}

// write swaps l.owner in for the lease at version, and remembers the new
// version.
func (l *Lease) write(ctx context.Context, version string) error {
	v, err := PutJSONIfVersion(ctx, l.st, l.key, version, l.owner)
	if err != nil {
		return err
	}
	l.version = v
	return nil
}

func (l *Lease) read(ctx context.Context) (LeaseOwner, error) {
	var o LeaseOwner
	return o, GetJSON(ctx, l.st, l.key, &o)
}

// renew rewrites the lease every TTL/3 while it is still ours.
func (l *Lease) renew(ctx context.Context) {
	defer close(l.done)
	t := time.NewTicker(l.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		l.owner.Renewed = time.Now().UTC()
		err := l.write(ctx, l.version)
		if errors.Is(err, ErrChanged) && !l.stillOurs(ctx) {
			l.log.Error("lease lost to another process", "key", l.key)
			close(l.lost)
			return
		}
		if err != nil && !errors.Is(err, ErrChanged) && ctx.Err() == nil {
			l.log.Warn("cannot renew the lease", "key", l.key, "err", err)
		}
	}
}

// stillOurs looks at a lease whose swap failed: a renewal whose answer was
// lost may have landed (then the lease holds our id, and we take its
// version); any other holder means the lease is lost.
func (l *Lease) stillOurs(ctx context.Context) bool {
	info, err := l.st.Stat(ctx, l.key)
	if err != nil {
		return false
	}
	cur, err := l.read(ctx)
	if err != nil || cur.ID != l.owner.ID || cur.Released {
		return false
	}
	l.version = info.Version
	return true
}

// Lost is closed when the lease turns out to be held by another process;
// the holder must stop working on the lake.
func (l *Lease) Lost() <-chan struct{} { return l.lost }

// Release stops renewing and marks the lease released — a swap, so that a
// lease another process took meanwhile is left alone. The next taker
// needs no wait.
func (l *Lease) Release(ctx context.Context) error {
	l.stop()
	<-l.done
	l.owner.Released = true
	if err := l.write(ctx, l.version); err != nil && !errors.Is(err, ErrChanged) {
		return err
	}
	return nil
}
