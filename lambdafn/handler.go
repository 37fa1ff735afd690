// Package lambdafn serves lagoon as an AWS Lambda function (through
// aws-lambda-go's runtime): it takes SQS event batches carrying S3
// notifications (plain, SNS-wrapped or EventBridge), carries the files
// they name through every stage of their tables, and answers with partial
// batch failures (ReportBatchItemFailures). A scheduled event sweeps the
// whole lake and syncs the side tables.
package lambdafn

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/lagoon-dev/lagoon/daemon"
	"github.com/lagoon-dev/lagoon/events"
	"github.com/lagoon-dev/lagoon/lake"
)

// Pipeline is the work the handler drives: the tables a batch names, or
// a sweep of everything waiting (daemon.Daemon).
type Pipeline interface {
	Tables(ctx context.Context, from map[lake.TableRef]string) (daemon.Summary, error)
	Once(ctx context.Context) (daemon.Summary, error)
}

// Config tunes the handler.
type Config struct {
	// Bucket and Prefix locate the lake ("" and "" for a local one):
	// notifications elsewhere are not its work.
	Bucket, Prefix string
	// Reserve is the time kept before an invocation's deadline: work is
	// cut there (a cut commit is finished by the journal later) and the
	// rest is left for answering. An invocation shorter than three
	// reserves keeps a third of its time.
	Reserve time.Duration
	// Retry spaces the passes over tables another worker holds.
	Retry lake.Backoff
}

// DefaultConfig keeps 3 s before the deadline and retries held tables
// after 250 ms to 5 s.
func DefaultConfig() Config {
	return Config{Reserve: 3 * time.Second, Retry: lake.Backoff{Min: 250 * time.Millisecond, Max: 5 * time.Second}}
}

// Handler answers invocations.
type Handler struct {
	cfg  Config
	pipe Pipeline
	st   events.Store
	sync func(context.Context) error
	log  *slog.Logger
}

// New returns a handler driving pipe over the lake's store st; sync (nil:
// none) brings the side tables up to date after a sweep.
func New(pipe Pipeline, st events.Store, sync func(context.Context) error, cfg Config, log *slog.Logger) *Handler {
	return &Handler{cfg: cfg, pipe: pipe, st: st, sync: sync, log: log}
}

// ErrUnknownEvent: the invocation carried neither an SQS batch, a
// schedule nor an S3 notification.
var ErrUnknownEvent = errors.New("not an event lagoon takes")

// Invoke handles one invocation: an SQS batch (answered with the messages
// to deliver again), a scheduled sweep, or an S3 notification invoking the
// function directly (an error while its files wait, so that it is retried).
func (h *Handler) Invoke(ctx context.Context, event json.RawMessage) (any, error) {
	if isScheduled(event) {
		return h.sweep(ctx)
	}
	msgs, err := Triage(event, h.cfg.Bucket, h.cfg.Prefix)
	if err == nil {
		return h.batch(ctx, msgs), nil
	}
	return h.direct(ctx, event)
}

// direct works a notification that invoked the function itself: an
// error while its files wait, so that Lambda retries it; keys outside the
// layout are recorded as a dead letter, the others worked.
func (h *Handler) direct(ctx context.Context, event []byte) (any, error) {
	m := triage(event, h.cfg.Bucket, h.cfg.Prefix)
	if m.Dead != nil && len(m.Keys) == 0 {
		return nil, fmt.Errorf("%w: %v", ErrUnknownEvent, m.Dead)
	}
	if m.Dead != nil { // some of its keys are outside the layout: recorded, the others worked
		sum := sha256.Sum256(event)
		m.ID, m.Body = "direct-"+hex.EncodeToString(sum[:8]), string(event)
		if !h.bury(ctx, m) {
			return nil, fmt.Errorf("cannot record a dead letter: %w", m.Dead)
		}
	}
	if left := h.work(ctx, []Message{m}); len(left) > 0 {
		return nil, fmt.Errorf("files not loaded yet: %v", left[0].Keys)
	}
	return map[string]bool{"done": true}, nil
}

// batch works an SQS batch and names the messages SQS must deliver
// again: those whose files are still waiting. Dead letters are recorded
// and not named (one that cannot be recorded is named, to keep it).
func (h *Handler) batch(ctx context.Context, msgs []Message) lambdaevents.SQSEventResponse {
	named := map[string]bool{}
	for _, m := range msgs {
		if m.Dead != nil && !h.bury(ctx, m) {
			named[m.ID] = true
		}
	}
	for _, m := range h.work(ctx, msgs) {
		named[m.ID] = true
	}
	var fail []lambdaevents.SQSBatchItemFailure
	for _, m := range msgs { // in the batch's order, each once
		if named[m.ID] {
			fail = append(fail, lambdaevents.SQSBatchItemFailure{ItemIdentifier: m.ID})
			delete(named, m.ID)
		}
	}
	return lambdaevents.SQSEventResponse{BatchItemFailures: fail}
}

// bury records a dead letter and says whether it is recorded.
func (h *Handler) bury(ctx context.Context, m Message) bool {
	key, err := events.RecordDeadLetter(ctx, h.st, events.DeadLetter{MessageID: m.ID, Receives: m.Receives,
		Keys: m.Keys, Reason: m.Dead.Error(), Body: m.Body})
	if err != nil {
		h.log.Error("cannot record a dead letter; the message will come again", "message_id", m.ID, "err", err)
		return false
	}
	h.log.Error("message cannot be worked: recorded", "stage", "events", "message_id", m.ID, "reason", m.Dead.Error(), "key", key)
	return true
}

// isScheduled says whether event is an EventBridge schedule's.
func isScheduled(event []byte) bool {
	var ev struct {
		Source     string `json:"source"`
		DetailType string `json:"detail-type"`
	}
	return json.Unmarshal(event, &ev) == nil && ev.Source == "aws.events" && ev.DetailType == "Scheduled Event"
}

// sweep works whatever waits in the lake, then syncs the side tables, in
// the invocation's time: three quarters for the sweep.
func (h *Handler) sweep(ctx context.Context) (daemon.Summary, error) {
	stop := h.stopAt(ctx)
	sctx, cancel := context.WithDeadline(ctx, stop.Add(-time.Until(stop)/4))
	sum, err := h.pipe.Once(sctx)
	cancel()
	if errors.Is(err, context.DeadlineExceeded) {
		err = nil // cut by the clock: the next sweep goes on
	}
	if h.sync != nil && err == nil {
		sctx, cancel := context.WithDeadline(ctx, stop)
		defer cancel()
		err = h.sync(sctx)
	}
	return sum, err
}

// stopAt is when work stops: Reserve before the deadline (a third of the
// time left, when shorter).
func (h *Handler) stopAt(ctx context.Context) time.Time {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(15 * time.Minute) // Lambda's longest
	}
	return deadline.Add(-min(h.cfg.Reserve, time.Until(deadline)/3))
}
