package events

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/lagoon-dev/lagoon/lake"
)

// SQSConfig tunes the SQS event source.
type SQSConfig struct {
	// Queue is the queue's URL or name.
	Queue string
	// Bucket and Prefix locate the lake: notifications for other buckets,
	// or for keys outside Prefix's prepare/ and load/, are dropped.
	Bucket, Prefix string
	// Visibility is the visibility timeout set on received messages, and
	// renewed while their objects are still waiting.
	Visibility time.Duration
	// CheckEvery is how often in-flight messages are looked at.
	CheckEvery time.Duration
	// MaxReceives gives up on a message delivered more often than this: it
	// is recorded under log/dead-letters/ and deleted (the periodic sweep
	// still finds its objects).
	MaxReceives int
	// Rescan is the period of the sweep that catches what events missed.
	Rescan time.Duration
}

// DefaultSQSConfig: 2 min visibility, checked every 5 s, 10 receives, a
// sweep every 5 minutes.
func DefaultSQSConfig() SQSConfig {
	return SQSConfig{Visibility: 2 * time.Minute, CheckEvery: 5 * time.Second, MaxReceives: 10, Rescan: 5 * time.Minute}
}

// SQS reads S3 notifications from a queue. A message is deleted only once
// every object it names is gone from prepare/ and load/ (the stages remove
// a file only after it is durably in the next stage, or moved under log/),
// or at once when it names nothing lagoon handles.
type SQS struct {
	client *sqs.Client
	st     Store
	cfg    SQSConfig
	log    *slog.Logger
	url    string

	mu       sync.Mutex
	inflight map[string]*flight // by message id
}

type flight struct {
	receipt  string
	keys     []string
	renewed  time.Time
	receives int
}

// NewSQS returns the source; the queue URL is resolved when it runs.
func NewSQS(client *sqs.Client, st Store, cfg SQSConfig, log *slog.Logger) *SQS {
	return &SQS{client: client, st: st, cfg: cfg, log: log, inflight: map[string]*flight{}}
}

// Run receives until ctx ends. It owns two goroutines (receiving, and
// looking after in-flight messages) and waits for both before returning.
func (s *SQS) Run(ctx context.Context, out chan<- Event) error {
	url, err := QueueURL(ctx, s.client, s.cfg.Queue)
	if err != nil {
		return err
	}
	s.url = url
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var recvErr error
	wg.Go(func() {
		recvErr = s.receive(ctx, out)
		cancel()
	})
	wg.Go(func() { s.maintain(ctx, out) })
	wg.Wait()
	return recvErr
}

// QueueURL resolves a queue name to its URL (a URL passes through).
func QueueURL(ctx context.Context, c *sqs.Client, queue string) (string, error) {
	if strings.HasPrefix(queue, "http://") || strings.HasPrefix(queue, "https://") {
		return queue, nil
	}
	out, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(queue)})
	if err != nil {
		return "", fmt.Errorf("queue %s: %w", queue, err)
	}
	return aws.ToString(out.QueueUrl), nil
}

func (s *SQS) receive(ctx context.Context, out chan<- Event) error {
	retry, failures := lake.Backoff{Min: time.Second, Max: time.Minute}, 0
	for ctx.Err() == nil {
		resp, err := s.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(s.url), MaxNumberOfMessages: 10, WaitTimeSeconds: 20,
			VisibilityTimeout:           int32(s.cfg.Visibility / time.Second),
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount},
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			failures++
			wait := retry.Delay(failures)
			s.log.Warn("sqs receive failed; retrying", "err", err, "in", wait)
			lake.Sleep(ctx, wait)
			continue
		}
		failures = 0
		for _, m := range resp.Messages {
			if !s.take(ctx, m, out) {
				return nil
			}
		}
	}
	return nil
}

// take handles one message: its keys become events and it waits in flight,
// or it is deleted when it names nothing lagoon handles.
func (s *SQS) take(ctx context.Context, m sqstypes.Message, out chan<- Event) bool {
	refs, err := ParseNotification([]byte(aws.ToString(m.Body)))
	if err != nil {
		s.deadLetter(ctx, m, DeadLetter{Reason: err.Error()})
		return true
	}
	keys := LakeKeys(refs, s.cfg.Bucket, s.cfg.Prefix)
	if len(keys) == 0 {
		s.delete(ctx, aws.ToString(m.ReceiptHandle))
		return true
	}
	receives, _ := strconv.Atoi(m.Attributes[string(sqstypes.MessageSystemAttributeNameApproximateReceiveCount)])
	if receives > s.cfg.MaxReceives {
		s.deadLetter(ctx, m, DeadLetter{Receives: receives, Keys: keys,
			Reason: fmt.Sprintf("delivered %d times (more than %d); the sweep will find its objects", receives, s.cfg.MaxReceives)})
		return true
	}
	s.mu.Lock()
	s.inflight[aws.ToString(m.MessageId)] = &flight{receipt: aws.ToString(m.ReceiptHandle), keys: keys, renewed: time.Now(), receives: receives}
	s.mu.Unlock()
	for _, k := range keys {
		if !send(ctx, out, Event{Key: k}) {
			return false
		}
	}
	return true
}

// maintain looks after in-flight messages and sends the periodic sweep.
func (s *SQS) maintain(ctx context.Context, out chan<- Event) {
	check := time.NewTicker(s.cfg.CheckEvery)
	defer check.Stop()
	rescan := time.NewTicker(s.cfg.Rescan)
	defer rescan.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-rescan.C:
			if !send(ctx, out, Event{Rescan: true}) {
				return
			}
		case <-check.C:
			s.check(ctx)
		}
	}
}

// check deletes the messages whose objects are all handled, renews the
// visibility of the others, and gives up on those received too often.
func (s *SQS) check(ctx context.Context) {
	s.mu.Lock()
	ids := make([]string, 0, len(s.inflight))
	for id := range s.inflight {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	for _, id := range ids {
		s.mu.Lock()
		f := s.inflight[id]
		s.mu.Unlock()
		switch done, err := Handled(ctx, s.st, f.keys); {
		case err != nil:
			s.log.Warn("cannot check a message's objects", "err", err)
		case done:
			s.forget(ctx, id, f)
		case time.Since(f.renewed) > s.cfg.Visibility/2:
			s.renew(ctx, f)
		}
	}
}

// deadLetter records a message that will not be worked under
// log/dead-letters/ and deletes it: it never loops hot. A message that
// cannot be recorded is kept.
func (s *SQS) deadLetter(ctx context.Context, m sqstypes.Message, d DeadLetter) {
	d.MessageID, d.Body = aws.ToString(m.MessageId), aws.ToString(m.Body)
	key, err := RecordDeadLetter(ctx, s.st, d)
	if err != nil {
		s.log.Error("cannot record a dead letter; keeping the message", "message_id", d.MessageID, "err", err)
		return
	}
	s.log.Error("message given up on: recorded and dropped", "stage", "events", "message_id", d.MessageID,
		"reason", d.Reason, "keys", d.Keys, "key", key)
	s.delete(ctx, aws.ToString(m.ReceiptHandle))
}

func (s *SQS) forget(ctx context.Context, id string, f *flight) {
	if s.delete(ctx, f.receipt) {
		s.mu.Lock()
		delete(s.inflight, id)
		s.mu.Unlock()
	}
}

func (s *SQS) renew(ctx context.Context, f *flight) {
	_, err := s.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(s.url),
		ReceiptHandle: aws.String(f.receipt), VisibilityTimeout: int32(s.cfg.Visibility / time.Second)})
	if err != nil {
		s.log.Warn("cannot extend a message's visibility", "err", err)
		return
	}
	f.renewed = time.Now()
}

func (s *SQS) delete(ctx context.Context, receipt string) bool {
	_, err := s.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(s.url), ReceiptHandle: aws.String(receipt)})
	if err != nil {
		s.log.Warn("cannot delete a message", "err", err)
		return false
	}
	return true
}
