package trail

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lagoon-dev/lagoon/lake"
)

// Prefix holds the records: Prefix + 20-digit sequence number + ".rec".
const Prefix = lake.PrefixTrail + "records/"

// KeyOf returns the key of record seq.
func KeyOf(seq uint64) string { return fmt.Sprintf("%s%020d.rec", Prefix, seq) }

func seqOf(key string) (uint64, bool) {
	s := strings.TrimSuffix(strings.TrimPrefix(key, Prefix), ".rec")
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil && len(s) == 20 && strings.HasSuffix(key, ".rec")
}

// Store is what the trail needs of the lake.
type Store interface {
	List(ctx context.Context, prefix string) iter.Seq2[lake.ObjectInfo, error]
	Open(ctx context.Context, key string) (lake.Object, error)
	PutIfAbsent(ctx context.Context, key string, r io.Reader) error
}

// Writer appends records. Several writers (goroutines, processes, hosts)
// may append to one trail at once: each takes the next sequence number
// with a conditional create, and a writer that loses the race moves on to
// the new head, so the chain stays one. Safe for concurrent use.
type Writer struct {
	st  Store
	key ed25519.PrivateKey
	now func() time.Time

	mu     sync.Mutex
	loaded bool
	next   uint64
	prev   [32]byte
}

// NewWriter returns a writer; key (may be nil) signs every record.
func NewWriter(st Store, key ed25519.PrivateKey) *Writer {
	return &Writer{st: st, key: key, now: time.Now}
}

// Append adds one record and returns its sequence number. It returns only
// once the record is durably stored.
func (w *Writer) Append(ctx context.Context, kind Kind, ev Event) (uint64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.loaded {
		if err := w.findHead(ctx); err != nil {
			return 0, err
		}
	}
	for attempt := 0; attempt < 1000; attempt++ {
		rec := Record{Seq: w.next, Time: w.now().UTC().Truncate(time.Microsecond), Prev: w.prev, Kind: kind, Event: ev}
		data, err := rec.Encode(w.key)
		if err != nil {
			return 0, err
		}
		err = w.st.PutIfAbsent(ctx, KeyOf(rec.Seq), bytes.NewReader(data))
		if err == nil {
			w.next, w.prev = rec.Seq+1, Hash(data)
			return rec.Seq, nil
		}
		if !errors.Is(err, lake.ErrExist) {
			return 0, fmt.Errorf("trail append: %w", err)
		}
		if err := w.advance(ctx); err != nil { // another writer took it
			return 0, err
		}
	}
	return 0, errors.New("trail append: too much contention")
}

// findHead sets next/prev from the last record in the store.
func (w *Writer) findHead(ctx context.Context) error {
	var last uint64
	found := false
	for info, err := range w.st.List(ctx, Prefix) {
		if err != nil {
			return err
		}
		if seq, ok := seqOf(info.Key); ok && (!found || seq > last) {
			last, found = seq, true
		}
	}
	w.loaded = true
	if !found {
		return nil
	}
	w.next = last
	return w.advance(ctx)
}

// advance moves past every record from w.next on that exists.
func (w *Writer) advance(ctx context.Context) error {
	for {
		data, err := readAll(ctx, w.st, KeyOf(w.next))
		if errors.Is(err, lake.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		w.prev = Hash(data)
		w.next++
	}
}

func readAll(ctx context.Context, st Store, key string) ([]byte, error) {
	obj, err := st.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	return io.ReadAll(obj)
}

// keys lists the record keys in sequence order, and the other objects
// found under Prefix (which do not belong there).
func keys(ctx context.Context, st Store) (recs []string, stray []string, err error) {
	for info, err := range st.List(ctx, Prefix) {
		if err != nil {
			return nil, nil, err
		}
		if _, ok := seqOf(info.Key); ok {
			recs = append(recs, info.Key)
		} else if !lake.Ignored(info.Key) {
			stray = append(stray, info.Key)
		}
	}
	slices.Sort(recs)
	return recs, stray, nil
}

// Record implements lake.Auditor: it appends the event as a record.
func (w *Writer) Record(ctx context.Context, e lake.AuditEvent) error {
	kind, ok := ParseKind(e.Kind)
	if !ok {
		return fmt.Errorf("trail: unknown event kind %q", e.Kind)
	}
	_, err := w.Append(ctx, kind, Event{Table: e.Table, Key: e.Key, Size: e.Size, SHA256: e.SHA256, Rows: e.Rows,
		Rejects: e.Rejects, SnapshotID: e.SnapshotID, Reason: e.Reason, Detail: e.Detail, Files: e.Files})
	return err
}

var _ lake.Auditor = (*Writer)(nil)
