// Package strike counts the times one file failed to be processed, so
// that a poison file — one that fails the same way again and again — is
// rejected instead of being retried for ever, while its batch goes on
// without it.
//
// Counts live in the lake (tmp/lagoon/strikes/), so they hold across
// restarts and are shared by the workers of a lake. A count belongs to one
// version of a file: a file written again starts from zero. Records of
// files gone or written again, and records that do not decode, are
// deleted when a book first looks (at start-up).
package strike

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/lagoon-dev/lagoon/lake"
)

// Prefix is where the counts are kept, one small JSON object a file.
const Prefix = lake.PrefixTmp + "lagoon/strikes/"

// Config tunes a Book. Start from DefaultConfig.
type Config struct {
	// Limit is the number of failures after which a file is rejected.
	Limit int
	// Retry spaces the attempts at a struck file.
	Retry lake.Backoff
	Now   func() time.Time
}

// DefaultConfig: rejected at the third failure; retried after 1 s, 2 s, …
// (jittered, at most a minute).
func DefaultConfig() Config {
	return Config{Limit: 3, Retry: lake.Backoff{Min: time.Second, Max: time.Minute}, Now: time.Now}
}

// Book records strikes against files of one lake. It is safe for
// concurrent use. It keeps the records it knows of in memory (those of the
// lake when it first looks, and those it writes), so asking about a file
// that was never struck costs no store request.
type Book struct {
	st  lake.Store
	cfg Config

	mu     sync.Mutex
	loaded bool
	known  map[string]Record // by file key
}

// New returns the book of a lake's store.
func New(st lake.Store, cfg Config) *Book {
	if cfg.Limit < 1 {
		cfg.Limit = 1
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Book{st: st, cfg: cfg, known: map[string]Record{}}
}

// Record is what the book holds for one file.
type Record struct {
	Key     string    `json:"key"`
	Version string    `json:"version"`
	Count   int       `json:"count"`
	Error   string    `json:"error"` // the last failure
	First   time.Time `json:"first"`
	Last    time.Time `json:"last"`
	// Next is when the file may be tried again.
	Next time.Time `json:"next"`
}

// Verdict is what a strike means for the file.
type Verdict struct {
	Record
	// Out is set when the file has reached the limit: reject it.
	Out bool
}

// Strike counts one failure of the file info names. It returns the new
// count and whether the file is out.
func (b *Book) Strike(ctx context.Context, info lake.ObjectInfo, cause error) (Verdict, error) {
	now := b.cfg.Now().UTC()
	if err := b.load(ctx); err != nil {
		return Verdict{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	rec := b.known[info.Key]
	if fresh, err := b.read(ctx, info.Key); err != nil {
		return Verdict{}, err
	} else if fresh.Count > rec.Count {
		rec = fresh // another worker struck it too
	}
	if rec.Version != info.Version || rec.Count == 0 {
		rec = Record{Key: info.Key, Version: info.Version, First: now}
	}
	rec.Count++
	rec.Error, rec.Last = cause.Error(), now
	rec.Next = now.Add(b.cfg.Retry.Delay(rec.Count))
	if err := lake.PutJSON(ctx, b.st, recordKey(info.Key), rec); err != nil {
		return Verdict{}, fmt.Errorf("strike %s: %w", info.Key, err)
	}
	b.known[info.Key] = rec
	return Verdict{Record: rec, Out: rec.Count >= b.cfg.Limit}, nil
}

// Pending returns the record of a struck file that must not be tried yet
// (ok false when it may be: never struck, struck in an older version, or
// its wait is over).
func (b *Book) Pending(ctx context.Context, info lake.ObjectInfo) (Record, bool, error) {
	if err := b.load(ctx); err != nil {
		return Record{}, false, err
	}
	b.mu.Lock()
	rec, ok := b.known[info.Key]
	b.mu.Unlock()
	if !ok || rec.Version != info.Version || !b.cfg.Now().Before(rec.Next) {
		return Record{}, false, nil
	}
	return rec, true, nil
}

// Clear forgets the strikes of files that left the zone (loaded, or
// rejected). Keys never struck cost nothing.
func (b *Book) Clear(ctx context.Context, keys ...string) error {
	if err := b.load(ctx); err != nil {
		return err
	}
	for _, key := range keys {
		b.mu.Lock()
		_, ok := b.known[key]
		b.mu.Unlock()
		if !ok {
			continue
		}
		if err := b.st.Delete(ctx, recordKey(key)); err != nil {
			return fmt.Errorf("clear strikes of %s: %w", key, err)
		}
		b.mu.Lock()
		delete(b.known, key)
		b.mu.Unlock()
	}
	return nil
}

// load reads the lake's records once (a record another worker writes
// later is read when this one strikes the same file: see Strike).
func (b *Book) load(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.loaded {
		return nil
	}
	for info, err := range b.st.List(ctx, Prefix) {
		if err != nil {
			return fmt.Errorf("list strikes: %w", err)
		}
		rec, keep, err := b.readStored(ctx, info.Key)
		if err != nil {
			return err
		}
		if keep {
			b.known[rec.Key] = rec
		}
	}
	b.loaded = true
	return nil
}

// readStored reads the record stored under key (a key under Prefix). A
// record that cannot be of use is deleted instead (keep false): one that
// does not decode (it only held a count: the file gets its tries again),
// one of a file that is gone, or of a file written again since.
func (b *Book) readStored(ctx context.Context, key string) (Record, bool, error) {
	var rec Record
	err := lake.GetJSON(ctx, b.st, key, &rec)
	switch {
	case errors.Is(err, lake.ErrNotExist):
		return Record{}, false, nil
	case errors.Is(err, lake.ErrCorrupt) || err == nil && recordKey(rec.Key) != key:
		return Record{}, false, b.drop(ctx, key)
	case err != nil:
		return Record{}, false, fmt.Errorf("read strikes %s: %w", key, err)
	}
	info, err := b.st.Stat(ctx, rec.Key)
	switch {
	case errors.Is(err, lake.ErrNotExist) || err == nil && info.Version != rec.Version:
		return Record{}, false, b.drop(ctx, key)
	case err != nil:
		return Record{}, false, fmt.Errorf("strikes of %s: %w", rec.Key, err)
	}
	return rec, true, nil
}

func (b *Book) drop(ctx context.Context, key string) error {
	if err := b.st.Delete(ctx, key); err != nil {
		return fmt.Errorf("drop stale strikes %s: %w", key, err)
	}
	return nil
}

func recordKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return Prefix + hex.EncodeToString(sum[:16]) + ".json"
}

func (b *Book) read(ctx context.Context, key string) (Record, error) {
	var rec Record
	err := lake.GetJSON(ctx, b.st, recordKey(key), &rec)
	if errors.Is(err, lake.ErrNotExist) {
		return Record{}, nil
	}
	if err != nil {
		return Record{}, fmt.Errorf("strikes of %s: %w", key, err)
	}
	return rec, nil
}

// Rejecter is the part of lake.Rejecter a Book uses.
type Rejecter interface {
	RejectErr(ctx context.Context, key string, ref lake.TableRef, err error, res *lake.Result) error
}

var _ Rejecter = lake.Rejecter{}

// Judge decides the fate of a file whose processing failed on its own
// account (fe): a panic or a stall rejects it at once; any other failure
// is a strike, and the file is rejected with its last error at the
// limit, or else held back (counted as waiting in res) until its retry.
// Either way it has left the batch it failed in. This is the one place
// that decision is made, for every stage.
func (b *Book) Judge(ctx context.Context, info lake.ObjectInfo, ref lake.TableRef, fe *lake.FileError, rj Rejecter, log *slog.Logger, res *lake.Result) error {
	if errors.Is(fe.Err, lake.ErrInternal) || errors.Is(fe.Err, lake.ErrStalled) {
		if err := rj.RejectErr(ctx, info.Key, ref, fe.Err, res); err != nil {
			return err
		}
		return b.Clear(ctx, info.Key)
	}
	v, err := b.Strike(ctx, info, fe.Err)
	if err != nil {
		return err
	}
	if v.Out {
		cause := fmt.Errorf("failed %d times; the last time: %w", v.Count, fe.Err)
		if err := rj.RejectErr(ctx, info.Key, ref, cause, res); err != nil {
			return err
		}
		return b.Clear(ctx, info.Key)
	}
	log.Warn("file failed; will retry it on its own", "key", info.Key, "table", ref.String(), "err", fe.Err,
		"failures", v.Count, "limit", b.cfg.Limit, "retry_at", v.Next)
	res.WaitUntil(1, v.Next)
	return nil
}

// Hold leaves out of infos the files struck and not due for a retry yet,
// counting them as waiting in res.
func (b *Book) Hold(ctx context.Context, infos []lake.ObjectInfo, res *lake.Result) ([]lake.ObjectInfo, error) {
	out := infos[:0]
	for _, info := range infos {
		rec, held, err := b.Pending(ctx, info)
		if err != nil {
			return nil, err
		}
		if !held {
			out = append(out, info)
			continue
		}
		res.WaitUntil(1, rec.Next)
	}
	return out, nil
}
