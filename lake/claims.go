package lake

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"
)

// ClaimPrefix holds the claims of workers sharing a lake.
const ClaimPrefix = PrefixTmp + "lagoon/claims/"

// Claims let several workers share a lake: each stage's work on a table is
// claimed with a lease (conditional create, renewed while the work runs,
// taken over only once stale), so one worker at a time prepares, or loads,
// a given table.
type Claims struct {
	Store Store
	TTL   time.Duration
	Log   *slog.Logger
}

// Claim takes the claim of zone's work on ref. ok is false when another
// worker holds it. The returned context ends if the claim is lost; release
// ends the renewal and deletes the claim.
func (c Claims) Claim(ctx context.Context, zone string, ref TableRef) (context.Context, func(), bool, error) {
	key := ClaimPrefix + strings.TrimSuffix(zone, "/") + "/" + ref.String()
	l, err := AcquireLease(ctx, c.Store, key, c.TTL, c.Log)
	if errors.Is(err, ErrLocked) {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, err
	}
	jobCtx, cancel := context.WithCancel(ctx)
	go func() { // ends with jobCtx, which release cancels
		select {
		case <-l.Lost():
			c.Log.Error("claim lost: stopping the job", "key", key)
			cancel()
		case <-jobCtx.Done():
		}
	}()
	return jobCtx, func() {
		cancel()
		l.Release(context.Background())
	}, true, nil
}
