// Command lambda measures `lagoon lambda` against a local Lambda Runtime
// API (internal/lambdaapi): the cold start (from exec until the function
// asks for its first invocation), the overhead of an invocation with no
// work (a batch of 10 messages whose files are gone already), and an
// invocation carrying one small NDJSON file from prepare/ to its table.
// It measures on an embedded local lake and, when moto_server is
// installed, on a bucket with Glue (moto on the loopback: the client's
// costs, not AWS's latency). The floor beside it is the process start of
// `lagoon --version`.
//
//	go run ./bench/lambda
//	go run ./bench/lambda -runs 20
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lagoon-dev/lagoon/bench/internal/kit"
	"github.com/lagoon-dev/lagoon/internal/lambdaapi"
)

const motoServer = "/root/.pyenv/versions/3.11.7/bin/moto_server"

func main() {
	runs := flag.Int("runs", 10, "runs of each measure (the median counts)")
	flag.Parse()
	bin, err := kit.BuildLagoon()
	kit.Check(err)
	fmt.Printf("machine: %d cores, %s/%s, %s; median of %d runs\n\n", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH,
		time.Now().Format(time.DateOnly), *runs)
	floor := median(*runs, func() time.Duration { d, _ := kit.Measure("", bin, "--version"); return d })
	fmt.Printf("process start (lagoon --version): %s\n\n", ms(floor))
	fmt.Printf("%-28s %12s %16s %18s\n", "lake", "cold start", "no-work batch", "one file, 2 stages")
	dir, err := os.MkdirTemp("", "lagoon-bench-lambda-")
	kit.Check(err)
	defer os.RemoveAll(dir)
	kit.Check(kit.Run(bin, "init", "--root", dir))
	measure(bin, *runs, "local (SQLite)", dir, "", os.Environ())
	if stop, ok := moto(); ok {
		defer stop()
		kit.Check(kit.Run(bin, "init", "--root", "s3://bench/lake", "--s3-path-style"))
		measure(bin, *runs, "S3 + Glue (moto, loopback)", "s3://bench/lake", "bench", append(os.Environ(), "LAGOON_S3_PATH_STYLE=true"))
	}
}

// measure prints one lake's row.
func measure(bin string, runs int, name, root, bucket string, env []string) {
	env = append(env, "LAGOON_ROOT="+root, "LAGOON_LOG_LEVEL=error")
	var (
		cold []time.Duration
		api  *lambdaapi.Server
		cmd  *exec.Cmd
	)
	for range runs {
		if cmd != nil {
			cmd.Process.Kill()
			cmd.Wait()
			api.Close()
		}
		var err error
		api, err = lambdaapi.Start()
		kit.Check(err)
		var d time.Duration
		d, cmd = coldStart(bin, append(env, "AWS_LAMBDA_RUNTIME_API="+api.Addr), api)
		cold = append(cold, d)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait(); api.Close() }()
	gone := batch(bucket, "prepare/bench/none/gone.ndjson", 10)
	idle := median(runs, func() time.Duration { return invoke(api, gone) })
	carry := median(runs, func() time.Duration {
		key := fmt.Sprintf("prepare/bench/events/e-%d.ndjson", time.Now().UnixNano())
		put(root, bucket, key, []byte("{\"id\":1,\"v\":\"a\"}\n{\"id\":2,\"v\":\"b\"}\n"))
		return invoke(api, batch(bucket, key, 1))
	})
	fmt.Printf("%-28s %12s %16s %18s\n", name, ms(medianOf(cold)), ms(idle), ms(carry))
}

// coldStart starts the function and times it until it asks for work.
func coldStart(bin string, env []string, api *lambdaapi.Server) (time.Duration, *exec.Cmd) {
	cmd := exec.Command(bin, "lambda")
	cmd.Env, cmd.Stderr = env, os.Stderr
	start := time.Now()
	kit.Check(cmd.Start())
	select {
	case <-api.Asked():
		return time.Since(start), cmd
	case <-time.After(30 * time.Second):
		kit.Check(fmt.Errorf("the function did not start in 30 s"))
		return 0, nil
	}
}

// invoke times one invocation until it is answered.
func invoke(api *lambdaapi.Server, ev []byte) time.Duration {
	start := time.Now()
	id := api.Invoke(ev, 60*time.Second)
	a, err := api.Wait(context.Background(), id)
	kit.Check(err)
	var resp lambdaevents.SQSEventResponse
	if a.Error || json.Unmarshal(a.Body, &resp) != nil || len(resp.BatchItemFailures) > 0 {
		kit.Check(fmt.Errorf("invocation not done: %s", a.Body))
	}
	return time.Since(start)
}

// batch is an SQS event of n messages naming key.
func batch(bucket, key string, n int) []byte {
	if bucket != "" {
		key = "lake/" + key
	}
	var ev lambdaevents.SQSEvent
	for i := range n {
		body := fmt.Sprintf(`{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":%q},"object":{"key":%q}}}]}`, bucket, key)
		ev.Records = append(ev.Records, lambdaevents.SQSMessage{MessageId: fmt.Sprint("m", i), Body: body, EventSource: "aws:sqs"})
	}
	b, err := json.Marshal(ev)
	kit.Check(err)
	return b
}

// put drops a file into the lake: a local one's folder, or the bucket.
func put(root, bucket, key string, body []byte) {
	if bucket == "" {
		path := filepath.Join(root, filepath.FromSlash(key))
		kit.Check(os.MkdirAll(filepath.Dir(path), 0o755))
		kit.Check(os.WriteFile(path, body, 0o644))
		return
	}
	cfg, err := awsconfig.LoadDefaultConfig(context.Background())
	kit.Check(err)
	c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	_, err = c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("lake/" + key), Body: bytes.NewReader(body)})
	kit.Check(err)
}

// moto starts moto_server on a free loopback port with a bucket "bench",
// and points this process's AWS SDK (and the functions it starts) at it.
func moto() (stop func(), ok bool) {
	if _, err := os.Stat(motoServer); err != nil {
		fmt.Println("(moto_server not installed: the S3 row is skipped)")
		return nil, false
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	kit.Check(err)
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(motoServer, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	kit.Check(cmd.Start())
	endpoint := fmt.Sprintf("http://127.0.0.1:%d", port)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(endpoint)
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			kit.Check(fmt.Errorf("moto did not come up"))
		}
	}
	for k, v := range map[string]string{"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"} {
		os.Setenv(k, v)
	}
	cfg, err := awsconfig.LoadDefaultConfig(context.Background())
	kit.Check(err)
	_, err = s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("bench")})
	kit.Check(err)
	return func() { cmd.Process.Kill(); cmd.Wait() }, true
}

func median(n int, f func() time.Duration) time.Duration {
	var ds []time.Duration
	for range n {
		ds = append(ds, f())
	}
	return medianOf(ds)
}

func medianOf(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[len(ds)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
