// Package logs keeps the lake's log table (lagoon.log, under log/): every
// warning and error of the pipeline, rejected files and rejects files
// among them. A slog handler tees warnings and errors into a Sink, which
// stores them durably under log/events/; a Syncer folds those objects
// into the Iceberg table in batches, off the hot path.
package logs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/lagoon-dev/lagoon/lake"
)

// InboxPrefix holds log entries not yet in the log table, as NDJSON
// objects named <time>-<worker>-<n>.ndjson.
const InboxPrefix = lake.PrefixLog + "events/"

// Entry is one row of the log table.
type Entry struct {
	Time    time.Time      `json:"time"`
	Level   string         `json:"level"`
	Stage   string         `json:"stage,omitempty"`
	DB      string         `json:"db,omitempty"`
	Table   string         `json:"table,omitempty"`
	Key     string         `json:"key,omitempty"`
	Message string         `json:"message"`
	Error   string         `json:"error,omitempty"`
	Detail  map[string]any `json:"detail,omitempty"`
	Worker  string         `json:"worker,omitempty"`
}

// Putter is what the sink needs of the lake.
type Putter interface {
	Put(ctx context.Context, key string, r io.Reader) error
}

// Sink stores log entries durably under InboxPrefix. Writers that arrive
// while a write is in flight share the next one (group commit), so a
// burst of warnings costs few objects. Safe for concurrent use.
type Sink struct {
	st     Putter
	worker string
	now    func() time.Time

	flushMu sync.Mutex // one write at a time
	mu      sync.Mutex
	pending []Entry
	taken   uint64 // batches taken from pending
	stored  uint64 // the last batch number stored
	n       uint64 // objects written
}

// NewSink returns a sink writing into st, naming objects after this
// process (host and pid).
func NewSink(st Putter) *Sink {
	host, _ := os.Hostname()
	return &Sink{st: st, worker: fmt.Sprintf("%s-%d", host, os.Getpid()), now: time.Now}
}

// Worker names this process in entries and object names.
func (s *Sink) Worker() string { return s.worker }

// Write stores e and returns once it is durable (or the write failed:
// the entry then stays pending, and the next Write or Flush retries it).
func (s *Sink) Write(ctx context.Context, e Entry) error {
	s.mu.Lock()
	e.Worker = s.worker
	s.pending = append(s.pending, e)
	mine := s.taken + 1 // the batch that will take e
	s.mu.Unlock()
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.mu.Lock()
	done := s.stored >= mine
	s.mu.Unlock()
	if done {
		return nil
	}
	return s.flushLocked(ctx)
}

// Flush stores whatever is pending.
func (s *Sink) Flush(ctx context.Context) error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	return s.flushLocked(ctx)
}

func (s *Sink) flushLocked(ctx context.Context) error {
	s.mu.Lock()
	batch := s.pending
	s.pending = nil
	s.taken++
	id := s.taken
	s.n++
	key := fmt.Sprintf("%s%s-%s-%06d.ndjson", InboxPrefix, s.now().UTC().Format("20060102T150405.000000000Z"), s.worker, s.n)
	s.mu.Unlock()
	if len(batch) == 0 {
		s.markStored(id)
		return nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, e := range batch {
		if err := enc.Encode(e); err != nil {
			return fmt.Errorf("log entry: %w", err)
		}
	}
	if err := s.st.Put(ctx, key, &buf); err != nil {
		s.mu.Lock()
		s.pending = append(batch, s.pending...)
		s.mu.Unlock()
		return fmt.Errorf("store log entries %s: %w", key, err)
	}
	s.markStored(id)
	return nil
}

// markStored records that every batch up to id is stored: batches are
// taken and stored in order under flushMu, and a failed one went back to
// pending, where the next batch takes it.
func (s *Sink) markStored(id uint64) {
	s.mu.Lock()
	s.stored = id
	s.mu.Unlock()
}
