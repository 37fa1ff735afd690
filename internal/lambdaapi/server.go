// Package lambdaapi is a local AWS Lambda Runtime API
// (/2018-06-01/runtime/…) for tests and benchmarks: it hands the
// invocations queued with Invoke to whichever runtime process asks for the
// next one, and collects their answers, as Lambda does for one function.
package lambdaapi

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const prefix = "/2018-06-01/runtime/"

// Answer is what a runtime posted for one invocation.
type Answer struct {
	ID    string
	Body  []byte
	Error bool // posted to …/error (the invocation failed as a whole)
	At    time.Time
}

type invocation struct {
	id       string
	event    []byte
	deadline time.Time
}

// Server is a running Runtime API; Addr is what $AWS_LAMBDA_RUNTIME_API
// takes.
type Server struct {
	Addr string

	srv     *http.Server
	queue   chan invocation
	seq     atomic.Int64
	asked   chan struct{} // closed at the first …/next
	askOnce sync.Once
	mu      sync.Mutex
	answers map[string]chan Answer
	initErr []string
}

// Start listens on a free port of 127.0.0.1 and serves until Close.
func Start() (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{Addr: ln.Addr().String(), queue: make(chan invocation, 1024), asked: make(chan struct{}),
		answers: map[string]chan Answer{}}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln) // ends at Close
	return s, nil
}

// Close stops the server; runtimes waiting for an invocation get an error.
func (s *Server) Close() error { return s.srv.Close() }

// Invoke queues an event that must be answered within timeout and returns
// its request id.
func (s *Server) Invoke(event []byte, timeout time.Duration) string {
	id := fmt.Sprintf("req-%d", s.seq.Add(1))
	s.mu.Lock()
	s.answers[id] = make(chan Answer, 1)
	s.mu.Unlock()
	s.queue <- invocation{id: id, event: event, deadline: time.Now().Add(timeout)}
	return id
}

// Wait returns the answer to invocation id, or ctx's error.
func (s *Server) Wait(ctx context.Context, id string) (Answer, error) {
	s.mu.Lock()
	ch := s.answers[id]
	s.mu.Unlock()
	if ch == nil {
		return Answer{}, fmt.Errorf("no invocation %s", id)
	}
	select {
	case a := <-ch:
		return a, nil
	case <-ctx.Done():
		return Answer{}, fmt.Errorf("invocation %s: %w", id, ctx.Err())
	}
}

// Asked is closed when a runtime first asks for an invocation: its
// initialisation is over (a cold start ends there).
func (s *Server) Asked() <-chan struct{} { return s.asked }

// InitErrors returns what runtimes posted to …/init/error.
func (s *Server) InitErrors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.initErr...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	p, ok := strings.CutPrefix(r.URL.Path, prefix)
	switch {
	case !ok:
		http.NotFound(w, r)
	case r.Method == http.MethodGet && p == "invocation/next":
		s.next(w, r)
	case r.Method == http.MethodPost && p == "init/error":
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.initErr = append(s.initErr, string(b))
		s.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	case r.Method == http.MethodPost && strings.HasPrefix(p, "invocation/"):
		s.answer(w, r, strings.TrimPrefix(p, "invocation/"))
	default:
		http.NotFound(w, r)
	}
}

// next hands out the next invocation, waiting for one.
func (s *Server) next(w http.ResponseWriter, r *http.Request) {
	s.askOnce.Do(func() { close(s.asked) })
	var inv invocation
	select {
	case inv = <-s.queue:
	case <-r.Context().Done():
		return
	}
	h := w.Header()
	h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:lagoon")
	h.Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
	h.Set("Content-Type", "application/json")
	w.Write(inv.event)
}

// answer takes …/<id>/response or …/<id>/error.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, rest string) {
	id, kind, _ := strings.Cut(rest, "/")
	b, err := io.ReadAll(r.Body)
	s.mu.Lock()
	ch := s.answers[id]
	s.mu.Unlock()
	if err != nil || ch == nil || kind != "response" && kind != "error" {
		http.Error(w, "unknown invocation", http.StatusBadRequest)
		return
	}
	select {
	case ch <- Answer{ID: id, Body: b, Error: kind == "error", At: time.Now()}:
		w.WriteHeader(http.StatusAccepted)
	default:
		http.Error(w, "answered already", http.StatusBadRequest)
	}
}
