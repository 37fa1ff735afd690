package main

import (
	"context"
	"fmt"

	"github.com/lagoon-dev/lagoon/lake"
)

func initCmd() *command {
	return &command{
		name:    "init",
		summary: "create a lake's folders and catalog (idempotent)",
		help: `Creates every prefix of the lake layout (prepare/, load/, stg/, prd/, tmp/,
trail/, stats/, log/, assets/, queries/) and the embedded SQLite catalog under
catalog/. Running it again on an initialised lake changes nothing.`,
		run: func(ctx context.Context, g *globals, args []string) int {
			if !g.wantArgs("init", args, 0, "no arguments") {
				return exitUsage
			}
			if err := lake.Init(ctx, g.lakeConfig()); err != nil {
				return g.fail("init", err)
			}
			fmt.Fprintf(g.stdout, "lake ready at %s\n", g.root)
			return exitOK
		},
	}
}
