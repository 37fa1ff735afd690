package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/lagoon-dev/lagoon/daemon"
	"github.com/lagoon-dev/lagoon/lambdafn"
)

// runtimeAPIEnv names the Lambda Runtime API's address; Lambda sets it.
const runtimeAPIEnv = "AWS_LAMBDA_RUNTIME_API"

func lambdaCmd() *command {
	f := newRunFlags()
	f.ld.Settle = 0 // an object in a bucket is whole once it is there
	cfg := lambdafn.DefaultConfig()
	return &command{
		name:    "lambda",
		logs:    true,
		summary: "serve as an AWS Lambda function fed by SQS (the container image's function)",
		help: `Serves the lake as an AWS Lambda function, through the Lambda Runtime API
at $AWS_LAMBDA_RUNTIME_API (Lambda sets it; the command refuses to start
without it). The lake and catalog come from $LAGOON_ROOT and $LAGOON_CATALOG,
every other flag from $LAGOON_<FLAG> ($LAGOON_LINEAGE, $LAGOON_TRAIL_KEY, …).
At start-up it opens the lake and its catalog client, nothing more.

It takes three kinds of event:
  - an SQS batch of bucket notifications (S3's own, SNS-wrapped or
    EventBridge's): each file is carried through its table's stages in the
    same invocation (a file under prepare/ is converted, then loaded), and
    the answer names the messages whose files still wait
    (ReportBatchItemFailures), so that SQS delivers those alone again;
    a message that can never be worked (not a notification, a key outside
    prepare/<db>/<table>/ or load/<db>/<table>/) is recorded under
    log/dead-letters/ and not named, so that it never blocks its batch;
  - a scheduled EventBridge event: a sweep of all that waits, then the
    trail, statistics and log tables are synced and tables maintained;
  - a bucket notification invoking the function directly: an error while
    its files wait, so that Lambda retries it.

Work stops --reserve before the invocation's deadline; a commit cut there
is finished by the journal on the table's next load. Workers share the lake
through claims on each table, as lagoon run workers do.

Deploy it with deploy/aws/lagoon.yaml; see docs/aws.md.`,
		flags: func(fs *flag.FlagSet, g *globals) {
			fs.DurationVar(&cfg.Reserve, "reserve", cfg.Reserve, "time kept before an invocation's deadline for answering (work stops there)")
			f.pipelineFlags(fs)
		},
		run: func(ctx context.Context, g *globals, args []string) int {
			if !g.wantArgs("lambda", args, 0, "no arguments") {
				return exitUsage
			}
			if os.Getenv(runtimeAPIEnv) == "" {
				fmt.Fprintf(g.stderr, "lagoon lambda: $%s is not set: this command runs inside AWS Lambda (use lagoon run elsewhere)\n", runtimeAPIEnv)
				return exitUsage
			}
			return f.lambda(ctx, g, cfg)
		},
	}
}

// lambda opens the lake and serves invocations until the runtime ends the
// process (aws-lambda-go exits on its own when the Runtime API fails or
// ctx ends between invocations).
func (f *runFlags) lambda(ctx context.Context, g *globals, cfg lambdafn.Config) int {
	w, err := f.openWorker(ctx, g)
	if err != nil {
		if rerr := lambdafn.ReportInitError(ctx, os.Getenv(runtimeAPIEnv), err); rerr != nil {
			g.log.Error("cannot report the init error", "err", rerr)
		}
		return g.fail("lambda", err)
	}
	defer w.close()
	cfg.Bucket, cfg.Prefix = bucketOf(w.lk)
	d := daemon.New(w.stages, f.dm, g.log)
	sync := func(ctx context.Context) error { return daemon.SyncSide(ctx, w.side, f.sideC.Claims, g.log) }
	h := lambdafn.New(d, w.lk.Store, sync, cfg, g.log)
	g.log.Info("lagoon lambda ready", "root", g.root)
	lambda.StartWithOptions(h.Invoke, lambda.WithContext(ctx))
	return exitOK
}
