package trail_test

import (
	"context"
	"testing"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/trail"
)

func storeFor(tb testing.TB, name string) trail.Store {
	tb.Helper()
	if name == "local" {
		return newStore(tb)
	}
	lakefixture.Moto(tb)
	lakefixture.Bucket(tb, lakefixture.S3Client(tb), "trail-test")
	cfg, err := awsconfig.LoadDefaultConfig(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	st, err := lake.NewS3(cfg, "s3://trail-test/lake", true)
	if err != nil {
		tb.Fatal(err)
	}
	return st
}
