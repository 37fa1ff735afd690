package lambdafn

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// ReportInitError tells the Lambda Runtime API at addr
// ($AWS_LAMBDA_RUNTIME_API) that the function could not start, and why,
// so that Lambda shows the reason (Runtime.InitError) rather than a bare
// exit. aws-lambda-go has no call for it: it only starts once a handler
// exists.
func ReportInitError(ctx context.Context, addr string, cause error) error {
	body, err := json.Marshal(map[string]string{"errorMessage": cause.Error(), "errorType": "lagoon.InitError"})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/2018-06-01/runtime/init/error", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Lambda-Runtime-Function-Error-Type", "lagoon.InitError")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("runtime api: init error: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("runtime api: init error: status %d", resp.StatusCode)
	}
	return nil
}
