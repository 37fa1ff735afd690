// Package lambdafn serves lagoon as an AWS Lambda function: it speaks the
// Lambda Runtime API, takes SQS event batches carrying S3 notifications
// (plain, SNS-wrapped or EventBridge), works the tables they name, and
// answers with partial batch failures (ReportBatchItemFailures).
//
// WORK IN PROGRESS (issue 17): the runtime loop and the batch's triage are
// here; working the tables (prepare then load, under claims, before the
// deadline) and dead letters are not done yet.
package lambdafn

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// apiVersion is the Runtime API's path prefix.
const apiVersion = "/2018-06-01/runtime"

// Invocation is one event the runtime handed over.
type Invocation struct {
	RequestID string
	Deadline  time.Time
	Event     []byte
}

// Runtime is a client of the Lambda Runtime API at Addr (host:port, from
// $AWS_LAMBDA_RUNTIME_API).
type Runtime struct {
	Addr   string
	Client *http.Client
}

// Next waits for the next invocation.
func (r Runtime) Next(ctx context.Context) (Invocation, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+r.Addr+apiVersion+"/invocation/next", nil)
	if err != nil {
		return Invocation{}, err
	}
	resp, err := r.client().Do(req)
	if err != nil {
		return Invocation{}, fmt.Errorf("runtime api: next: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 6<<20+1)) // Lambda's payload limit
	if err != nil || resp.StatusCode != http.StatusOK {
		return Invocation{}, fmt.Errorf("runtime api: next: status %d: %v", resp.StatusCode, err)
	}
	inv := Invocation{RequestID: resp.Header.Get("Lambda-Runtime-Aws-Request-Id"), Event: body}
	if ms, err := strconv.ParseInt(resp.Header.Get("Lambda-Runtime-Deadline-Ms"), 10, 64); err == nil {
		inv.Deadline = time.UnixMilli(ms)
	}
	if inv.RequestID == "" {
		return Invocation{}, errors.New("runtime api: next: no request id")
	}
	return inv, nil
}

// Respond answers invocation id with v (JSON).
func (r Runtime) Respond(ctx context.Context, id string, v any) error {
	return r.post(ctx, apiVersion+"/invocation/"+id+"/response", v)
}

// Fail reports that invocation id failed as a whole.
func (r Runtime) Fail(ctx context.Context, id string, err error) error {
	return r.post(ctx, apiVersion+"/invocation/"+id+"/error", errorBody(err))
}

// InitError reports that the function could not start.
func (r Runtime) InitError(ctx context.Context, err error) error {
	return r.post(ctx, apiVersion+"/init/error", errorBody(err))
}

func errorBody(err error) any {
	return map[string]string{"errorMessage": err.Error(), "errorType": "lagoon.Error"}
}

func (r Runtime) post(ctx context.Context, path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+r.Addr+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	resp, err := r.client().Do(req)
	if err != nil {
		return fmt.Errorf("runtime api: %s: %w", path, err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("runtime api: %s: status %d", path, resp.StatusCode)
	}
	return nil
}

func (r Runtime) client() *http.Client {
	if r.Client != nil {
		return r.Client
	}
	return http.DefaultClient
}
