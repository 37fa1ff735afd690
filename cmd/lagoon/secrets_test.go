package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
)

// TestSecretsStayOutOfLogs: with debug logging, on success and on
// failure, neither the AWS secret key nor a catalog password appears in
// what lagoon prints.
func TestSecretsStayOutOfLogs(t *testing.T) {
	lakefixture.Moto(t)
	const secret = "Zq9-very-secret-key-do-not-print"
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret) // moto accepts any key
	ctx := context.Background()
	c := lakefixture.S3Client(t)
	lakefixture.Bucket(t, c, "secrets")
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("secrets"), Key: aws.String("lake/load/db/t/x.parquet"),
		Body: bytes.NewReader(lakefixture.ParquetBytes(t, lakefixture.Ints(0, 3)))}); err != nil {
		t.Fatal(err)
	}
	root := "s3://secrets/lake"
	var printed strings.Builder
	code, out, errOut := lagoon(t, "run", "--root", root, "--s3-path-style", "--once", "--settle", "0", "--log-level", "debug")
	if code != exitOK {
		t.Fatalf("run: %d %s %s", code, out, errOut)
	}
	printed.WriteString(out + errOut)
	t.Setenv("AWS_ENDPOINT_URL_GLUE", "http://127.0.0.1:1") // the catalog cannot be reached
	code, out, errOut = lagoon(t, "tables", "--root", root, "--s3-path-style")
	if code != exitError {
		t.Errorf("tables with an unreachable catalog: exit %d", code)
	}
	printed.WriteString(out + errOut)
	for _, cat := range []string{"postgres://lagoon:pg-" + secret + "@127.0.0.1:1/x", "mysql://lagoon:" + secret + "@db/x"} {
		_, out, errOut = lagoon(t, "tables", "--root", root, "--catalog", cat)
		printed.WriteString(out + errOut)
	}
	if strings.Contains(printed.String(), secret) {
		t.Errorf("a secret was printed:\n%s", printed.String())
	}
	if !strings.Contains(printed.String(), "lagoon tables:") {
		t.Errorf("the failures said nothing:\n%s", printed.String())
	}
}
