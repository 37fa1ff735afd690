package lake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/google/uuid"
)

// Lease is an exclusive, renewed hold on a key of an object store (the
// claims of workers sharing a lake are leases). It is
// taken with a conditional create; the holder rewrites it every TTL/3; a
// lease not rewritten for a whole TTL is stale and may be taken over. (This
// trusts the store's clock and ours to agree to well within the TTL.)
type Lease struct {
	st    Store
	key   string
	owner leaseOwner
	ttl   time.Duration
	log   *slog.Logger
	lost  chan struct{}
	stop  context.CancelFunc
	done  chan struct{}
}

type leaseOwner struct {
	ID    string    `json:"id"`
	Host  string    `json:"host"`
	PID   int       `json:"pid"`
	Since time.Time `json:"since"`
}

// AcquireLease takes the lease at key, or fails with an error wrapping
// ErrLocked naming the holder. The lease renews itself until Release; if
// it is ever found taken by another, Lost is closed.
func AcquireLease(ctx context.Context, st Store, key string, ttl time.Duration, log *slog.Logger) (*Lease, error) {
	host, _ := os.Hostname()
	l := &Lease{st: st, key: key, ttl: ttl, log: log, lost: make(chan struct{}),
		owner: leaseOwner{ID: uuid.NewString(), Host: host, PID: os.Getpid(), Since: time.Now().UTC()}}
	if err := l.take(ctx); err != nil {
		return nil, err
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l.stop, l.done = cancel, make(chan struct{})
	go l.renew(rctx)
	return l, nil
}

func (l *Lease) take(ctx context.Context) error {
	info, err := l.st.Stat(ctx, l.key)
	switch {
	case err == nil && time.Since(info.ModTime) < l.ttl:
		holder, _ := l.read(ctx)
		return fmt.Errorf("%w: held by %s pid %d since %s", ErrLocked, holder.Host, holder.PID, holder.Since.Format(time.RFC3339))
	case err == nil:
		l.log.Warn("taking over a stale lease", "key", l.key, "last_renewed", info.ModTime)
		if err := l.st.Delete(ctx, l.key); err != nil {
			return err
		}
	case !errors.Is(err, ErrNotExist):
		return err
	}
	body, _ := json.Marshal(l.owner)
	if err := l.st.PutIfAbsent(ctx, l.key, bytes.NewReader(body)); err != nil { // conditional: not PutJSON
		if errors.Is(err, ErrExist) {
			return fmt.Errorf("%w: another process took it first", ErrLocked)
		}
		return err
	}
	return nil
}

func (l *Lease) read(ctx context.Context) (leaseOwner, error) {
	var o leaseOwner
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
		cur, err := l.read(ctx)
		if err == nil && cur.ID != l.owner.ID || errors.Is(err, ErrNotExist) {
			l.log.Error("lease lost to another process", "key", l.key, "holder", cur.Host)
			close(l.lost)
			return
		}
		if err == nil {
			err = PutJSON(ctx, l.st, l.key, l.owner)
		}
		if err != nil && ctx.Err() == nil {
			l.log.Warn("cannot renew the lease", "key", l.key, "err", err)
		}
	}
}

// Lost is closed when the lease turns out to be held by another process;
// the holder must stop working on the lake.
func (l *Lease) Lost() <-chan struct{} { return l.lost }

// Release stops renewing and deletes the lease if it is still ours.
func (l *Lease) Release(ctx context.Context) error {
	l.stop()
	<-l.done
	cur, err := l.read(ctx)
	if err != nil || cur.ID != l.owner.ID {
		return nil
	}
	return l.st.Delete(ctx, l.key)
}
