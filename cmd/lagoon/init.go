package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/lagoon-dev/lagoon/events"
	"github.com/lagoon-dev/lagoon/lake"
)

func initCmd() *command {
	var evs, queue, prefix string
	return &command{
		name:    "init",
		logs:    true,
		summary: "create a lake's folders and catalog (idempotent)",
		help: `Creates every prefix of the lake layout (prepare/, load/, stg/, prd/, tmp/,
trail/, stats/, log/, assets/, queries/) and the embedded SQLite catalog under
catalog/. Running it again on an initialised lake changes nothing.

A local lake folder that was copied (cp -r) or moved (mv) is relocated by
init, as by run: the locations its tables' metadata and its catalog hold are
rewritten to the folder it is in now, so that a copy reads and writes its own
files and never the original's. A copy takes a lake id of its own. Only a
lake on its embedded catalog can be relocated.

On S3, --events sqs --queue QUEUE also sets the bucket's notification
configuration: "object created" events under prepare/ and load/ go to the
queue (other notification settings of the bucket are kept).

--glue-prefix P lets several lakes share one catalog (one Glue account):
each namespace <db> of this lake is P<db> in the catalog (its side tables
are in Plagoon), while lagoon's own commands keep calling it <db>. P is
lowercase letters, digits and underscores. It is recorded in
assets/lagoon/lake.json when the lake is made and used by every later
command; a lake cannot change it. With one lake, leave it out and Athena's
names stay plain.`,
		flags: func(fs *flag.FlagSet, g *globals) {
			fs.StringVar(&evs, "events", "", "sqs: configure the bucket's notifications to --queue")
			fs.StringVar(&queue, "queue", "", "SQS queue URL or name (with --events sqs)")
			fs.StringVar(&prefix, "glue-prefix", "", "start every catalog namespace of this lake with this prefix (several lakes in one Glue account)")
		},
		run: func(ctx context.Context, g *globals, args []string) int {
			if !g.wantArgs("init", args, 0, "no arguments") {
				return exitUsage
			}
			if strings.Trim(prefix, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
				fmt.Fprintf(g.stderr, "lagoon init: --glue-prefix %q: lowercase letters, digits and underscores only\n", prefix)
				return exitUsage
			}
			cfg := g.lakeConfig()
			cfg.CatalogPrefix = prefix
			if err := g.initLake(ctx, cfg); err != nil {
				return g.fail("init", err)
			}
			if evs == "sqs" {
				if err := initNotifications(ctx, g, queue); err != nil {
					return g.fail("init", err)
				}
				fmt.Fprintf(g.stdout, "bucket notifications for prepare/ and load/ go to %s\n", queue)
			} else if evs != "" {
				fmt.Fprintf(g.stderr, "lagoon init: --events %q: only sqs is set up by init\n", evs)
				return exitUsage
			}
			fmt.Fprintf(g.stdout, "lake ready at %s\n", g.root)
			return exitOK
		},
	}
}

// initLake makes the lake's prefixes and catalog, relocating a lake that
// was copied or moved.
func (g *globals) initLake(ctx context.Context, cfg lake.Config) error {
	lk, err := g.openOwnLake(ctx, cfg)
	if err != nil {
		return err
	}
	defer lk.Close()
	if err := lk.RequireIdentity(); err != nil {
		return err
	}
	return lk.MakePrefixes()
}

func initNotifications(ctx context.Context, g *globals, queue string) error {
	if queue == "" {
		return fmt.Errorf("--events sqs needs --queue")
	}
	lk, err := g.openLake(ctx)
	if err != nil {
		return err
	}
	defer lk.Close()
	st, ok := lk.Store.(*lake.S3)
	if !ok {
		return fmt.Errorf("--events sqs needs an s3:// root")
	}
	return events.ConfigureS3ToSQS(ctx, st.Client(), sqs.NewFromConfig(*lk.AWS), st.Bucket(), st.Prefix(), queue)
}
