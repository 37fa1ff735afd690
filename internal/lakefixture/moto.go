package lakefixture

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// MotoServer is where moto_server is installed on lagoon's machines.
const MotoServer = "/root/.pyenv/versions/3.11.7/bin/moto_server"

// Moto starts moto_server (S3, SQS, Glue) on a free loopback port, points
// the AWS SDK at it through the standard environment variables (test
// credentials, us-east-1, AWS_ENDPOINT_URL) for the rest of the test, and
// stops it at cleanup. It skips the test, saying why, when moto_server is
// missing.
func Moto(tb testing.TB) string {
	tb.Helper()
	bin := MotoServer
	if _, err := os.Stat(bin); err != nil {
		p, err := exec.LookPath("moto_server")
		if err != nil {
			tb.Skip("moto_server is not installed (expected at " + MotoServer + ")")
		}
		bin = p
	}
	port := freePort(tb)
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	endpoint := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitHTTP(tb, endpoint)
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
	} {
		tb.Setenv(k, v)
	}
	return endpoint
}

func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitHTTP(tb testing.TB, url string) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.Fatalf("%s did not come up", url)
}

// S3Client is an S3 client on the environment's endpoint (path style).
func S3Client(tb testing.TB) *s3.Client {
	tb.Helper()
	cfg, err := awsconfig.LoadDefaultConfig(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
}

// Bucket creates a bucket.
func Bucket(tb testing.TB, c *s3.Client, name string) {
	tb.Helper()
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		tb.Fatal(err)
	}
}

// Putter returns a function that puts an object into bucket (failing tb on
// error).
func Putter(tb testing.TB, c *s3.Client, bucket string) func(key string, body []byte) {
	return func(key string, body []byte) {
		tb.Helper()
		if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
			tb.Fatalf("put %s/%s: %v", bucket, key, err)
		}
	}
}
